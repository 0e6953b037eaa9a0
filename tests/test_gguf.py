"""The GGUF header reader: what benchtui learns of a model file (``gguf: PATH``) without loading it.

Small files written here in the documented layout cover every value type, a vocabulary-sized string
array, truncation at every point and garbage; the installed SmolLM2 (and Qwen parts, when installed)
check the reader against real files and the built-in catalogue's figures against their headers.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any

import pytest

from benchtui.engine import embedded
from benchtui.engine.gguf import GGUFError, format_parameters, read_gguf

_TYPES = {"u8": (0, "<B"), "i32": (5, "<i"), "u32": (4, "<I"), "f32": (6, "<f"), "bool": (7, "<?"), "u64": (10, "<Q")}
_TYPES |= {"i8": (1, "<b"), "u16": (2, "<H"), "i16": (3, "<h"), "i64": (11, "<q"), "f64": (12, "<d")}


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def _value(value: Any) -> bytes:
    """A typed value: ("u32", 7), "text", or ("array", type, items)."""
    if isinstance(value, str):
        return struct.pack("<I", 8) + _string(value)
    kind = value[0]
    if kind == "array":
        item_kind, items = value[1], value[2]
        if item_kind == "str":
            return struct.pack("<IIQ", 9, 8, len(items)) + b"".join(_string(i) for i in items)
        code, fmt = _TYPES[item_kind]
        return struct.pack("<IIQ", 9, code, len(items)) + b"".join(struct.pack(fmt, i) for i in items)
    code, fmt = _TYPES[kind]
    return struct.pack("<I", code) + struct.pack(fmt, value[1])


def write_gguf(
    path: Path,
    metadata: dict[str, Any],
    tensors: list[tuple[str, tuple[int, ...]]] = (),  # type: ignore[assignment]
    *,
    version: int = 3,
    data_bytes: int = 64,
) -> bytes:
    """A GGUF file in the documented layout (header, key-values, tensor records, aligned data)."""
    body = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    for key, value in metadata.items():
        body += _string(key) + _value(value)
    offset = 0
    for name, dims in tensors:
        body += _string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        body += struct.pack("<IQ", 0, offset)
        offset += 4 * 1
    body += b"\0" * (-len(body) % 32) + b"\x01" * data_bytes
    path.write_bytes(body)
    return body


TEMPLATE_WITH_TOOLS = (
    "{%- if tools %}{{ tools | tojson }}{%- endif %}{% for m in messages %}{{ m.content }}{% endfor %}"
)
LLAMA_LIKE: dict[str, Any] = {
    "general.architecture": "llama",
    "general.name": "Tiny Test",
    "general.file_type": ("u32", 15),
    "llama.block_count": ("u32", 30),
    "llama.context_length": ("u32", 8192),
    "llama.embedding_length": ("u32", 576),
    "llama.attention.head_count": ("u32", 9),
    "llama.attention.head_count_kv": ("u32", 3),
    "llama.rope.freq_base": ("f32", 10000.0),
    "tokenizer.ggml.tokens": ("array", "str", [f"tok{i}" for i in range(5000)]),
    "tokenizer.ggml.scores": ("array", "f32", [0.5] * 5000),
    "tokenizer.chat_template": TEMPLATE_WITH_TOOLS,
}


def test_the_header_says_architecture_quantization_context_template_and_size(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    write_gguf(path, LLAMA_LIKE, [("token_embd.weight", (576, 5000)), ("blk.0.attn_q.weight", (576, 576))])
    info = read_gguf(path)
    assert (info.version, info.architecture, info.name) == (3, "llama", "Tiny Test")
    assert (info.file_type, info.quantization) == (15, "Q4_K_M")
    assert info.context_length == 8192
    assert info.tensor_count == 2 and info.parameter_count == 576 * 5000 + 576 * 576
    assert info.parameter_size == "3.2M"  # no general.size_label: from the tensor records
    assert info.chat_template == TEMPLATE_WITH_TOOLS and info.supports_tools is True
    # 30 layers x 3 KV heads x (64 + 64) x 2 bytes, as SmolLM2's shape gives
    assert info.kv_bytes_per_token == 30 * 3 * 128 * 2
    # arrays (the vocabulary) are skipped, not kept
    assert "tokenizer.ggml.tokens" not in info.metadata and info.metadata["llama.rope.freq_base"] == 10000.0
    assert info.header_bytes < info.file_size


def test_every_value_type_is_read_and_a_size_label_wins(tmp_path: Path) -> None:
    values: dict[str, Any] = {f"test.{kind}": (kind, 1) for kind in _TYPES if kind not in ("f32", "f64", "bool")}
    values |= {"test.f64": ("f64", 2.5), "test.bool": ("bool", True), "general.size_label": "135M"}
    values["test.nested"] = ("array", "u16", [1, 2, 3])
    path = tmp_path / "types.gguf"
    write_gguf(path, values, version=2)
    info = read_gguf(path)
    assert info.version == 2
    assert {k: v for k, v in info.metadata.items() if k.startswith("test.")} == {
        **{f"test.{kind}": 1 for kind in _TYPES if kind not in ("f32", "f64", "bool")},
        "test.f64": 2.5,
        "test.bool": True,
    }
    assert info.parameter_size == "135M"
    # Nothing the file does not say is guessed.
    assert (info.architecture, info.quantization, info.context_length, info.kv_bytes_per_token) == (None,) * 4
    assert info.supports_tools is None  # no chat template at all


def test_parameter_counts_round_the_way_model_names_do() -> None:
    assert format_parameters(1_543_714_304) == "1.5B" and format_parameters(134_515_008) == "135M"


def test_a_template_that_names_no_tools_is_no_tool_calls(tmp_path: Path) -> None:
    path = tmp_path / "plain.gguf"
    write_gguf(path, {"tokenizer.chat_template": "{% for m in messages %}{{ m.role }}: {{ m.content }}{% endfor %}"})
    assert read_gguf(path).supports_tools is False


def test_a_file_cut_anywhere_inside_its_header_is_refused_with_where(tmp_path: Path) -> None:
    whole = write_gguf(tmp_path / "whole.gguf", LLAMA_LIKE, [("w", (4, 4))], data_bytes=0)
    header_end = read_gguf(tmp_path / "whole.gguf").header_bytes
    cut = tmp_path / "cut.gguf"
    # Every cut point in the small fields, and a sample through the vocabulary.
    points = sorted({*range(0, 200), *range(200, header_end, 997), header_end - 1})
    for point in points:
        cut.write_bytes(whole[:point])
        with pytest.raises(GGUFError) as caught:
            read_gguf(cut)
        message = str(caught.value)
        assert "truncated" in message or ("not a GGUF file" in message and point < 4), (point, message)
        assert str(cut) in message


def test_garbage_missing_and_unsupported_files_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(GGUFError, match="is not a GGUF file"):
        read_gguf(garbage)
    with pytest.raises(GGUFError, match="does not exist"):
        read_gguf(tmp_path / "nope.gguf")
    with pytest.raises(GGUFError, match="cannot read"):
        read_gguf(tmp_path)  # a folder
    old = tmp_path / "v1.gguf"
    old.write_bytes(b"GGUF" + struct.pack("<IQQ", 1, 0, 0))
    with pytest.raises(GGUFError, match="version 1"):
        read_gguf(old)
    # A magic followed by random counts and lengths: refused before any of them is believed.
    liar = tmp_path / "liar.gguf"
    liar.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 5, 3) + struct.pack("<Q", 2**62) + b"x" * 100)
    with pytest.raises(GGUFError, match="truncated"):
        read_gguf(liar)
    liar.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 2**40, 2**40) + b"x" * 100)
    with pytest.raises(GGUFError, match="not a readable GGUF"):
        read_gguf(liar)
    bad_type = tmp_path / "type.gguf"
    bad_type.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string("k") + struct.pack("<I", 99) + b"\0" * 64)
    with pytest.raises(GGUFError, match="unknown value type 99"):
        read_gguf(bad_type)


def test_only_the_header_is_read_however_large_the_weights(tmp_path: Path) -> None:
    """A 4 GiB file (sparse: its weights take no disk) is described as fast as a small one."""
    path = tmp_path / "big.gguf"
    write_gguf(path, LLAMA_LIKE, [("w", (65536, 16384))])
    with path.open("r+b") as f:
        f.truncate(4 * 1024**3)
    started = time.perf_counter()
    info = read_gguf(path)
    assert time.perf_counter() - started < 2.0
    assert info.file_size == 4 * 1024**3 and info.header_bytes < 200_000


def _installed_gguf(name: str) -> Path:
    spec = next(s for s in embedded._SPECS if s.name == name)
    if spec.parts:
        parts, missing = embedded._part_paths(spec)
        if missing:
            pytest.skip(f"{name} is not installed ({spec.install_hint})")
        return parts[0]  # the header is in the first part
    model = next(m for m in embedded.known_models() if m.name == name)
    if model.gguf_path is None:
        pytest.skip(f"{name} is not installed: {model.unavailable_reason}")
    return model.gguf_path


@pytest.mark.parametrize("name", embedded.MODEL_NAMES)
def test_the_catalogue_says_what_each_built_in_models_header_says(name: str) -> None:
    """The built-in models' figures are kept in the code (listing reads no file): here they meet the files."""
    info = read_gguf(_installed_gguf(name))
    model = next(m for m in embedded.known_models() if m.name == name)
    assert (model.family, model.quantization, model.parameter_size) == (
        info.architecture,
        info.quantization,
        info.parameter_size,
    )
    assert (model.context_length, model.supports_tools, model.kv_bytes_per_token) == (
        info.context_length,
        info.supports_tools,
        info.kv_bytes_per_token,
    )
