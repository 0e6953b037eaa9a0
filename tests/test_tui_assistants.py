"""The Models screen lists the assistants beside the models (last in the categories): each one's origin,
version and why it cannot run; space selects one, and the batch crosses the selected assistants with the
selected models (``assistant · model``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, OptionList

from benchtui.app import BenchApp
from benchtui.engine.assistants import registry
from benchtui.engine.config import ModelsConfig
from benchtui.engine.discovery import discover
from benchtui.engine.runner import BatchOptions
from benchtui.engine.store import ResultsStore
from benchtui.screens.models import ASSISTANTS, ModelsScreen
from tests.support.scripted import Script, ScriptedOllama, fixed, tiny_task
from tests.test_tui import SMALL, column, fits_sideways, screen_text, squeezed


def fake_install(root: Path, name: str, exe: str) -> None:
    """An install of ``name`` as benchtui assistants install leaves it (the listing reads only the folder)."""
    binary = root / name / "venv" / "bin" / exe
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    (root / name / "installed.json").write_text("{}")


@pytest.mark.anyio
async def test_the_models_screen_lists_and_selects_assistants_at_80x24(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "assistants"
    monkeypatch.setenv("BENCHTUI_ASSISTANTS_DIR", str(root))
    fake_install(root, "aider", "aider")
    with ScriptedOllama({"m": Script(fixed("no idea"))}) as server:
        config = ModelsConfig(path=None, ollama_host=server.url, embedded_enabled=False)
        app = BenchApp(
            config=config,
            catalog=discover(config, embedded=False),
            store=ResultsStore(tmp_path / "r"),
            tasks=[],
            task_paths=[tiny_task(tmp_path / "task")],
            options=BatchOptions(timeout_s=60),
            selected_models=["ollama/m"],
        )
        async with app.run_test(size=SMALL) as pilot:
            await pilot.press("2")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ModelsScreen)
            categories = screen.query_one("#categories", OptionList)
            categories.focus()
            while categories.highlighted != categories.get_option_index(ASSISTANTS):
                await pilot.press("down")
            await pilot.pause()
            table = screen.query_one("#model-table", DataTable)
            assert column(table, "Assistant") == registry.names()  # benchtui's loop first, then every adapter
            assert fits_sideways(table)
            shown = squeezed(screen_text(app))
            assert f"Assistants(2of{len(registry.names())})" in shown and "unavailable:notinstalled" in shown
            table.focus()
            table.move_cursor(row=1)
            await pilot.press("space")  # aider, installed: selected
            table.move_cursor(row=2)
            await pilot.press("space")  # mini-swe-agent, not installed: refused, said
            await pilot.pause()
            assert app.session.selected_assistants == ["benchtui", "aider"]
            assert [m.key for m in app.session.chosen_models()] == ["ollama/m", "aider · ollama/m"]
            assert "1model×2assistants" in squeezed(screen_text(app))
