from errors import DuplicateUserError
from models import User


def register_user(store, name, email, age):
    """Create a User, save it in store and return it."""
    if email in store:
        raise DuplicateUserError(email)
    user = User(name=name, email=email, age=age)
    store.add(user)
    return user
