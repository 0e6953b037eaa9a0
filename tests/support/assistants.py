"""Helpers for the assistant tests: the real programs (found, or installed once, or the test skips
naming them), a task to run them on, and the gateway stand-in the runtime tests use where no model is
called."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from benchtui.engine.assistants import install, registry
from benchtui.engine.assistants.pairs import pair
from benchtui.engine.models import ModelSpec

_install_lock = threading.Lock()
_install_failed: dict[str, str] = {}


def real_assistant(name: str) -> Path:
    """The real ``name`` as ``benchtui assistants install`` put it in the assistants folder, installed
    now when it is absent; the test skips, naming it, when it is absent and cannot be installed here."""
    adapter = registry.get(name)
    assert adapter is not None, f"no adapter {name}"
    root = install.default_dir()
    exe = adapter.locate(root)
    if exe is not None:
        return exe
    with _install_lock:
        if name not in _install_failed:
            try:
                install.install(name, adapter, root, say=lambda line: None)
            except install.InstallError as exc:
                _install_failed[name] = str(exc).splitlines()[0]
    exe = adapter.locate(root)
    if exe is None:
        spec = adapter.install
        pytest.skip(
            f"{name} ({spec.package} {spec.version}) is not installed and could not be installed here "
            f"({_install_failed.get(name, 'unknown reason')}): run benchtui assistants install {name}"
        )
    return exe


def scripted_spec(url: str, model: str = "agent", *, api_key: str | None = None, **settings: Any) -> ModelSpec:
    """An OpenAI-compatible model on a scripted server (tests/support/scripted_agent.py)."""
    from types import MappingProxyType

    return ModelSpec(
        key=model,
        name=model,
        provider="openai",
        display_name=model,
        base_url=url.rstrip("/") + "/v1",
        api_key=api_key,
        settings=MappingProxyType({"temperature": 0.0, "max_tokens": 512, **settings}),
    )


def paired(spec: ModelSpec, assistant: str, **options: Any) -> ModelSpec:
    adapter = registry.get(assistant)
    version = adapter.version(exe) if adapter is not None and (exe := adapter.locate(install.default_dir())) else None
    return pair(spec, assistant, version, options)


@dataclass
class Usage:
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class NoModelGateway:
    """A stand-in for the gateway where the test's assistant never calls a model (the process-control
    tests' fake executables): it serves nothing; anything that tried to use it would fail to connect."""

    def __init__(self, spec: ModelSpec, provider: Any, **kwargs: Any) -> None:
        self.token = "no-model-token"
        self.model_name = spec.name
        self.openai_base_url = "http://127.0.0.1:9/v1"
        self.anthropic_base_url = "http://127.0.0.1:9"
        self.kwargs = kwargs

    def __enter__(self) -> NoModelGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def usage(self) -> Usage:
        return Usage()
