"""The one error type for input that cannot be read, with a one-line Chinese reason."""


class InputError(Exception):
    """Input that cannot be read at all (not merely wrong): the CLI exits 2 with the message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
