"""Batch folders: unique ids, atomic files, torn files redone (never a crash), history."""

from __future__ import annotations

import contextlib
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchtui.engine.atomic import write_json
from benchtui.engine.results import RunResult, RunStatus
from benchtui.engine.store import ResultsStore
from tests.conftest import REPO


def result(task: str, model: str, status: RunStatus = "passed") -> RunResult:
    return {"task_id": task, "model": model, "repeat": 1, "status": status, "completion_time_s": 1.0}


def test_two_batches_in_the_same_second_get_distinct_folders(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    first, second = store.create_batch({}), store.create_batch({})
    assert first.path != second.path and first.path.name.startswith("batch_")
    assert json.loads((second.path / "batch.json").read_text())["status"] == "running"


def test_a_batch_folder_never_exists_without_its_manifest_whenever_the_process_dies(tmp_path: Path) -> None:
    """Resume needs the manifest: a kill between creating the folder and writing it must not leave a husk."""
    creator = (
        "import sys; from pathlib import Path; from benchtui.engine.store import ResultsStore\n"
        "store = ResultsStore(Path(sys.argv[1]))\n"
        "store.create_batch({}); print('creating', flush=True)\n"
        "while True: store.create_batch({})\n"
    )
    rng = random.Random(7)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", creator, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline() == b"creating\n"  # however slow the machine
        time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
    batches = list(tmp_path.glob("batch_*"))
    assert batches
    for folder in batches:
        assert json.loads((folder / "batch.json").read_text())["batch_id"] == folder.name
    ResultsStore(tmp_path).create_batch({})  # tidies the staging folders of the dead creators
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".new-batch-")] == []
    assert len(ResultsStore(tmp_path).list_batches()) == len(batches) + 1


def test_torn_empty_or_foreign_run_files_are_treated_as_not_done(tmp_path: Path) -> None:
    batch = ResultsStore(tmp_path).create_batch({})
    snapshot = {"key": "m"}
    batch.record_run(snapshot, "m", result("good", "m"), [])
    runs = batch.path / "runs" / "m"
    (runs / "torn__r1.json").write_text('{"schema": 1, "result": {"task_id": "torn"')
    (runs / "empty__r1.json").write_text("")
    (runs / "foreign__r1.json").write_text(json.dumps({"hello": "world"}))
    (runs / ".good__r1.json.123.456.tmp").write_text("half")
    found = batch.load_run_files()
    assert list(found) == ["good::m::1"]
    batch.clean_stale()
    assert not list(runs.glob("*.tmp"))


def test_model_file_lists_every_run_and_history_reads_the_manifest(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    batch = store.create_batch({"tasks": [{"id": "t1"}], "models": [{"key": "m"}], "runs_planned": 2})
    batch.record_run({"key": "m"}, "m", result("t1", "m"), [{"kind": "reply", "content": "hi"}])
    batch.record_run({"key": "m"}, "m", result("t2", "m", "failed"), [])
    batch.flush()
    runs = json.loads((batch.path / "m_result.json").read_text())["runs"]
    assert [r["task_id"] for r in runs] == ["t1", "t2"]
    models, loaded = batch.load_results()
    assert list(models) == ["m"] and len(loaded) == 2
    assert batch.load_transcript(loaded[0]) == [{"kind": "reply", "content": "hi"}]
    batch.update_manifest(status="interrupted", progress={"planned": 2, "finished": 2, "passed": 1})
    (info,) = store.list_batches()
    assert (info.status, info.tasks, info.models, info.passed, info.planned) == ("interrupted", ("t1",), ("m",), 1, 2)


def test_atomic_write_leaves_the_old_file_when_the_write_fails(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_json(target, {"v": 1})
    with contextlib.suppress(TypeError):
        write_json(target, {"v": object()})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_batch_still_running_in_another_process_is_not_offered_for_resume(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    import pytest

    from benchtui.engine.batches import resume_batch
    from benchtui.engine.config import ModelsConfig
    from benchtui.engine.discovery import discover
    from benchtui.engine.errors import InputError

    store = ResultsStore(tmp_path)
    batch = store.create_batch({"tasks": [], "models": []})
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        batch.update_manifest(runner={"pid": other.pid, "host": socket.gethostname()})
        assert store.list_batches()[0].alive
        config = ModelsConfig(path=None, embedded_enabled=False)
        with pytest.raises(InputError, match="still running"):
            resume_batch(store, config, discover(config, embedded=False), batch.batch_id)
    finally:
        other.kill()
        other.wait()
    assert not store.list_batches()[0].alive
