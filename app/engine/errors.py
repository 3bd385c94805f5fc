"""The one error the engine raises for input it cannot accept."""


class InvalidInput(ValueError):
    """A value the engine refuses, with the state field it came from (e.g. "weights[1][0]")."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
