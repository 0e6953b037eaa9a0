"""Contestants as assistant × model pairs: ``--assistants`` crossed with ``--models``.

A pair is the model's ModelSpec with ``assistant`` set and the key ``assistant · model``, so the runner,
the store, the reports, the rankings and the matrix, which all group by the key, name it that way with
no change; benchtui's own loop (``benchtui``) keeps the plain model key, so old batches read the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

# The registry and the installer (and, through them, every adapter) are loaded only for a real assistant:
# a batch of benchtui's own loop (the default, every --no-ui start) never needs them.
from benchtui.engine import suggest
from benchtui.engine.assistants import BUILTIN
from benchtui.engine.errors import InputError
from benchtui.engine.models import ModelSpec

SEPARATOR = " · "


def parse(text: str | None) -> list[str]:
    """``--assistants a,b`` as names (None or empty: the built-in loop); raises InputError naming an
    unknown one."""
    if text is None:
        return [BUILTIN]
    from benchtui.engine.assistants import registry

    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise InputError(f"--assistants is empty: give names separated by commas ({', '.join(registry.names())})")
    known = registry.names()
    if names == ["all"]:
        return known
    for name in names:
        if name not in known:
            guess = suggest.did_you_mean(name, [*known, "all"])
            raise InputError(f"unknown assistant {name!r} in --assistants; {guess}known: {', '.join(known)}")
    return list(dict.fromkeys(names))


def pair(spec: ModelSpec, assistant: str, version: str | None, options: Mapping[str, Any]) -> ModelSpec:
    """``spec`` played by ``assistant``: its own key, the rest of the model as it is."""
    return replace(
        spec,
        key=f"{assistant}{SEPARATOR}{spec.key}",
        display_name=f"{assistant}{SEPARATOR}{spec.display_name}",
        assistant=assistant,
        assistant_version=version,
        assistant_options=MappingProxyType(dict(options)),
        model_key=spec.key,
    )


def split(key: str) -> tuple[str, str]:
    """``assistant · model`` -> (assistant, model); a plain key -> (``benchtui``, key)."""
    head, sep, rest = key.partition(SEPARATOR)
    if not sep:
        return BUILTIN, key
    from benchtui.engine.assistants import registry

    if head in registry.MODULES:
        return head, rest
    return BUILTIN, key


def cross(
    models: Sequence[ModelSpec],
    assistants: Sequence[str],
    options: Mapping[str, Mapping[str, Any]] | None = None,
    root: Path | None = None,
) -> list[ModelSpec]:
    """One contestant per assistant × model, assistants outermost (the built-in loop's specs as they are);
    raises InputError for an assistant that cannot run here, saying why."""
    if all(name == BUILTIN for name in assistants):
        return [spec for _ in assistants for spec in models]
    from benchtui.engine.assistants import install, registry

    where = root or install.default_dir()
    adapters = registry.adapters()
    contestants: list[ModelSpec] = []
    for name in assistants:
        if name == BUILTIN:
            contestants.extend(models)
            continue
        adapter = adapters.get(name)
        if adapter is None:
            raise InputError(f"unknown assistant {name!r}; known: {', '.join(registry.names())}")
        state = install.availability(name, adapter, where)
        configured = dict((options or {}).get(name, {}))
        if not state.usable and not configured.get("executable"):
            raise InputError(f"assistant {name!r} is unavailable: {state.reason}")
        version = state.installed if state.usable else adapter.version(Path(str(configured["executable"])))
        contestants.extend(pair(spec, name, version, configured) for spec in models)
    return contestants


def split_manifest(snapshots: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[tuple[str, str]]]:
    """A batch manifest's models as (the built-in loop's keys, the pairs' (assistant, model key)), in order."""
    builtin: list[str] = []
    paired: list[tuple[str, str]] = []
    for snapshot in snapshots:
        assistant = snapshot.get("assistant")
        if assistant:
            paired.append((str(assistant), str(snapshot.get("model_key") or split(str(snapshot["key"]))[1])))
        else:
            builtin.append(str(snapshot["key"]))
    return builtin, paired


def resumed(
    snapshots: Sequence[Mapping[str, Any]],
    find: Callable[[str], list[ModelSpec]],
    options: Mapping[str, Mapping[str, Any]] | None = None,
    root: Path | None = None,
) -> list[ModelSpec]:
    """The contestants of a batch being resumed, in its manifest's order: ``find`` turns model keys into
    specs (discovery.select_models). A pair gets the assistant as installed now: a different version
    changes its fingerprint, so its runs are run again rather than mixed with the old ones."""
    builtin, paired = split_manifest(snapshots)
    by_key = {spec.key: spec for spec in find(",".join(dict.fromkeys([*builtin, *(m for _, m in paired)])))}
    contestants: list[ModelSpec] = []
    for snapshot in snapshots:
        assistant = snapshot.get("assistant")
        if not assistant:
            spec = by_key.get(str(snapshot["key"]))
            if spec is not None:
                contestants.append(spec)
            continue
        base = by_key.get(str(snapshot.get("model_key") or split(str(snapshot["key"]))[1]))
        if base is not None:
            contestants.extend(cross([base], [str(assistant)], options, root))
    return contestants
