"""The one shape of a refused request: an HTTP status and a message the client is shown."""


class Refusal(ValueError):
    """Refused input; `status` is the HTTP status, `message` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
