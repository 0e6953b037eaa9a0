class UserError(Exception):
    """Base class for errors raised by the user service."""


class DuplicateUserError(UserError):
    """A user with this email address is already registered."""


class ValidationError(UserError):
    """A field of a new user is invalid."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
