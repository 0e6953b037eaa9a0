"""The import contracts: the engine, present/ and the headless path never import Textual; no import cycles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.support.scripted import Script, ScriptedOllama, solution_reply, tiny_task

ENGINE_MODULES = [
    "benchtui.engine.contestants",
    "benchtui.engine.runner",
    "benchtui.engine.store",
    "benchtui.engine.discovery",
    "benchtui.engine.reports",
    "benchtui.engine.rankings",
    "benchtui.engine.metrics",
    "benchtui.engine.batches",
    "benchtui.engine.validate",
    "benchtui.cli",
    "benchtui.cli.common",
    "benchtui.cli.headless",
    "benchtui.cli.commands",
    "benchtui.paths",
    "benchtui.present.board",
    "benchtui.present.format",
    "benchtui.present.options",
    "benchtui.present.exits",
]
TOLERATED_CYCLES: list[set[str]] = []  # none left: the screens get the Session, never the app


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


def test_help_and_the_no_ui_path_import_no_textual_in_a_fresh_interpreter(tmp_path: Path) -> None:
    # `benchtui --help`, a `--no-ui` start that stops at its first check (no --task) and a subcommand, through
    # main() as the console script calls it, in one fresh interpreter.
    config = tmp_path / "models_config.yaml"
    config.write_text("models: []\nollama:\n  enabled: false\nembedded:\n  enabled: false\n")
    code = (
        "import sys\nfrom benchtui.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        f"assert main(['--no-ui', '--config', {str(config)!r}, '--output', {str(tmp_path)!r}]) == 2\n"
        f"assert main(['history', '--output', {str(tmp_path)!r}]) == 0\n"
        "import benchtui.cli.headless, benchtui.cli.commands\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(bad, file=sys.stderr)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--task is required" in result.stderr and "No batches in" in result.stdout


def _never_loaded_at_start() -> list[str]:
    """What a start of benchtui's own loop never loads (docs/PERFORMANCE.md, figure 4b): the assistants'
    runtime (their adapters, the model gateway they talk to, the contestant that drives them) and the GGUF
    reader (only a config naming a GGUF file needs it). Contracts of the design, not whatever happens to be
    imported today."""
    from benchtui.engine.assistants import registry

    return [
        "textual",
        "benchtui.engine.gateway",
        "benchtui.engine.contestants.assistant",
        "benchtui.engine.gguf",
        *(f"benchtui.engine.assistants.{module}" for module in registry.MODULES.values()),
    ]


# Run in a fresh interpreter after `main(...)`: the forbidden modules it loaded, and whether it loaded the CA
# bundle (httpx's TLS context: ~20 ms of CPU), which a client of a plain-http Ollama never needs.
_LOADED = (
    "import sys\n"
    "from benchtui.engine.providers.base import shared_ssl_context\n"
    "loaded = sorted(m for m in sys.modules for f in FORBIDDEN if m == f or m.startswith(f + '.'))\n"
    "print('loaded:', loaded, 'CA bundle:', shared_ssl_context.cache_info().currsize, file=sys.stderr)\n"
    "sys.exit(1 if loaded or shared_ssl_context.cache_info().currsize else 0)\n"
)


def test_a_no_ui_start_on_a_local_ollama_loads_no_assistant_runtime_no_report_and_no_ca_bundle(
    tmp_path: Path,
) -> None:
    # The start figure 4b times: parse, config, discovery on a loopback Ollama, then exit 2 for want of --task.
    forbidden = [*_never_loaded_at_start(), "benchtui.engine.reports"]
    config = tmp_path / "models_config.yaml"
    config.write_text("models: []\nembedded:\n  enabled: false\n")
    code = (
        f"FORBIDDEN = {forbidden!r}\nfrom benchtui.cli import main\n"
        f"assert main(['--no-ui', '--config', {str(config)!r}, '--output', {str(tmp_path)!r}]) == 2\n" + _LOADED
    )
    with ScriptedOllama({"m": Script(solution_reply(tiny_task(tmp_path / "t")))}) as server:
        env = {**os.environ, "OLLAMA_HOST": server.url}
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--task is required" in result.stderr and "loaded: [] CA bundle: 0" in result.stderr


def test_a_batch_of_benchtuis_own_loop_on_ollama_loads_no_assistant_runtime_and_no_ca_bundle(tmp_path: Path) -> None:
    task = tiny_task(tmp_path / "t")
    config = tmp_path / "models_config.yaml"
    config.write_text("models: []\nembedded:\n  enabled: false\n")
    out = tmp_path / "out"
    code = (
        f"FORBIDDEN = {_never_loaded_at_start()!r}\nfrom benchtui.cli import main\n"
        f"assert main(['--no-ui', '--task', {str(task)!r}, '--models', 'm', '--config', {str(config)!r},"
        f" '--output', {str(out)!r}]) == 0\n" + _LOADED
    )
    with ScriptedOllama({"m": Script(solution_reply(task))}) as server:
        env = {**os.environ, "OLLAMA_HOST": server.url}
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "loaded: [] CA bundle: 0" in result.stderr
    assert "passed" in result.stdout  # the run really ran, and passed


def test_no_import_cycle_in_benchtui() -> None:
    import pytest

    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (pip install -e '.[test]')")
    graph = grimp.build_graph("benchtui")
    cycles = [cycle for cycle in _cycles(graph) if cycle not in TOLERATED_CYCLES]
    assert not cycles, cycles


def _cycles(graph: Any) -> list[set[str]]:
    """The modules that import each other, directly or not: Tarjan's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = {stack.pop()}
            while module not in component:
                component.add(stack.pop())
            if len(component) > 1:
                found.append(component)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


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
    assert result.returncode == 0 and "2 kept, 0 broken" in result.stdout, result.stdout + result.stderr


def _tool(name: str) -> str:
    import pytest

    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return str(path)


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [_tool("ruff"), "check", "benchtui", "tests", "bench"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_formatted() -> None:
    result = subprocess.run(
        [_tool("ruff"), "format", "--check", "benchtui", "tests", "bench"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_and_strict_on_the_engine() -> None:
    result = subprocess.run([_tool("mypy")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
