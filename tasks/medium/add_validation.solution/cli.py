import sys

from errors import ValidationError
from service import register_user
from store import UserStore


def main(argv):
    if len(argv) != 3:
        print("usage: cli.py NAME EMAIL AGE", file=sys.stderr)
        return 2
    name, email, age = argv
    try:
        try:
            age = int(age)
        except ValueError:
            raise ValidationError("age", "must be a whole number") from None
        user = register_user(UserStore(), name, email, age)
    except ValidationError as err:
        print(f"error: {err.field}: {err.message}", file=sys.stderr)
        return 1
    print(f"registered {user.email}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
