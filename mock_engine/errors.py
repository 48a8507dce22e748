"""The one error type of the offline preview (offline_preview.cli and the modules it is built from)."""


class PreviewError(Exception):
    """The program, its project file or its stack config cannot be previewed; the message says why."""
