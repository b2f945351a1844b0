"""The one base of every refusal a use case gives: each app declares its own codes; the API knows only this."""


class DomainError(Exception):
    """A request the rules refuse.

    `code` is the contract's stable machine code, `message` human text in the caller's language, `field` the input
    at fault (if any), `http_status` how the API answers it, and `extra` members the problem details carry
    (`attempts_left`, `retry_after`, `current_status`...).
    """

    http_status = 400

    def __init__(self, code: str, message: str, *, field: str | None = None, http_status: int | None = None,
                 **extra):
        super().__init__(message)
        self.code, self.message, self.field, self.extra = str(code), str(message), field, extra
        if http_status is not None:
            self.http_status = http_status


class CodedError(DomainError):
    """An app's errors: `codes` is its enum of the contract's codes, `statuses` their HTTP statuses. Each app
    declares one subclass next to its services (ApplicationError, ExamError, ReviewError)."""

    codes: type = str
    statuses: dict = {}

    def __init__(self, code, message: str, *, field: str | None = None, **extra):
        code = self.codes(code)
        super().__init__(code, message, field=field, http_status=self.statuses[code], **extra)
