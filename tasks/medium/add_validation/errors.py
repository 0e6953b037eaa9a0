class UserError(Exception):
    """Base class for errors raised by the user service."""


class DuplicateUserError(UserError):
    """A user with this email address is already registered."""
