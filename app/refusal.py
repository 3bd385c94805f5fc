"""A request the server turns down for now, not for what it asked: too many at once, too
often, or overtaken by another change. Answered with its own status, and `Retry-After`
when waiting helps; its message starts with the field or the action, like every refusal.
"""


class Refused(Exception):
    def __init__(self, field: str, message: str, status: int, retry_after: int | None = None):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
