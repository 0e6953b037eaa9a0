"""Every model benchtui can see: config models, models installed on Ollama, embedded models.

Unavailable models stay in the list with the reason (disabled, key unset, server unreachable), so the
user always learns why a model will not run. ``select_models`` turns ``--models``/``--category`` into
the models of one batch, with the naming rules of design §5b.

Just over ~400 lines: the three sources (config, each Ollama host, embedded) and the selection share the
model list and its naming rules.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from benchtui.engine import secrets, suggest
from benchtui.engine.config import DISCOVER_SOURCE, ModelsConfig
from benchtui.engine.errors import InputError
from benchtui.engine.models import Endpoint, ModelSpec
from benchtui.engine.providers import anthropic, ollama, openai
from benchtui.engine.providers.base import ssl_context_for

OLLAMA_PREFIX = "ollama/"
EMBEDDED_CATEGORY = "embedded"
DETECTED_CATEGORY = "ollama"


@dataclass(frozen=True)
class Catalog:
    """The models known for this session, plus notes worth telling the user."""

    models: tuple[ModelSpec, ...]
    categories: MappingProxyType[str, tuple[str, ...]]
    notes: tuple[str, ...] = ()
    ollama_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> ModelSpec | None:
        return next((m for m in self.models if m.key == key), None)


def ollama_key(name: str) -> str:
    """``llama3:latest`` -> ``ollama/llama3``; tags other than latest are kept."""
    bare = name.removeprefix(OLLAMA_PREFIX)
    return OLLAMA_PREFIX + bare.removesuffix(":latest")


def discover(config: ModelsConfig, *, timeout_s: float = 3.0, embedded: bool = True) -> Catalog:
    notes: list[str] = []
    models: dict[str, ModelSpec] = {}
    unhosted: set[str] = set()  # Ollama entries that name no host: the hosts that have the model serve them
    for spec in config.models:
        if spec.source == DISCOVER_SOURCE:
            continue
        if spec.provider == "ollama":
            if spec.base_url is None:
                unhosted.add(ollama_key(spec.name))
            spec = replace(spec, key=ollama_key(spec.name), base_url=spec.base_url or config.ollama_host)
        models[spec.key] = spec
    expanded: set[str] = set()
    for template in (s for s in config.models if s.source == DISCOVER_SOURCE):
        found = _discover_listed(template, timeout_s)
        if found[0] is not template:
            expanded.add(template.key)
        for spec in found:
            if spec.key in models:
                # An explicit entry (or an earlier server) already has this name: it wins.
                if spec.source == "discovered" and models[spec.key].source == "discovered":
                    notes.append(
                        f"{spec.key} is listed by {models[spec.key].base_url} and {spec.base_url}; "
                        f"using {models[spec.key].base_url}"
                    )
                continue
            models[spec.key] = spec

    version: str | None = None
    if config.ollama_enabled:
        found, version, note = _detect_ollama(config, timeout_s)
        if note:
            notes.append(note)
        for spec in found:
            existing = models.get(spec.key)
            if existing is None:
                models[spec.key] = spec
            else:
                hosted = spec.key in unhosted
                models[spec.key] = replace(
                    existing,
                    details=spec.details,
                    name=spec.name,
                    categories=tuple(dict.fromkeys((*existing.categories, DETECTED_CATEGORY))),
                    base_url=spec.base_url if hosted else existing.base_url,
                    pool=tuple(replace(e, concurrency=existing.concurrency) for e in spec.pool)
                    if hosted and existing.concurrency is not None
                    else (spec.pool if hosted else existing.pool),
                )
        if version is None:
            hosts = ", ".join(_hosts(config))
            for key, spec in list(models.items()):
                if (
                    spec.provider == "ollama"
                    and spec.available
                    and spec.source == "config"
                    and spec.base_url in _hosts(config)
                ):
                    models[key] = replace(
                        spec, available=False, unavailable_reason=f"Ollama server unreachable at {hosts}"
                    )
    if embedded and config.embedded_enabled:
        for spec in _embedded_models(config):
            models[spec.key] = spec  # a config entry keeps its place; a built-in contestant goes last
    for key, spec in list(models.items()):
        if spec.provider == "embedded" and spec.source == "config":
            models[key] = replace(
                spec, available=False, unavailable_reason="embedded models are off (embedded: enabled: false)"
            )

    categories: dict[str, tuple[str, ...]] = {}
    for name, members in config.categories.items():
        keys = []
        for member in members:
            if member in expanded:
                continue  # a discover entry: its models carry the category themselves
            match = _match(member, models.values())
            keys.append(match.key if match else member)
        categories[name] = tuple(keys)
    for spec in models.values():
        for category in spec.categories:
            if spec.key not in categories.get(category, ()):
                categories[category] = (*categories.get(category, ()), spec.key)
    final = tuple(
        replace(
            spec, categories=tuple(sorted({*spec.categories, *(c for c, m in categories.items() if spec.key in m)}))
        )
        for spec in models.values()
    )
    return Catalog(models=final, categories=MappingProxyType(categories), notes=tuple(notes), ollama_version=version)


def _hosts(config: ModelsConfig) -> tuple[str, ...]:
    return config.ollama_hosts or (config.ollama_host,)


def _detect_ollama(config: ModelsConfig, timeout_s: float) -> tuple[list[ModelSpec], str | None, str | None]:
    """The models of every Ollama host, the first version that answered, and what to tell the user.

    A model (the same name and digest) installed on several hosts is one model served by a pool of them,
    in the order of OLLAMA_HOST; the same name with another digest is other weights, and is left out of
    the pool (with a note) rather than mixed into one model's results."""
    hosts = _hosts(config)
    if len(hosts) == 1:
        return _detect_host(config, hosts[0], timeout_s)
    merged: dict[str, ModelSpec] = {}
    version: str | None = None
    notes: list[str] = []
    # Asked at once: a host that does not answer costs its timeout once, not once per host after it.
    with ThreadPoolExecutor(len(hosts), thread_name_prefix="benchtui-ollama-detect") as asking:
        answers = list(asking.map(lambda host: _detect_host(config, host, timeout_s), hosts))
    for host, (found, host_version, note) in zip(hosts, answers, strict=True):
        version = version or host_version
        if note:
            notes.append(note)
        for spec in found:
            first = merged.get(spec.key)
            if first is None:
                merged[spec.key] = spec
            elif first.details.get("digest") != spec.details.get("digest"):
                notes.append(
                    f"{spec.key} on {host} is other weights than on {first.base_url} (another digest): "
                    f"only {first.base_url}'s serve it"
                )
            else:
                pool = (*first.endpoints, Endpoint(host, config.ollama_concurrency))
                merged[spec.key] = replace(first, pool=pool)
    return list(merged.values()), version, "; ".join(notes) or None


def _detect_host(config: ModelsConfig, host: str, timeout_s: float) -> tuple[list[ModelSpec], str | None, str | None]:
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False, verify=ssl_context_for(host)) as client:
            tags = ollama.list_models(client, host)
            version = ollama.server_version(client, host) or "unknown"
            specs = []
            for tag in tags:
                name = str(tag["name"])
                shown = ollama.show_model(client, host, name)
                details = {**(tag.get("details") or {}), **(shown.get("details") or {})}
                specs.append(
                    ModelSpec(
                        key=ollama_key(name),
                        name=name,
                        provider="ollama",
                        display_name=name,
                        base_url=host,
                        settings=config.default_settings,
                        categories=(DETECTED_CATEGORY,),
                        details=MappingProxyType(
                            {
                                "family": details.get("family"),
                                "parameter_size": details.get("parameter_size"),
                                "quantization": details.get("quantization_level"),
                                "format": details.get("format"),
                                "digest": tag.get("digest"),
                                "size_bytes": tag.get("size"),
                            }
                        ),
                        concurrency=config.ollama_concurrency,
                        source="ollama",
                    )
                )
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return [], None, _ollama_problem(host, exc, timeout_s)
    note = None if specs else f"Ollama at {host} has no models installed (ollama pull <model>)"
    return specs, version, note


_SET_HOST = "OLLAMA_HOST (or ollama.host in models_config.yaml)"


def _ollama_problem(host: str, exc: Exception, timeout_s: float) -> str:
    """Why no Ollama answered at ``host``: what answered instead (if anything), and what to do about it."""
    not_ollama = f"that is not Ollama's API; point {_SET_HOST} at the Ollama server (its default port is 11434)"
    if isinstance(exc, httpx.HTTPStatusError):
        server = exc.response.headers.get("server")
        by = f" (server: {secrets.redact(server)[:60]})" if server else ""
        return f"No Ollama at {host}: GET /api/tags answered HTTP {exc.response.status_code}{by}; {not_ollama}"
    if isinstance(exc, httpx.ConnectError):
        refused = "refused" in str(exc).lower()
        what = "connection refused, nothing listens there" if refused else f"cannot connect ({exc})"
        return (
            f"Ollama not reachable at {host}: {what}; start Ollama (ollama serve) or set {_SET_HOST} to where it runs"
        )
    if isinstance(exc, httpx.TimeoutException):
        return (
            f"Ollama not reachable at {host}: no answer within {timeout_s:g} s; is Ollama busy or stuck, "
            f"or does {_SET_HOST} name another server?"
        )
    if isinstance(exc, httpx.HTTPError):
        return (
            f"Ollama not reachable at {host}: {type(exc).__name__}: {exc}; check that Ollama runs "
            f"(ollama serve) and {_SET_HOST}"
        )
    # JSON that is not Ollama's shape, or no JSON at all
    return f"No Ollama at {host}: GET /api/tags answered, but not as Ollama does ({type(exc).__name__}); {not_ollama}"


def _discover_listed(template: ModelSpec, timeout_s: float) -> list[ModelSpec]:
    """A discover entry's models: every id its server lists at GET /models that matches its name.

    Returns ``[template]`` itself, marked unavailable with the reason, when nothing can be listed."""
    if not template.available:
        return [template]
    base_url = template.base_url or ""
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False, verify=ssl_context_for(base_url)) as client:
            lister = anthropic.list_models if template.provider == "anthropic" else openai.list_models
            ids = lister(client, base_url, template.api_key)
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        hint = " (check the api_key)" if status in (401, 403) else ""
        return [
            replace(
                template,
                available=False,
                unavailable_reason=f"listing models at {base_url} answered HTTP {status}{hint}",
            )
        ]
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return [
            replace(
                template,
                available=False,
                unavailable_reason=secrets.redact(f"server unreachable at {base_url} ({type(exc).__name__})"),
            )
        ]
    matched = sorted(i for i in dict.fromkeys(ids) if fnmatch.fnmatchcase(i, template.name))
    if not matched:
        return [
            replace(
                template, available=False, unavailable_reason=f"no model listed at {base_url} matches {template.name!r}"
            )
        ]
    return [replace(template, key=i, name=i, display_name=i, source="discovered") for i in matched]


def _embedded_models(config: ModelsConfig) -> list[ModelSpec]:
    """Every embedded contestant: the built-in ones (a config entry of the same name replaces one), then
    the config's other ``provider: embedded`` entries. Whether each can run is the install's say.

    A built-in contestant takes its server's context and threads from the config's entries of the same
    model: contestants of one model share one server."""
    from benchtui.engine import embedded

    installed = {model.name: model for model in embedded.known_models()}
    configured = {spec.key: spec for spec in config.models if spec.provider == "embedded"}
    specs = []
    for contestant in embedded.BUILTIN_CONTESTANTS:
        if contestant.key in configured:
            continue
        context, threads = config.embedded_servers.get(
            contestant.model, (config.embedded_context, config.embedded_threads)
        )
        specs.append(
            ModelSpec(
                key=contestant.key,
                name=contestant.model,
                provider="embedded",
                display_name=contestant.display_name,
                settings=MappingProxyType(
                    {**embedded.default_settings(contestant.model), **config.embedded_default_settings}
                ),
                edit_format=contestant.edit_format,
                source="embedded",
                context=context,
                threads=threads,
            )
        )
    specs.extend(configured.values())
    found = []
    described: dict[str, embedded.EmbeddedModel] = {}  # contestants of one file read its header once
    for spec in specs:
        if spec.gguf is not None:
            model = described.get(spec.gguf) or embedded.describe_gguf(spec.name, Path(spec.gguf))
            described[spec.gguf] = model
        else:
            model = installed[spec.name]
        details: dict[str, Any] = {
            "family": model.family,
            "parameter_size": model.parameter_size,
            "quantization": model.quantization,
            "context_length": model.context_length,
            "supports_tools": model.supports_tools,
            "kv_bytes_per_token": model.kv_bytes_per_token,
            "size_bytes": model.size_bytes,
        }
        if spec.gguf is not None:
            details["gguf"] = spec.gguf
        found.append(
            replace(
                spec,
                categories=tuple(dict.fromkeys((*spec.categories, EMBEDDED_CATEGORY))),
                available=spec.available and model.available,
                unavailable_reason=spec.unavailable_reason or model.unavailable_reason,
                details=MappingProxyType(details),
                source="embedded",
            )
        )
    return found


def _match(name: str, models: Sequence[ModelSpec] | Any) -> ModelSpec | None:
    """The model a user-typed name means: the exact key, else an Ollama model with or without
    ``ollama/`` and ``:latest``."""
    models = list(models)
    exact = next((m for m in models if m.key == name or (m.name == name and m.provider != "ollama")), None)
    if exact:
        return exact
    wanted = ollama_key(name)
    return next((m for m in models if m.provider == "ollama" and m.key == wanted), None)


def select_models(
    catalog: Catalog, names: str | None = "all", category: str | None = None
) -> tuple[list[ModelSpec], list[str]]:
    """The models of one batch and notes to show. Raises InputError for unknown or unavailable names."""
    notes: list[str] = []
    if category is not None:
        if category not in catalog.categories:
            raise InputError(f"unknown category {category!r}; known: {', '.join(sorted(catalog.categories))}")
        members = [catalog.get(k) for k in catalog.categories[category]]
        chosen = [m for m in members if m is not None and m.available]
        if not chosen:
            raise InputError(f"no available model in category {category!r}")
        if names in (None, "all"):
            return chosen, notes
        allowed = {m.key for m in chosen}
        picked, notes = select_models(catalog, names)
        return [m for m in picked if m.key in allowed], notes
    if names is not None and not names.strip(" ,"):
        raise InputError("--models is empty: give model names separated by commas, or all")
    if names is None or names.strip() == "all":
        chosen = [m for m in catalog.models if m.available and m.provider != "embedded"]
        if not chosen:
            chosen = [m for m in catalog.models if m.available and m.provider == "embedded"]
            if chosen:
                notes.append(
                    "No Ollama or configured model is reachable: running the embedded models ("
                    + ", ".join(m.key for m in chosen)
                    + ")."
                )
        if not chosen:
            seen = "; ".join(catalog.notes)
            raise InputError(
                "no model is available" + (f" ({seen})" if seen else "") + ": start Ollama "
                "(OLLAMA_HOST) and pull a model, configure models in models_config.yaml, or install "
                "the embedded model (see README)"
            )
        return chosen, notes
    chosen = []
    for raw in names.split(","):
        name = raw.strip()
        if not name:
            continue
        spec = _match(name, catalog.models)
        if spec is None:
            keys = [m.key for m in catalog.models]
            # Every key names its own model: a variant sharing another model's name (smollm2-135m-diff's name
            # is smollm2-135m) must not take that model's key over.
            forms = {m.key: m.key for m in catalog.models}
            for m in catalog.models:
                for form in (m.name, m.name.removesuffix(":latest")):
                    forms.setdefault(form, m.key)
            close = suggest.closest(name, forms)
            guess = f"did you mean {forms[close]!r}? " if close is not None else ""
            raise InputError(f"unknown model {name!r} in --models; {guess}known models: {', '.join(keys) or 'none'}")
        if not spec.available:
            raise InputError(f"model {spec.key!r} is unavailable: {spec.unavailable_reason}")
        if spec not in chosen:
            chosen.append(spec)
    if not chosen:
        raise InputError("--models names no model")
    return chosen, notes
