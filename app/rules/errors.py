"""Domain errors: raised by the rules, turned into messages by the routes."""


class DomainError(Exception):
    """A rule said no. The message is written for the person who asked."""

    status_code = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AlreadyClaimed(DomainError):
    def __init__(self, *, by_name: str):
        super().__init__(f"{by_name} has already claimed this task.")
        self.by_name = by_name


class InvalidTransition(DomainError):
    pass


class NotAllowed(DomainError):
    status_code = 403


class OwnRequestApproval(NotAllowed):
    """PRODUCT.md rule 7: the requester approving or rejecting their own request."""

    def __init__(self, message: str = "This is your own request: someone else on the "
                 "team must approve or reject it.") -> None:
        super().__init__(message)


class TooManyComments(DomainError):
    """One person posting comments faster than anyone writes them; `retry_after`: the
    seconds until one more is accepted."""

    status_code = 429

    def __init__(self, *, limit: int, retry_after: int):
        super().__init__(f"You have posted {limit} comments in the last minute: wait "
                         f"{retry_after} s and post this one again.")
        self.retry_after = retry_after


class InvalidNote(DomainError):
    """A reason, note or comment that is missing where required, or too long."""

    status_code = 422


class FormInvalid(DomainError):
    """An admin form's input that does not fit (a person, a team); `errors` maps each form
    field to its message."""

    status_code = 422

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


class IntakeInvalid(DomainError):
    """The answers do not fit the form; `errors` maps each field key to its message."""

    status_code = 422

    def __init__(self, errors: dict[str, str]):
        super().__init__("Some answers need attention.")
        self.errors = errors


class ServiceChanged(DomainError):
    """The service has a new current version since its form was shown (or validated):
    the answers must be checked against the new form, so nothing was filed."""

    def __init__(self) -> None:
        super().__init__("This service changed while you were filling it in: "
                         "check the form and submit again.")
