"""Read what a GGUF model file says about itself, from its header alone.

benchtui serves GGUF files the user already has (``gguf: PATH`` in models_config.yaml) and must say what
each one is before it loads it: its architecture, size, quantization, trained context length and chat
template, and whether that template knows tool calls (agentic assistants need them). llama.cpp learns all
of this from the file's header; so does this module, without llama.cpp and without reading the weights.

The format (GGUF versions 2 and 3, little-endian; ggml's docs/gguf.md): the magic ``GGUF``, a uint32
version, uint64 tensor and key-value counts, the key-value pairs (a uint64-length UTF-8 key, a uint32 value
type, the value), then one record per tensor (name, dimensions, type, offset). Only those sections are read,
which for a 1 GB model is a few MB (mostly the tokenizer's vocabulary, skipped without being kept); the
tensor records give the parameter count when the file does not state its size. Every length is checked
against the file's size and against bounds, so a truncated or garbage file is a clear :class:`GGUFError`,
never an attempt to allocate what a random uint64 says.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

__all__ = ["FILE_TYPES", "GGUFError", "GGUFInfo", "read_gguf"]

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)

# llama.cpp's llama_ftype (general.file_type): the quantization the file was made with.
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    4: "Q4_1_SOME_F16",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}

# Value types: fixed-size ones by struct format; 8 is a string, 9 an array.
_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
# Bounds that no real model reaches but a garbage uint64 would: checked before anything is allocated.
_MAX_KV = 100_000
_MAX_TENSORS = 1_000_000
_MAX_DIMS = 8
_MAX_KEY = 65_536
_MAX_KEPT_STRING = 1 << 20  # a chat template is a few KB; longer strings are skipped, not kept
_MAX_ARRAY = 50_000_000
# A chat template that handles tool calls names the tools it is given (`tools` in Jinja), as
# Qwen2.5's, Llama 3.1's and Hermes-style templates do.
_TOOLS_IN_TEMPLATE = re.compile(r"\btools\b")


class GGUFError(ValueError):
    """The file is not a GGUF file benchtui can read (missing, truncated, garbage, unsupported version)."""


@dataclass(frozen=True)
class GGUFInfo:
    """What a GGUF file's header says. Figures the file does not give are None, never guessed."""

    path: Path
    version: int
    file_size: int
    tensor_count: int
    parameter_count: int
    """Weights in all tensors (the product of each tensor's dimensions), from the tensor records."""
    metadata: MappingProxyType[str, Any] = field(repr=False)
    """Every scalar and string value (strings over 1 MiB and arrays are left out)."""
    header_bytes: int
    """Bytes read: the key-value section and the tensor records, not the weights."""

    def _get(self, key: str, kind: type | tuple[type, ...]) -> Any:
        value = self.metadata.get(key)
        return value if isinstance(value, kind) and not isinstance(value, bool) else None

    @property
    def architecture(self) -> str | None:
        arch: str | None = self._get("general.architecture", str)
        return arch

    @property
    def name(self) -> str | None:
        name: str | None = self._get("general.name", str)
        return name

    def _arch_int(self, key: str) -> int | None:
        if self.architecture is None:
            return None
        value: int | None = self._get(f"{self.architecture}.{key}", int)
        return value

    @property
    def file_type(self) -> int | None:
        value: int | None = self._get("general.file_type", int)
        return value

    @property
    def quantization(self) -> str | None:
        """The file type's name (``Q4_K_M``), ``file type N`` for one this table lacks, None if unstated."""
        if self.file_type is None:
            return None
        return FILE_TYPES.get(self.file_type, f"file type {self.file_type}")

    @property
    def parameter_size(self) -> str:
        """``general.size_label`` when the file has one (``135M``), else the count rounded (``1.5B``)."""
        label = self._get("general.size_label", str)
        if label:
            return str(label)
        return format_parameters(self.parameter_count)

    @property
    def context_length(self) -> int | None:
        """The context the model was trained for (``<arch>.context_length``)."""
        return self._arch_int("context_length")

    @property
    def chat_template(self) -> str | None:
        template: str | None = self._get("tokenizer.chat_template", str)
        return template

    @property
    def supports_tools(self) -> bool | None:
        """Whether the chat template handles tool calls (it references ``tools``); None without a template."""
        template = self.chat_template
        if template is None:
            return None
        return bool(_TOOLS_IN_TEMPLATE.search(template))

    @property
    def kv_bytes_per_token(self) -> int | None:
        """The KV cache one token of context takes with llama.cpp's default f16 cache, or None when the
        header lacks the attention shape. Layers x (key + value width of the KV heads) x 2 bytes."""
        layers = self._arch_int("block_count")
        heads = self._arch_int("attention.head_count")
        kv_heads = self._arch_int("attention.head_count_kv") or heads
        width = self._arch_int("embedding_length")
        if not layers or not heads or not kv_heads or not width:
            return None
        key_len = self._arch_int("attention.key_length") or width // heads
        value_len = self._arch_int("attention.value_length") or width // heads
        return layers * kv_heads * (key_len + value_len) * 2


def format_parameters(count: int) -> str:
    """``134515008`` -> ``135M``, ``1543714304`` -> ``1.5B`` (the way model names round)."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= scale:
            value = count / scale
            return f"{value:.1f}".rstrip("0").rstrip(".") + unit if value < 10 else f"{value:.0f}{unit}"
    return str(count)


class _Reader:
    """Reads the header sequentially from a growing in-memory window (the header is a few MB at most;
    per-field file reads made the 150k-entry vocabulary of a Qwen file take 1.7 s instead of 0.1 s), and
    refuses any length that runs past the end of the file."""

    _CHUNK = 1 << 20

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.size = size
        self.buf = b""
        self.base = 0  # file offset of buf[0]
        self.off = 0  # read position inside buf

    @property
    def pos(self) -> int:
        return self.base + self.off

    def _need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GGUFError(f"truncated: {what} at byte {self.pos} runs past the end of the file ({self.size} bytes)")
        if self.off + n <= len(self.buf):
            return
        rest = self.buf[self.off :]
        more = self.stream.read(max(n - len(rest), self._CHUNK))
        self.base, self.buf, self.off = self.pos, rest + more, 0
        if len(self.buf) < n:
            raise GGUFError(f"truncated: {what} at byte {self.pos} could not be read")

    def take(self, n: int, what: str) -> bytes:
        self._need(n, what)
        data = self.buf[self.off : self.off + n]
        self.off += n
        return data

    def skip(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GGUFError(f"truncated: {what} at byte {self.pos} runs past the end of the file ({self.size} bytes)")
        if self.off + n <= len(self.buf):
            self.off += n
        else:
            target = self.pos + n
            self.stream.seek(target)
            self.base, self.buf, self.off = target, b"", 0

    def scalar(self, fmt: str, what: str) -> Any:
        size = struct.calcsize(fmt)
        self._need(size, what)
        value = struct.unpack_from(fmt, self.buf, self.off)[0]
        self.off += size
        return value

    def u32(self, what: str) -> int:
        value: int = self.scalar("<I", what)
        return value

    def u64(self, what: str) -> int:
        value: int = self.scalar("<Q", what)
        return value

    def string(self, what: str, *, keep: int = _MAX_KEPT_STRING) -> str | None:
        """A length-prefixed UTF-8 string; None (and skipped) when longer than ``keep`` bytes."""
        length = self.u64(f"the length of {what}")
        if length > keep:
            self.skip(length, what)
            return None
        raw = self.take(length, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GGUFError(f"{what} at byte {self.pos - length} is not UTF-8 text") from None

    def skip_strings(self, count: int, what: str) -> None:
        """Skip ``count`` length-prefixed strings (a vocabulary) without decoding them.

        The hot loop of a header (150k entries for Qwen): it walks the window with locals and calls
        :meth:`_need` only when an entry crosses the window's end."""
        unpack = struct.Struct("<Q").unpack_from
        left = count
        while left:
            buf, off, end = self.buf, self.off, len(self.buf)
            while left and off + 8 <= end:
                length = unpack(buf, off)[0]
                if off + 8 + length > end:
                    break
                off += 8 + length
                left -= 1
            self.off = off
            if left:
                self._need(8, f"an element's length in {what}")
                length = unpack(self.buf, self.off)[0]
                self.off += 8
                self.skip(length, what)
                left -= 1

    def value(self, kind: int, what: str, *, depth: int = 0) -> Any:
        """One value of type ``kind``; arrays are skipped (returned as None): no key benchtui reads is one."""
        fmt = _SCALARS.get(kind)
        if fmt is not None:
            return self.scalar(fmt, what)
        if kind == _STRING:
            return self.string(what)
        if kind == _ARRAY and depth < 4:
            item = self.u32(f"the element type of {what}")
            count = self.u64(f"the length of {what}")
            if count > _MAX_ARRAY:
                raise GGUFError(f"{what} claims {count} elements: not a GGUF file benchtui can read")
            item_fmt = _SCALARS.get(item)
            if item_fmt is not None:
                self.skip(count * struct.calcsize(item_fmt), what)
            elif item == _STRING:
                self.skip_strings(count, what)
            else:
                for _ in range(count):
                    self.value(item, what, depth=depth + 1)
            return None
        raise GGUFError(f"{what} has unknown value type {kind} at byte {self.pos - 4}")


def read_gguf(path: Path) -> GGUFInfo:
    """Read ``path``'s GGUF header (key-value pairs and tensor records), never its weights.

    Raises:
        GGUFError: the file cannot be opened, is not GGUF, is of an unsupported version, or ends (or
            turns to garbage) inside its header. The message says which, and where.
    """
    try:
        size = path.stat().st_size
        stream = path.open("rb")
    except FileNotFoundError:
        raise GGUFError(f"{path} does not exist") from None
    except OSError as exc:
        raise GGUFError(f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        reader = _Reader(stream, size)
        if size < 24:
            head = stream.read(4)
            if head != MAGIC:
                raise GGUFError(f"{path} is not a GGUF file ({size} bytes, no GGUF magic)")
            raise GGUFError(f"{path} is truncated: {size} bytes, shorter than a GGUF header")
        magic = reader.take(4, "the magic")
        if magic != MAGIC:
            raise GGUFError(f"{path} is not a GGUF file (it starts with {magic!r}, not b'GGUF')")
        version = reader.u32("the version")
        if version not in SUPPORTED_VERSIONS:
            raise GGUFError(f"{path} is GGUF version {version}; benchtui reads versions 2 and 3")
        tensor_count = reader.u64("the tensor count")
        kv_count = reader.u64("the key-value count")
        if kv_count > _MAX_KV or tensor_count > _MAX_TENSORS:
            raise GGUFError(f"{path}: header claims {kv_count} keys and {tensor_count} tensors: not a readable GGUF")
        try:
            metadata: dict[str, Any] = {}
            for index in range(kv_count):
                key = reader.string(f"key {index}", keep=_MAX_KEY)
                if key is None:
                    raise GGUFError(f"key {index} is longer than {_MAX_KEY} bytes")
                kind = reader.u32(f"the type of {key}")
                value = reader.value(kind, key)
                if value is not None:
                    metadata[key] = value
            parameters = 0
            for index in range(tensor_count):
                reader.string(f"tensor {index}'s name", keep=_MAX_KEY)
                dims = reader.u32(f"tensor {index}'s dimension count")
                if dims > _MAX_DIMS:
                    raise GGUFError(f"tensor {index} claims {dims} dimensions")
                count = 1
                for _ in range(dims):
                    count *= reader.u64(f"tensor {index}'s dimensions")
                reader.skip(12, f"tensor {index}'s type and offset")
                parameters += count
        except GGUFError as exc:
            raise GGUFError(f"{path}: {exc}") from None
        return GGUFInfo(
            path=path,
            version=version,
            file_size=size,
            tensor_count=tensor_count,
            parameter_count=parameters,
            metadata=MappingProxyType(metadata),
            header_bytes=reader.pos,
        )
