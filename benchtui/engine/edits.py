"""Edit blocks in a model's reply: parsed leniently, applied strictly inside the workspace.

Two formats (design §5a): ``diff`` (a path line, then fenced SEARCH/REPLACE blocks) and ``whole`` (a path
line, then a fenced block with the file's full new content). Small models drift from both, so the
parser accepts the path as a bare line just inside the fence or in the fence's info string, a missing
fence or closing marker, trailing prose, CRLF, and SEARCH text whose indentation differs from the file.
A path differing from a workspace file only in case is that file.

It never takes a path from a comment inside the code (``# Proverb.py`` as a block's first line once
created a second file beside ``proverb.py``), and it never applies a block the reply ends inside: a
fence that never closes, or a SEARCH/REPLACE block whose end never came, is a reply cut off by the
token limit, and writing it would wipe the rest of the file. Such a block is reported, not applied.

It is strict about where files go: absolute paths, ``..``, NUL, overlong names and symlinks that lead
outside the workspace are refused before anything is written.

Over ~400 lines because parsing and applying share the block types and the path rules; the lenient forms
are the bulk, each a few lines with the reply that taught it.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from benchtui.engine import prompts

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\b.*$", re.IGNORECASE)
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\b.*$", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_SEARCH_LABEL = re.compile(r"^\W*SEARCH\W*$", re.IGNORECASE)
_REPLACE_LABEL = re.compile(r"^\W*REPLACE\W*$", re.IGNORECASE)
_DEFINITION = re.compile(r"^(\s*)(?:async\s+def|def|class)\s+(\w+)")
_EXTENSIONS = (
    "py",
    "pyi",
    "js",
    "mjs",
    "cjs",
    "ts",
    "tsx",
    "jsx",
    "json",
    "md",
    "txt",
    "yaml",
    "yml",
    "toml",
    "cfg",
    "ini",
    "sh",
    "bash",
    "html",
    "css",
    "c",
    "h",
    "cpp",
    "hpp",
    "rs",
    "go",
    "java",
    "rb",
    "sql",
    "csv",
    "env",
    "lock",
)
_PATH_LIKE = re.compile(r"^[\w.\-/]+\.(?:" + "|".join(_EXTENSIONS) + r")$")
_PATH_DECORATION = re.compile(r"^(?:#+|//|--|\*+|>|-)?\s*(?:(?:file(?:name)?|path)\s*:\s*)?", re.IGNORECASE)
MAX_PATH_LENGTH = 1024
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class SearchReplace:
    path: str | None
    search: str
    replace: str
    # False when the reply ended inside the block (cut off): it is reported, never applied.
    complete: bool = True


@dataclass(frozen=True)
class WholeFile:
    path: str | None
    content: str
    # False when the model was asked for SEARCH/REPLACE blocks: the block may be a fragment of the file.
    trusted: bool = True
    # False when the reply ended before the block's closing fence (cut off): reported, never applied.
    complete: bool = True


Edit = SearchReplace | WholeFile


@dataclass
class ApplyReport:
    """What happened to one reply's edits."""

    parsed: int = 0
    applied: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    changed_nothing: bool = False
    """Edits applied, yet every file is byte for byte as before (a model echoing the files back)."""

    @property
    def malformed(self) -> bool:
        """No applicable edit: nothing parseable, or a block that did not apply."""
        return self.parsed == 0 or bool(self.failures)


class PathRejected(ValueError):
    """An edit path that would write outside the workspace or is not a sane file name."""


# Parsing


def _clean_path(line: str, known: set[str], *, bare: bool = False) -> str | None:
    """The file path a line names, or None. Known workspace files win over the generic pattern.

    ``bare``: the line is inside a fence, where only the path alone counts; ``# x.py`` or ``// x.js``
    there is a comment in the code, not a label.
    """
    candidate = line.strip()
    if not candidate or len(candidate) > MAX_PATH_LENGTH:
        return None
    if not bare:
        candidate = _PATH_DECORATION.sub("", candidate).strip().strip("`*\"'").rstrip(":").strip()
    candidate = candidate.removeprefix("./")
    if not candidate or " " in candidate:
        return None
    if candidate in known:
        return candidate
    # A model that writes Proverb.py for proverb.py means that file, not a new one beside it.
    folded = [k for k in known if k.casefold() == candidate.casefold()]
    if len(folded) == 1:
        return folded[0]
    if _PATH_LIKE.match(candidate):
        return candidate
    return None


def parse_edits(text: str, edit_format: str, known_files: set[str]) -> list[Edit]:
    """All edits in a reply, in order. ``known_files`` are workspace paths (POSIX, relative)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = _parse_search_replace(text, known_files)
    if blocks:
        return list(blocks)
    return list(_parse_whole(text, known_files, trusted=edit_format == "whole"))


def _parse_search_replace(text: str, known: set[str]) -> list[SearchReplace]:
    lines = text.split("\n")
    edits: list[SearchReplace] = []
    current: str | None = None
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _SEARCH.match(line):
            search, replace, i, ending = _read_block(lines, i + 1)
            edits.append(SearchReplace(current, search, replace, complete=ending != "end"))
            fenced = fenced and ending != "fence"
            continue
        if _SEARCH_LABEL.match(line):
            labelled = _read_labelled(lines, i + 1)
            if labelled is not None:
                search, replace, i, complete = labelled
                edits.append(SearchReplace(current, search, replace, complete=complete))
                continue
        fence = _FENCE.match(line)
        if fence:
            info = fence.group(2).strip()
            fenced = bool(info) or not fenced
            for word in info.split():
                path = _clean_path(word, known)
                if path:
                    current = path
        else:
            path = _clean_path(line, known, bare=fenced)
            if path:
                current = path
        i += 1
    return edits


def _read_block(lines: list[str], start: int) -> tuple[str, str, int, str]:
    """Read SEARCH text up to the divider, REPLACE text up to its marker (or the closing fence).

    The last item says how the block ended: ``"marker"``, ``"fence"``, ``"next"`` (another SEARCH
    began) or ``"end"``: the reply ran out inside the block, so it was cut off."""
    search: list[str] = []
    replace: list[str] = []
    target = search
    i = start
    while i < len(lines):
        line = lines[i]
        if target is search and _DIVIDER.match(line):
            target = replace
        elif _REPLACE.match(line):
            return "\n".join(search), "\n".join(replace), i + 1, "marker"
        elif _SEARCH.match(line):
            return "\n".join(search), "\n".join(replace), i, "next"
        elif target is replace and _is_closing_fence(line):
            return "\n".join(search), "\n".join(replace), i + 1, "fence"
        else:
            target.append(line)
        i += 1
    return "\n".join(search), "\n".join(replace), i, "end"


def _fenced_after(lines: list[str], start: int) -> tuple[list[str], int] | None:
    """The content of the fence opening on the next non-blank line after ``start``, and the index after it
    (past the end of ``lines`` when the fence never closed)."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not _FENCE.match(lines[i]):
        return None
    body: list[str] = []
    i += 1
    while i < len(lines) and not _is_closing_fence(lines[i]):
        body.append(lines[i])
        i += 1
    return body, i + 1


def _read_labelled(lines: list[str], start: int) -> tuple[str, str, int, bool] | None:
    """Drift seen in small models: a bare 'SEARCH' line and a fence, then 'REPLACE' and a fence."""
    search = _fenced_after(lines, start)
    if search is None or search[1] > len(lines):
        return None
    body, i = search
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not _REPLACE_LABEL.match(lines[i]):
        return None
    replace = _fenced_after(lines, i + 1)
    if replace is None:
        return None
    return "\n".join(body), "\n".join(replace[0]), replace[1], replace[1] <= len(lines)


def _is_closing_fence(line: str) -> bool:
    fence = _FENCE.match(line)
    return fence is not None and not fence.group(2).strip()


def _parse_whole(text: str, known: set[str], *, trusted: bool) -> list[WholeFile]:
    """Fenced blocks as whole files. ``trusted``: the model was asked for whole files (``whole`` format);
    otherwise a block is format drift and may turn out to be a fragment (see apply_edits)."""
    lines = text.split("\n")
    edits: list[WholeFile] = []
    last_path: str | None = None
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            path = _clean_path(lines[i], known)
            if path:
                last_path = path
            elif lines[i].strip():
                last_path = last_path if _looks_like_label(lines[i]) else None
            i += 1
            continue
        marker = fence.group(1)
        path = next((p for p in (_clean_path(w, known) for w in fence.group(2).split()) if p), None)
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(marker[:3]):
            body.append(lines[i])
            i += 1
        complete = i < len(lines)
        i += 1
        if path is None and body:
            inner = _clean_path(body[0], known, bare=True)
            if inner:
                path, body = inner, body[1:]
        path = path or last_path
        last_path = None
        content = "\n".join(body)
        if not content.strip():
            continue
        edits.append(WholeFile(path, content + "\n" if not content.endswith("\n") else content, trusted, complete))
    return edits


def _looks_like_label(line: str) -> bool:
    """Prose such as 'Here is the fix:' between a path line and its fence keeps the path."""
    return line.rstrip().endswith(":") and len(line) < 80


# Applying


def safe_target(root: Path, relative: str) -> Path:
    """The absolute path for a workspace-relative edit path, or PathRejected."""
    if "\0" in relative:
        raise PathRejected(prompts.PATH_REASONS["nul"])
    if len(relative) > MAX_PATH_LENGTH or any(len(part) > MAX_NAME_LENGTH for part in relative.split("/")):
        raise PathRejected(prompts.PATH_REASONS["too_long"])
    if relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative) or relative.startswith("~"):
        raise PathRejected(prompts.PATH_REASONS["absolute"])
    parts = relative.replace("\\", "/").split("/")
    if ".." in parts:
        raise PathRejected(prompts.PATH_REASONS["parent"])
    if not relative.strip() or relative.endswith("/"):
        raise PathRejected(prompts.PATH_REASONS["no_file"])
    root = root.resolve()
    target = root.joinpath(*[p for p in parts if p not in ("", ".")])
    probe = root
    for part in target.relative_to(root).parts:
        probe = probe / part
        if probe.is_symlink():
            raise PathRejected(prompts.PATH_REASONS["symlink"])
    if not target.resolve().is_relative_to(root):
        raise PathRejected(prompts.PATH_REASONS["outside"])
    return target


def apply_edits(root: Path, edits: list[Edit], known_files: set[str]) -> ApplyReport:
    """Apply edits in order; each failure is described for the model's next prompt.

    Fenced blocks without a path are matched to a file when they are that file (mostly the same text)
    or when they hold whole definitions that exist in exactly one file; blocks that match nothing (an
    example command, say) are ignored when the reply holds other edits.
    """
    report = ApplyReport(parsed=len(edits))
    unmatched = 0
    for edit in edits:
        if not edit.complete:
            whole = isinstance(edit, WholeFile) and edit.trusted
            report.failures.append(prompts.cut_off_block(edit.path, whole=whole))
            continue
        if isinstance(edit, WholeFile) and (edit.path is None or not edit.trusted):
            outcome = _apply_untrusted_block(root, edit, known_files)
            if outcome is None:
                unmatched += 1
            elif outcome.startswith("!"):
                report.failures.append(outcome[1:])
            else:
                report.applied.append(outcome)
            continue
        path = _resolve_path(edit, root, known_files)
        if path is None:
            has_search = isinstance(edit, SearchReplace) and bool(edit.search.strip())
            report.failures.append(prompts.edit_without_path(has_search=has_search))
            continue
        try:
            target = safe_target(root, path)
        except PathRejected as exc:
            report.failures.append(prompts.edit_refused(path, exc))
            continue
        if isinstance(edit, WholeFile):
            _write(target, edit.content)
            report.applied.append(path)
            continue
        try:
            original = target.read_text(encoding="utf-8") if target.exists() else None
        except (OSError, UnicodeDecodeError) as exc:
            report.failures.append(prompts.edit_unreadable(path, exc))
            continue
        if not edit.search.strip():
            new = edit.replace if not original else original.rstrip("\n") + "\n" + edit.replace
            _write(target, new if new.endswith("\n") else new + "\n")
            report.applied.append(path)
            continue
        if original is None:
            report.failures.append(prompts.edit_missing_file(path))
            continue
        updated = replace_text(original, edit.search, edit.replace)
        if updated is None:
            report.failures.append(prompts.search_not_found(path, edit.search))
            continue
        _write(target, updated)
        report.applied.append(path)
    if unmatched and unmatched == len(edits):
        report.parsed = 0
    return report


def _apply_untrusted_block(root: Path, edit: WholeFile, known: set[str]) -> str | None:
    """Apply a fenced block whose path is missing or whose role is unclear (format drift).

    Returns the path written, ``"!"`` + a failure message, or None when the block matches nothing.
    """
    candidates = [edit.path] if edit.path is not None else sorted(known)
    texts: dict[str, str] = {}
    for candidate in candidates:
        try:
            texts[candidate] = safe_target(root, candidate).read_text(encoding="utf-8")
        except PathRejected as exc:
            return "!" + prompts.edit_refused(candidate, exc)
        except (OSError, UnicodeDecodeError):
            continue
    if edit.path is not None and edit.path not in texts:
        _write(safe_target(root, edit.path), edit.content)  # a new file
        return edit.path
    for candidate, text in texts.items():
        if _same_file(text, edit.content):
            _write(safe_target(root, candidate), edit.content)
            return candidate
    for candidate, text in texts.items():
        updated = replace_definitions(text, edit.content)
        if updated is not None:
            _write(safe_target(root, candidate), updated)
            return candidate
    if edit.path is not None:
        return "!" + prompts.block_not_whole(edit.path)
    return None


def _same_file(current: str, proposed: str) -> bool:
    """A block that is mostly the same text as the file, at roughly its length: a whole-file rewrite."""
    old, new = current.splitlines(), proposed.splitlines()
    if not old or len(new) < 0.6 * len(old):
        return False
    return difflib.SequenceMatcher(None, old, new, autojunk=False).ratio() >= 0.6


def replace_definitions(content: str, block: str) -> str | None:
    """Replace each function or class in ``block`` by name where it is defined in ``content``.

    Only when the block is nothing but complete definitions (plus blank lines, comments, decorators)
    and each name is defined exactly once in the file; None otherwise.
    """
    block_lines = block.rstrip("\n").split("\n")
    stripped = [line for line in block_lines if line.strip()]
    if not stripped:
        return None
    base = min(len(line) - len(line.lstrip()) for line in stripped)
    definitions: list[tuple[str, list[str]]] = []
    for line in block_lines:
        indent = len(line) - len(line.lstrip())
        match = _DEFINITION.match(line)
        if match and indent == base:
            definitions.append((match.group(2), [line]))
        elif definitions and (not line.strip() or indent > base):
            definitions[-1][1].append(line)
        elif line.strip().startswith(("#", "@")) or not line.strip():
            continue
        else:
            return None
    if not definitions:
        return None
    lines = content.split("\n")
    for name, body in definitions:
        span = _definition_span(lines, name)
        if span is None:
            return None
        start, end, indent = span
        while body and not body[-1].strip():
            body.pop()
        shift = indent - base
        fixed = [
            (" " * shift + line if shift > 0 else line[-shift:] if shift < 0 else line) if line.strip() else ""
            for line in body
        ]
        lines[start:end] = fixed
    return "\n".join(lines)


def _definition_span(lines: list[str], name: str) -> tuple[int, int, int] | None:
    """(start, end, indent) of the one definition of ``name`` in a file, or None if absent or ambiguous."""
    starts = [i for i, line in enumerate(lines) if (m := _DEFINITION.match(line)) and m.group(2) == name]
    if len(starts) != 1:
        return None
    start = starts[0]
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end, indent


def _resolve_path(edit: Edit, root: Path, known: set[str]) -> str | None:
    path = edit.path
    if path is not None and path not in known and not _exists(root, path):
        by_name = [k for k in known if k.rsplit("/", 1)[-1] == path.rsplit("/", 1)[-1]]
        if len(by_name) == 1 and "/" not in path:
            path = by_name[0]
    if path is None and isinstance(edit, SearchReplace) and edit.search.strip():
        holders = [k for k in sorted(known) if _file_contains(root / k, edit.search)]
        if len(holders) == 1:
            path = holders[0]
    return path


def _exists(root: Path, relative: str) -> bool:
    try:
        return (root / relative).exists()
    except (OSError, ValueError):
        return False


def _file_contains(path: Path, search: str) -> bool:
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return replace_text(content, search, "") is not None


def _write(target: Path, content: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        raise PathRejected(prompts.PATH_REASONS["write_symlink"])
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(content)


def replace_text(content: str, search: str, replace: str) -> str | None:
    """Replace the first match of ``search``: exactly, then ignoring trailing spaces, then ignoring
    indentation (re-indenting the replacement by the same offset). None when nothing matches."""
    if search in content:
        return content.replace(search, replace, 1)
    content_lines = content.split("\n")
    search_lines = _trim_blank_edges(search.split("\n"))
    replace_lines = _trim_blank_edges(replace.split("\n")) if replace.strip() else []
    if not search_lines:
        return None
    for normalise in (str.rstrip, str.strip):
        wanted = [normalise(line) for line in search_lines]
        for start in range(len(content_lines) - len(wanted) + 1):
            window = content_lines[start : start + len(wanted)]
            if [normalise(line) for line in window] == wanted:
                fixed = _reindent(replace_lines, search_lines, window)
                return "\n".join(content_lines[:start] + fixed + content_lines[start + len(wanted) :])
    return None


def _trim_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindent(replace: list[str], search: list[str], found: list[str]) -> list[str]:
    first_search = next((s for s in search if s.strip()), "")
    first_found = next((f for f in found if f.strip()), "")
    have, want = _indent(first_search), _indent(first_found)
    if have == want:
        return replace
    fixed = []
    for line in replace:
        if not line.strip():
            fixed.append(line)
        elif line.startswith(have):
            fixed.append(want + line[len(have) :])
        else:
            fixed.append(want + line.lstrip())
    return fixed
