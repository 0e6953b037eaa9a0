"""The import contract: the engine and the headless path never import Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

ENGINE_MODULES = [
    "benchtui.engine.contestants", "benchtui.engine.runner", "benchtui.engine.store", "benchtui.engine.discovery",
    "benchtui.engine.reports", "benchtui.engine.rankings", "benchtui.engine.metrics", "benchtui.engine.batches",
    "benchtui.engine.validate", "benchtui.headless", "benchtui.cli", "benchtui.commands", "benchtui.paths",
]


def test_engine_and_headless_import_no_textual_in_a_fresh_interpreter() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {ENGINE_MODULES!r}: importlib.import_module(name)\n"
        "import benchtui.engine.reports as r\n"
        "for fmt in ('json', 'csv', 'html'):\n"
        "    try: importlib.import_module(f'benchtui.engine.reports.{fmt}_report')\n"
        "    except ModuleNotFoundError: pass\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_help_does_not_import_textual_or_the_engine() -> None:
    code = (
        "import sys\nfrom benchtui.cli import build_parser\nbuild_parser().format_help()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('textual', 'httpx', 'benchtui.engine'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_the_import_linter_contract_holds() -> None:
    import pytest

    lint = str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    result = subprocess.run([lint], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "1 kept, 0 broken" in result.stdout, result.stdout + result.stderr


def _tool(name: str) -> str:
    import pytest

    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return str(path)


def test_ruff_finds_nothing() -> None:
    result = subprocess.run([_tool("ruff"), "check", "benchtui", "tests", "bench"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_and_strict_on_the_engine() -> None:
    result = subprocess.run([_tool("mypy")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
