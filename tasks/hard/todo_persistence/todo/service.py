from todo.models import Task


class TodoService:
    def __init__(self, storage):
        self.storage = storage

    def add(self, title):
        title = title.strip()
        if not title:
            raise ValueError("title must not be empty")
        tasks = self.storage.load()
        task = Task(id=len(tasks) + 1, title=title)
        tasks.append(task)
        self.storage.save(tasks)
        return task

    def list(self, pending_only=False):
        return self.storage.load()

    def complete(self, task_id):
        tasks = self.storage.load()
        for task in tasks:
            if task.id == task_id:
                task.done = True
                self.storage.save(tasks)
                return task
        raise KeyError(task_id)
