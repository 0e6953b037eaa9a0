"""The batch options: the command line and the Models screen refuse the same values, by one rule each."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import MappingProxyType

import pytest

from benchtui.app import BenchApp
from benchtui.cli.common import check_batch_flags
from benchtui.engine.config import load_config
from benchtui.engine.discovery import Catalog
from benchtui.engine.errors import InputError
from benchtui.engine.store import ResultsStore

# (option, text): values no batch can run with
REFUSED = [
    ("timeout", "0"), ("timeout", "-5"), ("timeout", "nan"), ("timeout", "inf"), ("timeout", "-inf"),
    ("repeats", "0"), ("repeats", "-2"), ("parallel", "-1"),
]
ACCEPTED = [("timeout", "0.5"), ("timeout", "1800"), ("repeats", "1"), ("repeats", "7"), ("parallel", "0"),
            ("parallel", "3")]
FLAG_TYPES = {"timeout": float, "repeats": int, "parallel": int}


def app(tmp_path: Path) -> BenchApp:
    config = load_config(None)
    catalog = Catalog(models=(), categories=MappingProxyType({}))
    return BenchApp(config=config, catalog=catalog, store=ResultsStore(tmp_path / "results"),
                    task_paths=[tmp_path / "no-tasks"])


def flags(name: str, text: str) -> argparse.Namespace:
    values = {"timeout": 1800.0, "repeats": 1, "parallel": None, name: FLAG_TYPES[name](text)}
    return argparse.Namespace(**values)


@pytest.mark.parametrize(("name", "text"), REFUSED)
def test_the_models_screen_refuses_what_the_command_line_refuses(tmp_path: Path, name: str, text: str) -> None:
    with pytest.raises(InputError, match=f"--{name} must be"):
        check_batch_flags(flags(name, text))
    bench = app(tmp_path)
    before = bench.batch_options
    message = bench.set_option(name, text)
    assert message is not None and message.startswith(f"{name} must be"), message
    assert bench.batch_options == before and name in bench.option_errors


@pytest.mark.parametrize(("name", "text"), ACCEPTED)
def test_both_faces_accept_the_same_values(tmp_path: Path, name: str, text: str) -> None:
    check_batch_flags(flags(name, text))
    bench = app(tmp_path)
    assert bench.set_option(name, text) is None and not bench.option_errors
    field = {"timeout": "timeout_s"}.get(name, name)
    assert getattr(bench.batch_options, field) == FLAG_TYPES[name](text)
