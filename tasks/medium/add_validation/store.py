class UserStore:
    """In-memory user storage keyed by email address."""

    def __init__(self):
        self._users = {}

    def add(self, user):
        self._users[user.email] = user

    def get(self, email):
        return self._users.get(email)

    def __contains__(self, email):
        return email in self._users

    def __len__(self):
        return len(self._users)
