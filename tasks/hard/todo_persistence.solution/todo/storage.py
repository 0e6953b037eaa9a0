import json
import os
import tempfile

from todo.models import Task


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


class JsonFileStorage:
    """Keeps tasks in a JSON file: a list of {"id", "title", "done"} objects."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def load(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as err:
            raise StorageError(f"cannot read {self.path}: {err}") from None
        if not isinstance(data, list):
            raise StorageError(f"cannot read {self.path}: expected a list of tasks")
        try:
            return [Task.from_dict(item) for item in data]
        except (KeyError, TypeError, ValueError) as err:
            raise StorageError(f"cannot read {self.path}: bad task {err}") from None

    def save(self, tasks):
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".todo-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump([task.to_dict() for task in tasks], f, ensure_ascii=False, indent=2)
            os.replace(tmp_path, self.path)
        except BaseException:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
            raise
