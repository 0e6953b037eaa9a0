import sys

from service import register_user
from store import UserStore


def main(argv):
    if len(argv) != 3:
        print("usage: cli.py NAME EMAIL AGE", file=sys.stderr)
        return 2
    name, email, age = argv
    user = register_user(UserStore(), name, email, int(age))
    print(f"registered {user.email}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
