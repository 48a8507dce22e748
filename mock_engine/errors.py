"""The one error type of mock_engine: a program that cannot run under mocks (offline_preview.errors re-exports it)."""


class PreviewError(Exception):
    """The program, its project file or its stack config cannot be previewed; the message says why."""
