"""Errors the CLI turns into one-line messages (exit 2) instead of tracebacks."""


class UsageError(Exception):
    """Unusable arguments, configuration or input. The message names the file or argument
    and never carries data values (they may be PHI)."""

    one_line = True  # logged as its message alone: the traceback says nothing more


class UnreadableInputError(UsageError):
    """A file that cannot be read at all (encoding, truncated JSON, binary, empty)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
