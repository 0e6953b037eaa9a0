from todo.models import Task


class TodoService:
    def __init__(self, storage):
        self.storage = storage

    def add(self, title):
        title = title.strip()
        if not title:
            raise ValueError("title must not be empty")
        tasks = self.storage.load()
        task = Task(id=max((t.id for t in tasks), default=0) + 1, title=title)
        tasks.append(task)
        self.storage.save(tasks)
        return task

    def list(self, pending_only=False):
        tasks = sorted(self.storage.load(), key=lambda t: t.id)
        if pending_only:
            tasks = [t for t in tasks if not t.done]
        return tasks

    def complete(self, task_id):
        tasks = self.storage.load()
        for task in tasks:
            if task.id == task_id:
                task.done = True
                self.storage.save(tasks)
                return task
        raise KeyError(task_id)

    def remove(self, task_id):
        tasks = self.storage.load()
        for i, task in enumerate(tasks):
            if task.id == task_id:
                del tasks[i]
                self.storage.save(tasks)
                return task
        raise KeyError(task_id)
