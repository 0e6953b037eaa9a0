"""present/, shared by both faces: the batch options' rules and the status palette mean the same in the app and
headless."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from types import MappingProxyType

import pytest
from rich.console import Console
from rich.text import Text

from benchtui.app import BenchApp
from benchtui.cli.common import check_batch_flags
from benchtui.cli.headless import HeadlessDisplay
from benchtui.engine.config import load_config
from benchtui.engine.discovery import Catalog
from benchtui.engine.errors import InputError
from benchtui.engine.events import BatchStarted, PlannedRun, RunStarted
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks
from benchtui.present.format import status_text
from tests.conftest import TASKS

# (option, text): values no batch can run with
REFUSED = [
    ("timeout", "0"),
    ("timeout", "-5"),
    ("timeout", "nan"),
    ("timeout", "inf"),
    ("timeout", "-inf"),
    ("repeats", "0"),
    ("repeats", "-2"),
    ("parallel", "-1"),
]
ACCEPTED = [
    ("timeout", "0.5"),
    ("timeout", "1800"),
    ("repeats", "1"),
    ("repeats", "7"),
    ("parallel", "0"),
    ("parallel", "3"),
]
FLAG_TYPES = {"timeout": float, "repeats": int, "parallel": int}


def app(tmp_path: Path) -> BenchApp:
    config = load_config(None)
    catalog = Catalog(models=(), categories=MappingProxyType({}))
    return BenchApp(
        config=config, catalog=catalog, store=ResultsStore(tmp_path / "results"), task_paths=[tmp_path / "no-tasks"]
    )


def flags(name: str, text: str) -> argparse.Namespace:
    values = {"timeout": 1800.0, "repeats": 1, "parallel": None, name: FLAG_TYPES[name](text)}
    return argparse.Namespace(**values)


@pytest.mark.parametrize(("name", "text"), REFUSED)
def test_the_models_screen_refuses_what_the_command_line_refuses(tmp_path: Path, name: str, text: str) -> None:
    with pytest.raises(InputError, match=f"--{name} must be"):
        check_batch_flags(flags(name, text))
    bench = app(tmp_path).session
    before = bench.batch_options
    message = bench.set_option(name, text)
    assert message is not None and message.startswith(f"{name} must be"), message
    assert bench.batch_options == before and name in bench.option_errors


@pytest.mark.parametrize(("name", "text"), ACCEPTED)
def test_both_faces_accept_the_same_values(tmp_path: Path, name: str, text: str) -> None:
    check_batch_flags(flags(name, text))
    bench = app(tmp_path).session
    assert bench.set_option(name, text) is None and not bench.option_errors
    field = {"timeout": "timeout_s"}.get(name, name)
    assert getattr(bench.batch_options, field) == FLAG_TYPES[name](text)


def test_the_headless_table_styles_each_status_as_the_app_does() -> None:
    display = HeadlessDisplay(Console(file=io.StringIO(), width=140))
    display.emit(
        BatchStarted(
            "b1",
            Path("/tmp/b1"),
            (
                PlannedRun("r1", "fix_typo", "ollama/solver", 1),
                PlannedRun("r2", "fix_typo", "ollama/slow", 1, done=True),
                PlannedRun("r3", "fix_typo", "ollama/later", 1),
            ),
        )
    )
    display.emit(RunStarted("r1"))
    status = next(column for column in display._render().columns if column.header == "Status")
    texts = [cell for cell in status._cells if isinstance(cell, Text)]
    assert len(texts) == len(status._cells)  # every status cell is styled Text, never a plain string
    styles = {cell.plain: cell.style for cell in texts}
    assert styles.keys() == {"running", "kept", "queued"}
    for shown, style in styles.items():
        assert style == status_text(shown).style, shown
    assert styles["kept"] == "green dim"  # finished before the resume: done, but not this session's news


def test_the_app_gets_the_tasks_the_command_line_loaded_and_loads_them_no_second_time(tmp_path: Path) -> None:
    from benchtui.cli.tui import tui_app

    config = tmp_path / "models_config.yaml"
    config.write_text("models: []\nollama:\n  enabled: false\nembedded:\n  enabled: false\n")
    args = argparse.Namespace(
        task=[str(TASKS / "easy")],
        models="all",
        category=None,
        output=str(tmp_path),
        parallel=None,
        timeout=1800.0,
        repeats=1,
        resume=None,
        config=str(config),
    )
    loads: list[str] = []

    def count(frame: object, event: str, arg: object) -> None:
        if event == "call" and getattr(frame, "f_code", None) is load_tasks.__code__:
            loads.append(event)

    sys.setprofile(count)  # counts the calls, changes nothing
    try:
        bench = tui_app(args).session
    finally:
        sys.setprofile(None)
    assert len(loads) == 1
    assert bench.tasks and bench.marked_tasks == [task.id for task in bench.tasks] and bench.task_error is None


def test_the_models_screen_says_whose_timeout_a_run_gets(tmp_path: Path) -> None:
    """Each run gets the shorter of its task's own timeout and the Timeout field: the summary under the field
    says which the figure is, or `Timeout (s) 600` above `timeout 120 s per run` reads as two timeouts."""
    from benchtui.engine.config import ModelsConfig
    from benchtui.present.session import Session, load_library

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "a.txt").write_text("x\n")
    for name, own in (("quick", 120), ("long", 900)):
        (tmp_path / f"{name}.md").write_text(
            f"---\nid: {name}\ndifficulty: easy\nworkspace: ws/\ncheck: 'true'\ntimeout: {own}\n---\nDo it.\n"
        )
    session = Session(
        config=ModelsConfig(path=None, embedded_enabled=False),
        catalog=Catalog(models=(), categories=MappingProxyType({}), notes=()),
        store=ResultsStore(tmp_path / "results"),
        library=load_library([tmp_path]),
        marked_tasks=["quick"],
    )
    assert session.set_option("timeout", "600") is None
    assert "timeout 120 s per run (the task's own, shorter than Timeout 600 s) · " in session.batch_summary()
    session.marked_tasks = ["quick", "long"]  # 120 s, and 900 s capped at 600 s
    assert "timeout 120–600 s per run (each task's own, at most Timeout 600 s) · " in session.batch_summary()
    assert session.set_option("timeout", "60") is None  # the field is the shorter for both: no note
    assert "timeout 60 s per run · " in session.batch_summary()
