from errors import DuplicateUserError, ValidationError
from models import User


def _clean_name(name):
    if not isinstance(name, str):
        raise ValidationError("name", "must be a string")
    name = name.strip()
    if not 1 <= len(name) <= 50:
        raise ValidationError("name", "must be 1 to 50 characters long")
    return name


def _clean_email(email):
    if not isinstance(email, str):
        raise ValidationError("email", "must be a string")
    email = email.strip().lower()
    if email.count("@") != 1 or any(c.isspace() for c in email):
        raise ValidationError("email", "must contain exactly one @ and no spaces")
    local, domain = email.split("@")
    if not local or "." not in domain[1:-1]:
        raise ValidationError("email", "is not a valid address")
    return email


def _check_age(age):
    if isinstance(age, bool) or not isinstance(age, int):
        raise ValidationError("age", "must be a whole number")
    if not 13 <= age <= 120:
        raise ValidationError("age", "must be between 13 and 120")


def register_user(store, name, email, age):
    """Validate the fields, create a User, save it in store and return it."""
    name = _clean_name(name)
    email = _clean_email(email)
    _check_age(age)
    if email in store:
        raise DuplicateUserError(email)
    user = User(name=name, email=email, age=age)
    store.add(user)
    return user
