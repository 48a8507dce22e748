"""The errors of the offline preview, in one place: the ones its command line turns into exit code 2.

`PreviewError` is raised by mock_engine too (the program failed under mocks), so it lives there, in the package that
also runs inside a program's own virtualenv; this module is where the preview's callers import it from.
"""

from mock_engine.errors import PreviewError


class PolicyPackError(Exception):
    """The pack could not be started, configured or run; the message includes the pack's stderr."""


__all__ = ["PolicyPackError", "PreviewError"]
