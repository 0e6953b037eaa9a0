"""models_config.yaml: which models to run, how to reach them, what they cost, how they are grouped.

Loaded once into frozen ModelSpecs. ``${ENV}`` references in ``api_key`` are expanded here; a model
whose key variable is unset stays listed as unavailable with that reason, never silently dropped.
Every problem raises ConfigError naming the file, the line and what was expected.

Over ~400 lines because it is the one schema of one file: each section's keys are checked where they are
read, with their line, and splitting the sections apart would scatter the rules that tie them together
(defaults under entries, an embedded server's settings shared by its contestants).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from benchtui.engine import embedded as embedded_models
from benchtui.engine import secrets, suggest
from benchtui.engine.errors import ConfigError
from benchtui.engine.models import CATEGORIES, EDIT_FORMATS, PROVIDERS, Endpoint, ModelSpec, Pricing
from benchtui.engine.providers.base import RetryPolicy
from benchtui.engine.yamlfile import LocatedMapping, load_yaml

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
DEFAULT_SETTINGS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 1024}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MODEL_KEYS = {
    "name",
    "provider",
    "display_name",
    "enabled",
    "api_key",
    "base_url",
    "settings",
    "pricing",
    "edit_format",
    "concurrency",
    "category",
    "categories",
    "discover",
    "model",
    "context",
    "threads",
    "gguf",
    "repair_tool_calls",
    "endpoints",
}
# Keys that only an embedded entry has (the weights it runs, its server's settings), and keys it cannot
# have (benchtui serves it on a port of its own, with no key).
_EMBEDDED_ONLY = ("model", "context", "threads", "gguf")
_NOT_EMBEDDED = ("api_key", "base_url", "endpoints")
# What one item of a pool's ``endpoints:`` list may say (docs/SCALE.md); what it leaves out is the entry's.
_ENDPOINT_KEYS = ("base_url", "concurrency", "api_key")
# A model entry whose name holds a wildcard (or that says ``discover: true``) stands for every model id
# its server lists at GET /models; discovery.py expands it into one ModelSpec per id.
DISCOVER_SOURCE = "discover"
_DISCOVER_PROVIDERS = ("openai", "anthropic")
_GLOB_CHARS = frozenset("*?[")


def _guess(word: str, choices: Iterable[str]) -> str:
    """``did you mean 'x'? `` before the list of the keys expected (sorted: the same guess every time)."""
    return suggest.did_you_mean(word, sorted(choices))


_TOP_KEYS = {"models", "categories", "ollama", "embedded", "defaults", "retry", "assistants"}
_RETRY_KEYS = {
    "max_retries": int,
    "base_delay_s": float,
    "max_delay_s": float,
    "max_retry_after_s": float,
    "connect_timeout_s": float,
    "first_byte_timeout_s": float,
    "request_deadline_s": float,
}
_DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}


@dataclass(frozen=True)
class ModelsConfig:
    """The loaded config: its models (with availability), categories and server settings."""

    path: Path | None
    models: tuple[ModelSpec, ...] = ()
    categories: MappingProxyType[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    ollama_host: str = DEFAULT_OLLAMA_HOST
    # Every Ollama host (OLLAMA_HOST or ollama.host may list several, comma-separated; the first is
    # ``ollama_host``): a model installed on several is one model served by a pool (docs/SCALE.md).
    ollama_hosts: tuple[str, ...] = ()
    ollama_enabled: bool = True
    ollama_concurrency: int | None = None
    embedded_enabled: bool = True
    embedded_threads: int | None = None
    embedded_context: int = embedded_models.DEFAULT_CONTEXT
    # Each embedded model the config's entries run, by model id: (context, threads) of its one server,
    # which the built-in contestants of that model share.
    embedded_servers: MappingProxyType[str, tuple[int, int | None]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # The settings the file's ``defaults:`` section writes, less Ollama's num_ctx: embedded models start
    # from their measured defaults and take only these over them (not benchtui's own defaults).
    embedded_default_settings: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    default_settings: MappingProxyType[str, Any] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_SETTINGS))
    )
    # The file as written (a literal key in it would be a secret): kept out of repr().
    source_text: str = field(default="", repr=False)
    # Per assistant (aider, claude-code, ...), its options: the ``assistants:`` section (_assistants).
    assistants: MappingProxyType[str, MappingProxyType[str, Any]] = field(default_factory=lambda: MappingProxyType({}))


def normalize_ollama_host(value: str) -> str:
    """Ollama's own convention: ``OLLAMA_HOST`` may be ``host``, ``host:port`` or a URL."""
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = f"http://{value}"
    scheme, rest = value.split("://", 1)
    host = rest.split("/", 1)[0]
    if host.startswith("0.0.0.0"):
        host = host.replace("0.0.0.0", "127.0.0.1", 1)
    if ":" not in host.rsplit("]", 1)[-1]:
        host = f"{host}:11434"
    return f"{scheme}://{host}"


def ollama_hosts(value: str) -> tuple[str, ...]:
    """``OLLAMA_HOST`` listing several hosts, comma-separated: each normalized, each once, in order."""
    hosts = (normalize_ollama_host(part) for part in value.split(",") if part.strip())
    return tuple(dict.fromkeys(hosts)) or (DEFAULT_OLLAMA_HOST,)


def expand_env(value: str) -> tuple[str | None, list[str]]:
    """Expand ``${VAR}`` references; returns (expanded or None when a variable is unset, unset names)."""
    missing = [name for name in _ENV_REF.findall(value) if not os.environ.get(name)]
    if missing:
        return None, missing
    return _ENV_REF.sub(lambda m: os.environ[m.group(1)], value), []


def load_config(path: Path | None) -> ModelsConfig:
    """Load a models config; ``None`` gives the built-in defaults (Ollama and embedded models only)."""
    host_env = os.environ.get("OLLAMA_HOST")
    if path is None:
        hosts = ollama_hosts(host_env) if host_env else (DEFAULT_OLLAMA_HOST,)
        return ModelsConfig(path=None, ollama_host=hosts[0], ollama_hosts=hosts)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("models config not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read models config: {exc}", path=path) from None
    data = load_yaml(text, path=path, error=ConfigError)
    if data is None:
        data = LocatedMapping({}, {}, 1)
    if not isinstance(data, LocatedMapping):
        raise ConfigError("expected a mapping with a 'models' list at the top level", path=path, line=1)
    return _build_config(path, data, text, host_env)


def _build_config(path: Path, data: LocatedMapping, text: str, host_env: str | None) -> ModelsConfig:
    def fail(where: LocatedMapping, key: str, message: str) -> ConfigError:
        return ConfigError(f"'{key}': {message}", path=path, line=where.line_of(key))

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise fail(
            data,
            unknown[0],
            f"unknown key; {_guess(unknown[0], _TOP_KEYS)}expected one of {', '.join(sorted(_TOP_KEYS))}",
        )

    ollama = _section(data, "ollama", path)
    embedded = _section(data, "embedded", path)
    defaults = _section(data, "defaults", path)
    # A misspelt key here would be ignored without a word: refused like any other unknown key.
    for name, section, allowed in (
        ("ollama", ollama, ("concurrency", "enabled", "host")),
        ("defaults", defaults, ("settings",)),
    ):
        unknown = sorted(set(section) - set(allowed))
        if unknown:
            raise fail(
                section,
                unknown[0],
                f"unknown {name} key; {_guess(unknown[0], allowed)}expected one of {', '.join(allowed)}",
            )
    file_defaults = _settings(defaults, path) if "settings" in defaults else {}
    default_settings = {**DEFAULT_SETTINGS, **file_defaults}
    # num_ctx is Ollama's; an embedded model's context is its server's (the entry's 'context').
    embedded_defaults = {k: v for k, v in file_defaults.items() if k != "num_ctx"}
    host = ollama.get("host", DEFAULT_OLLAMA_HOST)
    if isinstance(host, list) and host and all(isinstance(h, str) for h in host):
        host = ",".join(host)  # several hosts: a list, or OLLAMA_HOST's comma-separated form
    if (
        not isinstance(host, str)
        or not host.strip(" ,")
        or any(ch.isspace() for part in host.split(",") for ch in part.strip())
    ):
        raise fail(
            ollama, "host", f"expected a URL such as http://127.0.0.1:11434 (or several, comma-separated), got {host!r}"
        )
    ollama_concurrency = _positive_int(ollama, "concurrency", path)
    embedded_threads = _positive_int(embedded, "threads", path)
    embedded_context = _context(embedded, path) or embedded_models.DEFAULT_CONTEXT
    unknown = sorted(set(embedded) - {"enabled", "threads", "context"})
    if unknown:
        raise fail(
            embedded,
            unknown[0],
            f"unknown embedded setting; {_guess(unknown[0], ('context', 'enabled', 'threads'))}"
            "expected one of context, enabled, threads",
        )

    raw_models = data.get("models") or []
    if not isinstance(raw_models, list):
        raise fail(data, "models", "expected a list of models")
    models: list[ModelSpec] = []
    seen: set[str] = set()
    servers: dict[str, dict[str, tuple[int, str, int]]] = {}
    for entry in raw_models:
        if not isinstance(entry, LocatedMapping):
            raise ConfigError(
                "each model must be a mapping with name and provider", path=path, line=data.line_of("models")
            )
    gguf_models = _gguf_models(path, raw_models)
    for entry in raw_models:
        if entry.get("provider") == "embedded":
            spec = _build_embedded(path, entry, embedded_defaults, embedded_context, embedded_threads, gguf_models)
            _check_shared_server(path, entry, spec, servers)
        else:
            spec = _build_model(path, entry, default_settings)
        if spec.key in seen:
            raise fail(entry, "name", f"model {spec.key!r} is listed twice")
        seen.add(spec.key)
        models.append(spec)
    embedded_servers: dict[str, tuple[int, int | None]] = {}
    for name, server in servers.items():
        context = server["context"][0] if "context" in server else embedded_context
        threads = server["threads"][0] if "threads" in server else embedded_threads
        embedded_servers[name] = (context, threads)
    models = [
        replace(spec, context=embedded_servers[spec.name][0], threads=embedded_servers[spec.name][1])
        if spec.provider == "embedded"
        else spec
        for spec in models
    ]

    raw_categories = data.get("categories") or LocatedMapping({}, {}, data.line_of("categories"))
    if not isinstance(raw_categories, LocatedMapping):
        raise fail(data, "categories", "expected a mapping of category name to a list of model names")
    categories: dict[str, tuple[str, ...]] = {}
    for name, members in raw_categories.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise fail(raw_categories, name, "expected a list of model names")
        categories[name] = tuple(members)
    for spec in models:
        for category in spec.categories:
            categories.setdefault(category, ())
            if spec.key not in categories[category]:
                categories[category] = (*categories[category], spec.key)
    for category in CATEGORIES:
        categories.setdefault(category, ())
    categorised = [
        _with_categories(spec, tuple(c for c, members in categories.items() if spec.key in members)) for spec in models
    ]
    return ModelsConfig(
        path=path,
        models=tuple(categorised),
        categories=MappingProxyType(categories),
        ollama_host=ollama_hosts(host_env or host)[0],
        ollama_hosts=ollama_hosts(host_env or host),
        ollama_enabled=_bool(ollama, "enabled", path, default=True),
        ollama_concurrency=ollama_concurrency,
        embedded_enabled=_bool(embedded, "enabled", path, default=True),
        embedded_threads=embedded_threads,
        embedded_context=embedded_context,
        embedded_servers=MappingProxyType(embedded_servers),
        embedded_default_settings=MappingProxyType(embedded_defaults),
        retry=_retry_policy(_section(data, "retry", path), path),
        default_settings=MappingProxyType(default_settings),
        source_text=text,
        assistants=_assistants(_section(data, "assistants", path), path),
    )


def _with_categories(spec: ModelSpec, categories: tuple[str, ...]) -> ModelSpec:
    return replace(spec, categories=categories)


def _build_model(path: Path, entry: LocatedMapping, default_settings: dict[str, Any]) -> ModelSpec:
    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"'{key}': {message}", path=path, line=entry.line_of(key))

    unknown = sorted(set(entry) - _MODEL_KEYS)
    if unknown:
        raise fail(
            unknown[0],
            f"unknown model key; {_guess(unknown[0], _MODEL_KEYS)}expected one of {', '.join(sorted(_MODEL_KEYS))}",
        )
    discover = _bool(entry, "discover", path, default=False)
    name = entry.get("name", "*" if discover else None)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("model entry needs a 'name'", path=path, line=entry.start_line)
    provider = entry.get("provider")
    if provider not in PROVIDERS:
        raise fail("provider", f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    if _GLOB_CHARS & set(name):
        if "discover" in entry and not discover:
            raise fail("name", f"{name!r} is a wildcard, which only a discover entry may use")
        discover = True
    for key in _EMBEDDED_ONLY:
        if key in entry:
            if key == "model":
                why = f"for {provider} the name is the model id"
            elif key == "context" and provider == "ollama":
                why = "an Ollama model's context is settings.num_ctx"
            elif key == "gguf":
                why = "benchtui serves a GGUF file itself only as provider: embedded"
            else:
                why = "a served model's server decides it"
            raise fail(key, f"only an embedded model has '{key}' ({why})")
    if discover and provider not in _DISCOVER_PROVIDERS:
        raise fail(
            "discover" if "discover" in entry else "name",
            f"model discovery lists GET /models of an {' or '.join(_DISCOVER_PROVIDERS)} server; "
            f"{provider} models are found without it",
        )
    edit_format = entry.get("edit_format", "diff")
    if edit_format not in EDIT_FORMATS:
        raise fail("edit_format", f"expected one of {', '.join(EDIT_FORMATS)}, got {edit_format!r}")
    pool_written = "endpoints" in entry or isinstance(entry.get("base_url"), list)
    if pool_written and discover:
        raise fail(
            "endpoints" if "endpoints" in entry else "base_url",
            "a discover entry lists the models of one server: give it one base_url",
        )
    base_url = entry.get("base_url", _DEFAULT_BASE_URLS.get(provider))
    if isinstance(base_url, list) or "endpoints" in entry:
        base_url = None  # a pool: its first endpoint's, once _pool has checked them
    if base_url is not None and (not isinstance(base_url, str) or "://" not in base_url):
        raise fail("base_url", f"expected a URL such as http://127.0.0.1:8080/v1, got {base_url!r}")
    settings = dict(default_settings)
    if "settings" in entry:
        settings.update(_settings(entry, path))
    pricing = _pricing(entry, path)
    categories = _categories(entry, path)

    available = _bool(entry, "enabled", path, default=True)
    reason = None if available else "disabled in the config"
    key_ref = entry.get("api_key")
    api_key = None
    if key_ref is not None:
        if not isinstance(key_ref, str):
            raise fail("api_key", "expected text, usually a reference such as ${OPENAI_API_KEY}")
        api_key, missing = expand_env(key_ref)
        if missing and available:
            available, reason = False, f"${{{missing[0]}}} unset"
        secrets.register(api_key)
    elif provider in _DEFAULT_BASE_URLS and base_url == _DEFAULT_BASE_URLS[provider] and available:
        # Only the vendors' own APIs insist on a key; a local server speaking their dialect may not.
        variable = "ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY"
        available, reason = False, f"no api_key (set api_key: ${{{variable}}})"
    concurrency = _positive_int(entry, "concurrency", path)
    pool: tuple[Endpoint, ...] = ()
    if pool_written:
        pool, missing_key = _pool(path, entry, concurrency, key_ref, api_key)
        # The first endpoint is the one the model's own fields describe (and its fingerprint names).
        base_url, concurrency, api_key, key_ref = (
            pool[0].base_url,
            pool[0].concurrency,
            pool[0].api_key,
            pool[0].api_key_ref,
        )
        if missing_key and available:
            available, reason = False, missing_key
    key = name.strip()
    if discover:
        # A template, expanded by discovery: its key only has to be unique and say what it is.
        key = f"{key} @ {base_url.rstrip('/') if isinstance(base_url, str) else provider}"
    return ModelSpec(
        key=key,
        name=name.strip(),
        provider=provider,
        display_name=str(entry.get("display_name") or name).strip(),
        base_url=base_url.rstrip("/") if isinstance(base_url, str) else None,
        api_key=api_key,
        api_key_ref=key_ref
        if isinstance(key_ref, str) and _ENV_REF.search(key_ref)
        else (None if key_ref is None else secrets.REDACTED),
        settings=MappingProxyType(settings),
        pricing=pricing,
        edit_format=edit_format,
        categories=categories,
        available=available,
        unavailable_reason=reason,
        concurrency=concurrency,
        source=DISCOVER_SOURCE if discover else "config",
        repair_tool_calls=_bool(entry, "repair_tool_calls", path, default=False),
        pool=pool if len(pool) > 1 else (),
    )


def _pool(
    path: Path, entry: LocatedMapping, concurrency: int | None, key_ref: str | None, api_key: str | None
) -> tuple[tuple[Endpoint, ...], str | None]:
    """The endpoints of an entry that several servers serve: ``base_url: [URL, ...]`` (each with the entry's
    ``concurrency`` and ``api_key``) or ``endpoints: [{base_url, concurrency, api_key}, ...]`` (what an item
    leaves out is the entry's). Returns them and, when an endpoint's key variable is unset, why the model
    cannot run."""

    def fail(key: str, message: str, where: LocatedMapping = entry) -> ConfigError:
        return ConfigError(f"'{key}': {message}", path=path, line=where.line_of(key))

    example = "http://127.0.0.1:8080/v1"
    if "endpoints" in entry:
        if "base_url" in entry:
            raise fail("endpoints", "give either base_url or endpoints (a list of {base_url, concurrency, api_key})")
        items = entry.get("endpoints")
        if not isinstance(items, list) or not items:
            raise fail("endpoints", "expected a list of {base_url, concurrency, api_key} mappings, one per server")
    else:
        urls = entry.get("base_url")
        if not urls:
            raise fail("base_url", f"expected a URL such as {example}, or a list of them, got an empty list")
        items = [LocatedMapping({"base_url": url}, {}, entry.line_of("base_url")) for url in urls]
    endpoints: list[Endpoint] = []
    missing_key: str | None = None
    seen: dict[str, int] = {}
    for number, item in enumerate(items, 1):
        if not isinstance(item, LocatedMapping):
            raise fail("endpoints", f"item {number}: expected a mapping such as {{base_url: {example}}}")
        unknown = sorted(set(item) - set(_ENDPOINT_KEYS))
        if unknown:
            raise fail(
                unknown[0],
                f"unknown endpoint key; {_guess(unknown[0], _ENDPOINT_KEYS)}"
                f"expected one of {', '.join(_ENDPOINT_KEYS)}",
                item,
            )
        url = item.get("base_url")
        if not isinstance(url, str) or "://" not in url:
            where = "base_url" if "base_url" in item else "endpoints"
            raise fail(where, f"endpoint {number}: expected a URL such as {example}, got {url!r}", item)
        url = url.strip().rstrip("/")
        if url in seen:
            raise fail("base_url", f"{url} is endpoint {seen[url]} already; list each server once", item)
        seen[url] = number
        own_ref = item.get("api_key", key_ref)
        own_key = api_key
        if "api_key" in item:
            if not isinstance(own_ref, str):
                raise fail("api_key", "expected text, usually a reference such as ${OPENAI_API_KEY}", item)
            own_key, missing = expand_env(own_ref)
            secrets.register(own_key)
            if missing and missing_key is None:
                missing_key = f"${{{missing[0]}}} unset (endpoint {number}, {url})"
        ref = own_ref if isinstance(own_ref, str) and _ENV_REF.search(own_ref) else None
        if own_ref is not None and ref is None:
            ref = secrets.REDACTED
        own_concurrency = _positive_int(item, "concurrency", path) if "concurrency" in item else concurrency
        endpoints.append(Endpoint(url, own_concurrency, own_key, ref))
    return tuple(endpoints), missing_key


def _gguf_models(path: Path, entries: list[LocatedMapping]) -> dict[str, tuple[str, int]]:
    """The models the entries give by path (``gguf: PATH``): model id -> (the file, its line).

    The model id is the entry's ``model``, else its ``name``; other entries may then run it by naming it
    in ``model:``. A relative path is relative to the config file's folder; ``~`` is the home folder."""
    found: dict[str, tuple[str, int]] = {}
    for entry in entries:
        if entry.get("provider") != "embedded" or "gguf" not in entry:
            continue
        line = entry.line_of("gguf")
        raw = entry.get("gguf")
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"'gguf': expected the path of a .gguf file, got {raw!r}", path=path, line=line)
        name = entry.get("name")
        model = entry.get("model", name)
        if not isinstance(model, str) or not model.strip():
            continue  # _build_embedded says what is wrong with the entry's name
        model = model.strip()
        key = "model" if "model" in entry else "name"
        if model in embedded_models.MODEL_NAMES:
            raise ConfigError(
                f"'{key}': {model!r} is a built-in embedded model; a gguf: entry names its own model "
                "(give it another name, or model: <a new id>)",
                path=path,
                line=entry.line_of(key),
            )
        file = Path(os.path.expanduser(raw.strip()))
        resolved = str(file if file.is_absolute() else (path.parent / file).absolute())
        other = found.setdefault(model, (resolved, line))
        if other[0] != resolved:
            raise ConfigError(
                f"'gguf': model {model!r} is {other[0]} on line {other[1]}, not {resolved}; one model id is one file",
                path=path,
                line=line,
            )
    return found


def _build_embedded(
    path: Path,
    entry: LocatedMapping,
    defaults: dict[str, Any],
    default_context: int,
    default_threads: int | None,
    gguf_models: dict[str, tuple[str, int]] | None = None,
) -> ModelSpec:
    """A ``provider: embedded`` entry: a contestant of an embedded model (see docs/EMBEDDED.md).

    ``name`` is its key; ``model`` the weights it runs (default: the built-in contestant of that name,
    else ``name`` itself): a built-in model, or one an entry gives by path (``gguf:``). Whatever it leaves
    out comes from the built-in contestant of the same name, else from the model's measured defaults
    (whole-file edits, its settings)."""
    gguf_models = gguf_models or {}

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"'{key}': {message}", path=path, line=entry.line_of(key))

    unknown = sorted(set(entry) - _MODEL_KEYS)
    if unknown:
        raise fail(
            unknown[0],
            f"unknown model key; {_guess(unknown[0], _MODEL_KEYS)}expected one of {', '.join(sorted(_MODEL_KEYS))}",
        )
    for key in _NOT_EMBEDDED:
        if key in entry:
            raise fail(
                key,
                "an embedded model is served by benchtui itself, on a loopback port of its own and "
                f"with no key: remove '{key}' (or use provider: openai for a server of your own)",
            )
    if "discover" in entry:
        raise fail(
            "discover",
            f"model discovery lists GET /models of an {' or '.join(_DISCOVER_PROVIDERS)} "
            "server; embedded models are found without it",
        )
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("model entry needs a 'name'", path=path, line=entry.start_line)
    key = name.strip()
    known = ", ".join((*embedded_models.MODEL_NAMES, *gguf_models))
    builtin = next((c for c in embedded_models.BUILTIN_CONTESTANTS if c.key == key), None)
    if "gguf" in entry:
        builtin = None  # a file of the user's own, whatever the entry is called
    model = entry.get("model", builtin.model if builtin else key)
    if model not in embedded_models.MODEL_NAMES and model not in gguf_models:
        if "model" in entry:
            raise fail("model", f"no embedded model {model!r}; expected one of {known}, or give its file with gguf:")
        raise fail(
            "name",
            f"no embedded model {key!r}: name one with 'model:' ({known}), use the name of one, "
            "or give a GGUF file with gguf: PATH",
        )
    gguf_file = gguf_models[model][0] if model in gguf_models else None
    edit_format = entry.get("edit_format", builtin.edit_format if builtin and builtin.model == model else "whole")
    if edit_format not in EDIT_FORMATS:
        raise fail("edit_format", f"expected one of {', '.join(EDIT_FORMATS)}, got {edit_format!r}")
    settings = {**embedded_models.default_settings(model), **defaults}
    if "settings" in entry:
        own = _settings(entry, path)
        if "num_ctx" in own:
            located = entry.get("settings")
            line = located.line_of("num_ctx") if isinstance(located, LocatedMapping) else entry.line_of("settings")
            raise ConfigError(
                "'num_ctx': an embedded model's context is its server's: set 'context:' on the entry instead",
                path=path,
                line=line,
            )
        settings.update(own)
    pricing = _pricing(entry, path)
    categories = _categories(entry, path)
    available = _bool(entry, "enabled", path, default=True)
    reason = None if available else "disabled in the config"
    if available and gguf_file is not None and not Path(gguf_file).is_file():
        line = gguf_models[model][1]
        where = "does not exist" if not Path(gguf_file).exists() else "is not a file"
        available, reason = False, f"gguf: {gguf_file} {where} ({path}:{line})"
    display = entry.get("display_name") or (builtin.display_name if builtin and builtin.model == model else key)
    threads = _positive_int(entry, "threads", path)
    return ModelSpec(
        key=key,
        name=model,
        provider="embedded",
        display_name=str(display).strip(),
        settings=MappingProxyType(settings),
        pricing=pricing,
        edit_format=edit_format,
        categories=categories,
        available=available,
        unavailable_reason=reason,
        concurrency=_positive_int(entry, "concurrency", path),
        source="config",
        context=_context(entry, path) or default_context,
        threads=threads if threads is not None else default_threads,
        gguf=gguf_file,
        repair_tool_calls=_bool(entry, "repair_tool_calls", path, default=False),
    )


_PRICING_RATES = ("input_per_mtok", "output_per_mtok")
# Optional: the prompt cache's rates (models.Pricing); without them a run that reads or writes the cache
# has no known cost, never one guessed at the full input rate.
_PRICING_CACHE_RATES = ("cached_input_per_mtok", "cache_write_per_mtok")


def _pricing(entry: LocatedMapping, path: Path) -> Pricing | None:
    if entry.get("pricing") is None:
        return None
    _mapping(entry, "pricing", path)
    raw = entry["pricing"]
    # The mapping's own lines when the loader kept them (an inline {..} mapping's keys share its line).
    where = raw if isinstance(raw, LocatedMapping) else None

    def fail(key: str | None, message: str) -> ConfigError:
        line = where.line_of(key) if where is not None and key is not None else entry.line_of("pricing")
        return ConfigError(f"'pricing': {message}", path=path, line=line)

    allowed = _PRICING_RATES + _PRICING_CACHE_RATES
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise fail(
            unknown[0], f"unknown key {unknown[0]!r}; {_guess(unknown[0], allowed)}expected {', '.join(allowed)}"
        )
    missing = [key for key in _PRICING_RATES if raw.get(key) is None]
    if missing:
        raise fail(None, "expected {input_per_mtok: number, output_per_mtok: number} (USD per million tokens)")
    rates: dict[str, float] = {}
    for key in allowed:
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise fail(key, f"{key}: expected a number >= 0 (USD per million tokens), got {value!r}")
        rates[key] = float(value)
    return Pricing(
        rates["input_per_mtok"],
        rates["output_per_mtok"],
        cached_input_per_mtok=rates.get("cached_input_per_mtok"),
        cache_write_per_mtok=rates.get("cache_write_per_mtok"),
    )


def _categories(entry: LocatedMapping, path: Path) -> tuple[str, ...]:
    value = entry.get("categories", entry.get("category", []))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(
            "'categories': expected a category name or a list of them", path=path, line=entry.line_of("categories")
        )
    return tuple(str(c) for c in value)


def _check_shared_server(
    path: Path, entry: LocatedMapping, spec: ModelSpec, servers: dict[str, dict[str, tuple[int, str, int]]]
) -> None:
    """Contestants of one embedded model share its one server: an entry that sets its context or
    threads sets them for all of them, and two entries that set different ones are an error."""
    server = servers.setdefault(spec.name, {})
    for key in ("context", "threads"):
        if key not in entry:
            continue
        value = spec.context if key == "context" else spec.threads
        if value is None:
            continue
        other = server.setdefault(key, (value, spec.key, entry.line_of(key)))
        if other[0] != value:
            raise ConfigError(
                f"'{key}': {spec.key} runs {spec.name} with {key} {value}, but {other[1]} (line {other[2]}) runs "
                f"it with {other[0]}; contestants of one embedded model share one server, so give them the same "
                f"{key} (or set it on one of them only)",
                path=path,
                line=entry.line_of(key),
            )


def _context(data: LocatedMapping, path: Path) -> int | None:
    value = data.get("context")
    if value is None:
        return None
    low = embedded_models.MIN_CONTEXT
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(
            f"'context': expected a whole number of tokens >= {low}, got {value!r}",
            path=path,
            line=data.line_of("context"),
        )
    return value


def _retry_policy(section: LocatedMapping, path: Path) -> RetryPolicy:
    """The ``retry:`` section: the one retry policy every provider uses (see docs/PROVIDERS.md)."""
    values: dict[str, Any] = {}
    for key, value in section.items():
        kind = _RETRY_KEYS.get(key)
        if kind is None:
            raise ConfigError(
                f"'{key}': unknown retry setting; {_guess(key, _RETRY_KEYS)}"
                f"expected one of {', '.join(sorted(_RETRY_KEYS))}",
                path=path,
                line=section.line_of(key),
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < 0
            or (kind is int and not isinstance(value, int))
        ):
            expected = "a whole number >= 0" if kind is int else "a number of seconds >= 0"
            raise ConfigError(f"'{key}': expected {expected}, got {value!r}", path=path, line=section.line_of(key))
        values[key] = kind(value)
    return RetryPolicy(**values)


def _section(data: LocatedMapping, key: str, path: Path) -> LocatedMapping:
    value = data.get(key)
    if value is None:
        return LocatedMapping({}, {}, data.line_of(key))
    if not isinstance(value, LocatedMapping):
        raise ConfigError(f"'{key}': expected a mapping", path=path, line=data.line_of(key))
    return value


# Generation settings benchtui knows how to pass on, with what each must be: a typo or a wrong type is
# a config error at load time, not a failed request (or a silently ignored option) hours later.
_SETTING_RULES: dict[str, tuple[str, float | None, float | None]] = {
    "temperature": ("number", 0, 2),
    "top_p": ("number", 0, 1),
    "top_k": ("int", 1, None),
    "max_tokens": ("int", 1, None),
    "max_completion_tokens": ("int", 1, None),
    "num_ctx": ("int", 1, None),
    "seed": ("int", None, None),
    "presence_penalty": ("number", -2, 2),
    "frequency_penalty": ("number", -2, 2),
    "repeat_penalty": ("number", 0, None),
    "stop": ("stop", None, None),
}


def _settings(data: LocatedMapping, path: Path) -> dict[str, Any]:
    """A ``settings:`` mapping, every key known and every value of the right type and range."""
    settings = _mapping(data, "settings", path)
    located = data.get("settings")
    line_of = located.line_of if isinstance(located, LocatedMapping) else (lambda key: data.line_of("settings"))
    for key, value in settings.items():
        rule = _SETTING_RULES.get(key)
        if rule is None:
            raise ConfigError(
                f"'{key}': unknown setting; {_guess(key, _SETTING_RULES)}"
                f"expected one of {', '.join(sorted(_SETTING_RULES))}",
                path=path,
                line=line_of(key),
            )
        kind, low, high = rule
        if kind == "stop":
            ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
            expected = "text or a list of texts"
        else:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            ok = numeric and (kind == "number" or isinstance(value, int))
            ok = ok and (low is None or value >= low) and (high is None or value <= high)
            if low is not None and high is not None:
                bounds = f" from {low:g} to {high:g}"
            else:
                bounds = f" of at least {low:g}" if low is not None else ""
            expected = ("a whole number" if kind == "int" else "a number") + bounds
        if not ok:
            raise ConfigError(f"'{key}': expected {expected}, got {value!r}", path=path, line=line_of(key))
    return settings


def _mapping(data: LocatedMapping, key: str, path: Path) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"'{key}': expected a mapping", path=path, line=data.line_of(key))
    return dict(value)


def _positive_int(data: LocatedMapping, key: str, path: Path) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"'{key}': expected a whole number >= 1, got {value!r}", path=path, line=data.line_of(key))
    return value


def _bool(data: LocatedMapping, key: str, path: Path, *, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"'{key}': expected true or false, got {value!r}", path=path, line=data.line_of(key))
    return value


# Options every assistant takes (engine/contestants/assistant.py reads them); each adapter adds its own
# (its module's OPTIONS).
_ASSISTANT_COMMON_OPTIONS = {
    "executable": "a program to run instead of the one benchtui installed",
    "extra_args": "more arguments, appended to its command line",
}


def _assistants(section: LocatedMapping, path: Path) -> MappingProxyType[str, MappingProxyType[str, Any]]:
    """``assistants: {NAME: {option: value}}``: names and options checked here, each error with its line."""
    if not section:  # the usual config: no adapter is loaded to check nothing
        return MappingProxyType({})
    from benchtui.engine.assistants import registry

    adapters = registry.adapters()
    found: dict[str, MappingProxyType[str, Any]] = {}
    for name, options in section.items():
        line = section.line_of(name)
        if name not in adapters:
            known = ", ".join(adapters) or "none"
            raise ConfigError(
                f"'assistants': unknown assistant {name!r}; {_guess(name, adapters)}expected one of {known}",
                path=path,
                line=line,
            )
        if options is None:
            options = LocatedMapping({}, {}, line)
        if not isinstance(options, LocatedMapping):
            raise ConfigError(f"'assistants.{name}': expected a mapping of options", path=path, line=line)
        allowed = {**_ASSISTANT_COMMON_OPTIONS, **dict(getattr(adapters[name], "options", {}) or {})}
        for key, value in options.items():
            where = options.line_of(key)
            if key not in allowed:
                raise ConfigError(
                    f"'assistants.{name}.{key}': unknown option; {_guess(key, allowed)}"
                    f"expected one of {', '.join(sorted(allowed))}",
                    path=path,
                    line=where,
                )
            if key == "extra_args" and not (isinstance(value, list) and all(isinstance(a, str) for a in value)):
                raise ConfigError(f"'assistants.{name}.extra_args': expected a list of strings", path=path, line=where)
            if key == "executable" and not (isinstance(value, str) and value.strip()):
                raise ConfigError(f"'assistants.{name}.executable': expected a path", path=path, line=where)
            if isinstance(value, LocatedMapping):
                raise ConfigError(f"'assistants.{name}.{key}': expected a value, not a mapping", path=path, line=where)
        found[name] = MappingProxyType(dict(options))
    return MappingProxyType(found)
