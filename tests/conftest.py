"""Shared fixtures: every test gets its own data folder and no ambient Ollama, config or API keys."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TASKS = REPO / "tasks"
sys.path.insert(0, str(REPO))


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path_factory.mktemp("benchtui-data")
    monkeypatch.setenv("BENCHTUI_DATA_DIR", str(data))
    # Nothing on this machine listens on port 9: discovery sees "no Ollama" quickly unless a test says otherwise.
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    # An empty config with the embedded models off: tests that want a real model say so.
    default_config = data / "models_config.yaml"
    default_config.write_text("embedded: {enabled: false}\n", encoding="utf-8")
    monkeypatch.setenv("BENCHTUI_CONFIG", str(default_config))
    for name in list(os.environ):
        if name.endswith("_API_KEY"):
            monkeypatch.delenv(name)
    return data


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
