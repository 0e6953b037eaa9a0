class StorageError(Exception):
    """The stored tasks cannot be read or written."""


class MemoryStorage:
    """Keeps tasks in memory; everything is lost when the process exits."""

    def __init__(self):
        self._tasks = []

    def load(self):
        """Return a list of Task objects."""
        return list(self._tasks)

    def save(self, tasks):
        """Replace the stored tasks with the list `tasks`."""
        self._tasks = list(tasks)
