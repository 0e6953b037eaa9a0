"""YAML loading that remembers where each key was written, for errors that name the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from benchtui.engine.errors import InputError


class LocatedMapping(dict[str, Any]):
    """A dict loaded from YAML that also knows the 1-based line of each of its keys."""

    def __init__(self, data: dict[str, Any], lines: dict[str, int], start_line: int) -> None:
        super().__init__(data)
        self.lines = lines
        self.start_line = start_line

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.start_line)


def load_yaml(text: str, *, path: Path, first_line: int = 1, error: type[InputError] = InputError) -> Any:
    """Parse YAML, turning every mapping into a LocatedMapping.

    Args:
        text: the YAML source.
        path: the file it came from (for messages).
        first_line: the file line where ``text`` starts (front matter starts after ``---``).
        error: the InputError subclass to raise.
    """
    offset = first_line - 1
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 + offset if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"invalid YAML: {problem}", path=path, line=line) from None
    if node is None:
        return None
    return _construct(node, offset, path, error)


def _construct(node: yaml.Node, offset: int, path: Path, error: type[InputError]) -> Any:
    if isinstance(node, yaml.MappingNode):
        data: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, offset, path, error)
            if not isinstance(key, str):
                raise error(f"keys must be text, got {key!r}", path=path, line=key_node.start_mark.line + 1 + offset)
            if key in data:
                raise error(
                    f"'{key}': duplicate key (first set on line {lines[key]})",
                    path=path,
                    line=key_node.start_mark.line + 1 + offset,
                )
            data[key] = _construct(value_node, offset, path, error)
            lines[key] = key_node.start_mark.line + 1 + offset
        return LocatedMapping(data, lines, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.SequenceNode):
        return [_construct(child, offset, path, error) for child in node.value]
    constructor = yaml.SafeLoader(stream="")
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise error(f"invalid value: {exc}", path=path, line=node.start_mark.line + 1 + offset) from None
