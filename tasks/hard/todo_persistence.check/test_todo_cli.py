import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def todo(*args, cwd=None, env_db=None):
    env = dict(os.environ)
    env.pop("TODO_DB", None)
    env["PYTHONPATH"] = str(HERE)
    if env_db is not None:
        env["TODO_DB"] = str(env_db)
    return subprocess.run(
        [sys.executable, "-m", "todo.cli", *args],
        cwd=cwd or HERE, env=env, capture_output=True, text=True, timeout=10,
    )


def ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "tasks.json"


def test_tasks_persist_between_runs(db):
    assert ok(todo("--db", str(db), "add", "Buy milk")) == ["added 1: Buy milk"]
    assert ok(todo("--db", str(db), "add", "  Write report ")) == ["added 2: Write report"]
    assert ok(todo("--db", str(db), "list")) == ["[ ] 1 Buy milk", "[ ] 2 Write report"]
    assert json.loads(db.read_text(encoding="utf-8")) == [
        {"id": 1, "title": "Buy milk", "done": False},
        {"id": 2, "title": "Write report", "done": False},
    ]


def test_done_and_pending(db):
    for title in ("one", "two", "three"):
        ok(todo("--db", str(db), "add", title))
    assert ok(todo("--db", str(db), "done", "2")) == ["done 2: two"]
    assert ok(todo("--db", str(db), "list")) == ["[ ] 1 one", "[x] 2 two", "[ ] 3 three"]
    assert ok(todo("--db", str(db), "list", "--pending")) == ["[ ] 1 one", "[ ] 3 three"]


def test_remove_does_not_reuse_ids(db):
    for title in ("one", "two", "three"):
        ok(todo("--db", str(db), "add", title))
    assert ok(todo("--db", str(db), "remove", "1")) == ["removed 1: one"]
    assert ok(todo("--db", str(db), "add", "four")) == ["added 4: four"]
    assert ok(todo("--db", str(db), "list")) == ["[ ] 2 two", "[ ] 3 three", "[ ] 4 four"]


def test_empty_list(db):
    assert ok(todo("--db", str(db), "list")) == ["no tasks"]
    ok(todo("--db", str(db), "add", "only"))
    ok(todo("--db", str(db), "done", "1"))
    assert ok(todo("--db", str(db), "list", "--pending")) == ["no tasks"]


@pytest.mark.parametrize("command", ["done", "remove"])
def test_unknown_id(db, command):
    ok(todo("--db", str(db), "add", "only"))
    result = todo("--db", str(db), command, "7")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no task 7"
    assert "Traceback" not in result.stderr
    assert ok(todo("--db", str(db), "list")) == ["[ ] 1 only"]


def test_blank_title(db):
    result = todo("--db", str(db), "add", "   ")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: title must not be empty"
    assert ok(todo("--db", str(db), "list")) == ["no tasks"]


@pytest.mark.parametrize("content", ["{not json", '{"id": 1}', '[{"title": "no id"}]'])
def test_unreadable_file_is_left_alone(db, content):
    db.write_text(content, encoding="utf-8")
    for args in (["list"], ["add", "x"]):
        result = todo("--db", str(db), *args)
        assert result.returncode == 1
        assert result.stderr.startswith("error: ")
        assert "Traceback" not in result.stderr
    assert db.read_text(encoding="utf-8") == content


def test_todo_db_environment_variable(tmp_path):
    path = tmp_path / "from_env.json"
    ok(todo("add", "env task", env_db=path))
    assert json.loads(path.read_text(encoding="utf-8"))[0]["title"] == "env task"


def test_default_file_in_current_directory(tmp_path):
    ok(todo("add", "here", cwd=tmp_path))
    assert ok(todo("list", cwd=tmp_path)) == ["[ ] 1 here"]
    assert (tmp_path / "todo.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["todo.json"]


# --- Python API ----------------------------------------------------------------

def test_json_storage_round_trip(tmp_path):
    from todo.models import Task
    from todo.storage import JsonFileStorage

    path = tmp_path / "store.json"
    storage = JsonFileStorage(path)
    assert storage.load() == []
    tasks = [Task(1, "Café ☕"), Task(3, "done one", True)]
    storage.save(tasks)
    assert JsonFileStorage(str(path)).load() == tasks
    assert os.listdir(tmp_path) == ["store.json"]
    storage.save(tasks[:1])
    assert JsonFileStorage(path).load() == tasks[:1]
    assert os.listdir(tmp_path) == ["store.json"]


@pytest.mark.parametrize("content", ["[1, 2", '{"id": 1}', "[1, 2]", '[{"title": "no id", "done": false}]'])
def test_json_storage_errors(tmp_path, content):
    # Not JSON, or JSON without the shape the prompt gives: both are StorageError.
    from todo.storage import JsonFileStorage, StorageError

    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StorageError):
        JsonFileStorage(path).load()


def test_service_with_memory_storage():
    from todo.service import TodoService
    from todo.storage import MemoryStorage

    service = TodoService(MemoryStorage())
    for title in ("a", "b", "c"):
        service.add(title)
    assert service.remove(2).title == "b"
    with pytest.raises(KeyError):
        service.remove(2)
    service.complete(1)
    assert [t.id for t in service.list()] == [1, 3]
    assert [t.id for t in service.list(pending_only=True)] == [3]
    assert service.add("d").id == 4
