"""``benchtui tasks import exercism``: Exercism-style exercises (one, a track, or a polyglot checkout such as
Aider's polyglot benchmark) as ordinary benchtui tasks.

Each exercise's ``.meta/config.json`` names its files: the stubs (``files.solution``) become the workspace,
the tests and their helpers (``files.test``) the hidden check files, the reference solution
(``files.example``) the task's solution, each example file renamed to the stub in the same position. Files
the student may read but not change (``files.editor``, ``files.invalidator``: ``cases_test.go``,
``go.mod``) are in the workspace and laid over it again by the check. The prompt is the exercise's
``introduction.md``, ``instructions.md`` and ``instructions.append.md`` joined; ``hints.md`` gives the
hints. Generator material (``.meta/template.j2``, ``tests.toml``, ``.approaches/``) is not part of a task.

The output depends only on the exercises, so importing twice gives the same bytes; what cannot be
converted is reported with the reason, never half-written.

Just over ~400 lines: the layout rules (which file goes where) and the conversion's refusals are one
reading of one exercise format; the per-track details already live in ``tracks.py``.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchtui.engine.importers.tracks import TRACKS, Track, matches

SOURCE = "Exercism"
LICENCE_NOTE = "Exercise content copyright Exercism (https://exercism.org), used under the MIT licence of its track"
# Exercism's difficulty runs from 1 to 10; benchtui's levels past smoke, in thirds.
_LEVELS = ((3, "easy"), (7, "medium"), (10, "hard"))
DEFAULT_LEVEL = "medium"  # a checkout without the track's config.json (Aider's) says nothing of difficulty
# The house limits of each level (docs/TASKS.md).
_LIMITS = {"easy": (5, 300), "medium": (8, 600), "hard": (10, 900)}
CHECK_TIMEOUT_S = 180
_DOC_HEADINGS = re.compile(r"^#\s+(Introduction|Instructions|Instructions append|Hints)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Exercise:
    track: str
    slug: str
    folder: Path

    @property
    def task_id(self) -> str:
        # The track first: Aider's benchmark has a bowling exercise in five tracks.
        return f"{self.track}-{self.slug}"

    @property
    def where(self) -> str:
        return f"{self.track}/exercises/practice/{self.slug}"


@dataclass(frozen=True)
class Skipped:
    where: str
    reason: str


@dataclass
class ImportReport:
    written: list[Path] = field(default_factory=list)  # the task files, in import order
    skipped: list[Skipped] = field(default_factory=list)
    tracks: dict[str, list[str]] = field(default_factory=dict)  # track -> task ids written


class ExerciseError(Exception):
    """Why one exercise cannot be converted; the message names the file when a file is at fault."""


@dataclass
class Converted:
    exercise: Exercise
    task_md: str
    workspace: dict[str, bytes]
    check: dict[str, bytes]
    solution: dict[str, bytes]
    license: bytes | None


# Finding exercises


def _is_exercise(folder: Path) -> bool:
    return (folder / ".meta" / "config.json").is_file()


def _practice(track_dir: Path) -> Path:
    return track_dir / "exercises" / "practice"


def find_exercises(
    path: Path, tracks: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> tuple[list[Exercise], list[Skipped]]:
    """The exercises under ``path`` (an exercise, a track, or a checkout of several tracks), in track then
    name order; ``tracks`` and ``names`` narrow them. Raises ExerciseError when ``path`` holds none."""
    path = Path(path)
    wanted_tracks = {t.strip() for t in tracks or () if t.strip()} or None
    wanted_names = set(names or ()) or None
    if not path.is_dir():
        raise ExerciseError(f"{path}: not a folder")
    found: list[Exercise] = []
    if _is_exercise(path):
        track = path.parent.parent.parent.name if path.parent.name == "practice" else None
        if track is None:
            if not wanted_tracks or len(wanted_tracks) != 1:
                raise ExerciseError(
                    f"{path}: an exercise outside a <track>/exercises/practice/ folder; name its track with --track"
                )
            track = next(iter(wanted_tracks))
        found.append(Exercise(track, path.name, path))
    elif _practice(path).is_dir():
        found.extend(Exercise(path.name, d.name, d) for d in sorted(_practice(path).iterdir()) if d.is_dir())
    else:
        for track_dir in sorted(p for p in path.iterdir() if _practice(p).is_dir()):
            found.extend(
                Exercise(track_dir.name, d.name, d) for d in sorted(_practice(track_dir).iterdir()) if d.is_dir()
            )
    if not found:
        raise ExerciseError(
            f"{path}: no Exercism exercises here (expected .meta/config.json, exercises/practice/ or "
            "<track>/exercises/practice/)"
        )
    if wanted_tracks:
        unknown = sorted(wanted_tracks - {e.track for e in found})
        if unknown:
            raise ExerciseError(f"{path}: no exercises of track(s) {', '.join(unknown)} here")
        found = [e for e in found if e.track in wanted_tracks]
    if wanted_names:
        missing = sorted(wanted_names - {e.slug for e in found})
        if missing:
            raise ExerciseError(f"{path}: no exercise named {', '.join(missing)} here")
        found = [e for e in found if e.slug in wanted_names]
    skipped: list[Skipped] = []
    usable = []
    for exercise in found:
        if exercise.track not in TRACKS:
            skipped.append(Skipped(exercise.where, f"benchtui has no check for the {exercise.track!r} track"))
        elif not _is_exercise(exercise.folder):
            skipped.append(Skipped(exercise.where, "no .meta/config.json"))
        else:
            usable.append(exercise)
    return usable, skipped


# Reading one exercise


def _read_config(exercise: Exercise) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The file lists of ``.meta/config.json`` and the rest of it (source, source_url, blurb)."""
    config_file = exercise.folder / ".meta" / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExerciseError(f"{config_file}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExerciseError(f"{config_file}: cannot read: {exc}") from None
    files = config.get("files") if isinstance(config, dict) else None
    if not isinstance(files, dict):
        raise ExerciseError(f"{config_file}: expected a 'files' object naming the solution, test and example files")
    lists: dict[str, list[str]] = {}
    for key, value in files.items():
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ExerciseError(f"{config_file}: 'files.{key}' must be a list of file names")
        for name in value:
            if name.startswith("/") or ".." in Path(name).parts:
                raise ExerciseError(f"{config_file}: 'files.{key}' names {name!r}, outside the exercise")
        lists[key] = list(value)
    for key in ("solution", "test", "example"):
        if not lists.get(key):
            raise ExerciseError(f"{config_file}: 'files.{key}' is missing or empty")
    return lists, config


def _all_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _text(folder: Path, relative: str) -> bytes:
    data = (folder / relative).read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ExerciseError(f"{folder / relative}: not a UTF-8 text file (tasks hold text files only)") from None
    return data


def _difficulty(exercise: Exercise) -> tuple[str, str]:
    """The level and where it came from: the track's config.json when it gives the exercise's difficulty."""
    track_config = exercise.folder.parent.parent.parent / "config.json"
    try:
        config = json.loads(track_config.read_text(encoding="utf-8"))
        entries = config["exercises"]["practice"]
        number = next(int(e["difficulty"]) for e in entries if e.get("slug") == exercise.slug)
    except (OSError, ValueError, KeyError, TypeError, StopIteration, UnicodeDecodeError):
        return DEFAULT_LEVEL, "the track gives no difficulty"
    level = next((name for top, name in _LEVELS if number <= top), "hard")
    return level, f"the track's difficulty {number} of 10"


def _doc(exercise: Exercise, name: str) -> str:
    path = exercise.folder / ".docs" / name
    if not path.is_file():
        return ""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ExerciseError(f"{path}: not UTF-8 text") from None
    lines = text.strip().splitlines()
    if lines and _DOC_HEADINGS.match(lines[0]):
        lines = lines[1:]  # "# Instructions append" says nothing to a model
    return "\n".join(lines).strip()


_LINK_DEF = re.compile(r"^\[([^\]]+)\]:\s*(\S+)\s*$", re.M)


def _hints(exercise: Exercise) -> list[str]:
    """``hints.md`` as hints: one per ``##`` section (each more specific than the first, as Exercism
    writes them), reference links written out since a hint is read alone."""
    text = _doc(exercise, "hints.md")
    if not text:
        return []
    links = {m.group(1).lower(): m.group(2) for m in _LINK_DEF.finditer(text)}
    text = _LINK_DEF.sub("", text)
    text = re.sub(r"\[([^\]]+)\]\[([^\]]*)\]", lambda m: f"{m[1]} ({links.get((m[2] or m[1]).lower(), m[2])})", text)
    sections = [s.strip() for s in re.split(r"^## ", text, flags=re.M) if s.strip()]
    return [re.sub(r"\n{3,}", "\n\n", s) for s in sections]


def _title(exercise: Exercise) -> str:
    return f"{exercise.slug.replace('-', ' ').capitalize()} ({exercise.track}, Exercism)"


def _quote(text: str) -> str:
    # JSON strings are YAML double-quoted scalars: one escaping rule, stable bytes.
    return json.dumps(text, ensure_ascii=False)


def _example_targets(examples: list[str], stubs: list[str], config_file: Path) -> list[tuple[str, str]]:
    """Which workspace file each example file becomes: the stub in the same position. A reference solution
    with more files than the stubs (Java's poker: Card, Hand and Poker for one Poker.java) is matched by
    file name instead, and each file without a stub of its name goes beside the first stub."""
    if len(examples) <= len(stubs):
        return list(zip(examples, stubs, strict=False))
    by_name = {Path(stub).name: stub for stub in stubs}
    beside = Path(stubs[0]).parent
    targets = [
        (example, by_name.get(Path(example).name, (beside / Path(example).name).as_posix())) for example in examples
    ]
    if len({target for _, target in targets}) < len(targets):
        raise ExerciseError(
            f"{config_file}: two example files have the same name: cannot tell which stub each replaces"
        )
    return targets


# The libraries every Exercism Java exercise tests with, which benchtui-junit provides.
_JAVA_TEST_LIBRARIES = {"org.junit:junit-bom", "org.junit.jupiter:junit-jupiter", "org.assertj:assertj-core"}
_GRADLE_DEPENDENCY = re.compile(
    r"""^\s*\w*(?:[Ii]mplementation|[Cc]ompile\w*|[Rr]untimeOnly)\s*\(?\s*(?:platform\()?["']([^"':]+:[^"':]+)""",
    re.M,
)


def _gradle_libraries(data: bytes | None) -> list[str]:
    """The libraries a build.gradle adds to JUnit and AssertJ (Java's hangman: rxjava)."""
    if data is None:
        return []
    found = _GRADLE_DEPENDENCY.findall(data.decode("utf-8", errors="replace"))
    return sorted(set(found) - _JAVA_TEST_LIBRARIES)


def _crates(folder: Path, manifests: list[bytes | None]) -> list[str]:
    """The crates the Cargo manifests depend on (none for most exercises)."""
    names: set[str] = set()
    for data in manifests:
        if data is None:
            continue
        try:
            manifest = tomllib.loads(data.decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ExerciseError(f"{folder / 'Cargo.toml'}: not valid TOML: {exc}") from None
        for table in ("dependencies", "dev-dependencies", "build-dependencies"):
            value = manifest.get(table)
            if isinstance(value, dict):
                names.update(value)
    return sorted(names)


def convert(exercise: Exercise) -> Converted:
    """One exercise as a task, in memory. Raises ExerciseError saying why it cannot be converted."""
    track: Track = TRACKS[exercise.track]
    lists, meta = _read_config(exercise)
    folder = exercise.folder
    present = set(_all_files(folder))
    config_file = folder / ".meta" / "config.json"
    for key in ("solution", "test", "example", "editor", "invalidator"):
        for name in lists.get(key, []):
            if name not in present:
                raise ExerciseError(f"{config_file}: 'files.{key}' names {name}, which the exercise does not have")
    solution_names, tests, examples = lists["solution"], lists["test"], lists["example"]
    restored = set(lists.get("editor", [])) | set(lists.get("invalidator", []))
    workspace: dict[str, bytes] = {}
    check: dict[str, bytes] = {}
    for name in sorted(present):
        top = name.split("/", 1)[0]
        listed = name in solution_names or name in tests or name in restored
        if not listed and (top.startswith(".") or matches(name, track.tooling)):
            continue  # .meta/, .docs/, .approaches/ and the track's own tooling
        if name in tests or (matches(name, track.hidden_support) and name not in solution_names):
            check[name] = _text(folder, name)
        else:
            workspace[name] = _text(folder, name)
            if name in restored:
                check[name] = workspace[name]
    solution: dict[str, bytes] = {}
    for example, stub in _example_targets(examples, solution_names, config_file):
        if stub in restored:
            continue  # a file the student may not change (connect's Winner.java): the shipped one is checked
        if stub in check:
            raise ExerciseError(f"{config_file}: the example {example} would replace the test file {stub}")
        data = _text(folder, example)
        if workspace.get(stub) != data:
            solution[stub] = data
    # Exercism's Rust track keeps the example's own manifest beside it: the solution's Cargo.toml.
    example_manifest = folder / ".meta" / "Cargo-example.toml"
    if exercise.track == "rust" and example_manifest.is_file() and "Cargo.toml" in workspace:
        data = _text(folder, ".meta/Cargo-example.toml")
        if data != workspace["Cargo.toml"]:
            solution["Cargo.toml"] = data
    crates = _crates(folder, [workspace.get("Cargo.toml"), solution.get("Cargo.toml")])
    if crates:
        raise ExerciseError(
            f"{folder / 'Cargo.toml'}: needs crates from crates.io ({', '.join(crates)}), which a check cannot "
            "fetch: checks run offline"
        )
    libraries = _gradle_libraries(workspace.get("build.gradle"))
    if exercise.track == "java" and libraries:
        raise ExerciseError(
            f"{folder / 'build.gradle'}: needs {', '.join(libraries)} from Maven Central besides JUnit and AssertJ, "
            "which a check cannot fetch: checks run offline"
        )
    if not solution:
        raise ExerciseError(f"{config_file}: the example is the same as the stub: no reference solution")
    docs = ("introduction.md", "instructions.md", "instructions.append.md")
    intro, instructions, append = (_doc(exercise, name) for name in docs)
    if not instructions:
        raise ExerciseError(f"{folder / '.docs' / 'instructions.md'}: missing or empty: the task would have no prompt")
    level, level_source = _difficulty(exercise)
    max_turns, timeout = _LIMITS[level]
    stubs = ", ".join(f"`{name}`" for name in solution_names)
    prompt = "\n\n".join(
        part
        for part in (
            f"# {exercise.slug.replace('-', ' ').capitalize()}",
            intro,
            instructions,
            append,
            f"Write your solution in {stubs}. Keep the names of the functions, classes and files that are "
            "there: the tests use them. Use only the language's standard library.",
        )
        if part
    )
    license_file = folder / "LICENSE"
    license_data = license_file.read_bytes() if license_file.is_file() else None
    source = meta.get("source")
    source_url = meta.get("source_url")
    lines = [
        "---",
        f"# Imported by `benchtui tasks import exercism` from {exercise.where}.",
        f"# {LICENCE_NOTE} (https://github.com/exercism/{exercise.track}/blob/main/LICENSE"
        + ("; a copy is in LICENSE next to this file)." if license_data else ")."),
    ]
    if isinstance(source, str) and source.strip():
        url = f" ({source_url})" if isinstance(source_url, str) and source_url.strip() else ""
        lines.append(f"# The exercise's source: {' '.join(source.split())}{url}")
    lines.append(f"# Difficulty {level}: {level_source}.")
    lines += [
        f"id: {exercise.task_id}",
        f"title: {_quote(_title(exercise))}",
        f"difficulty: {level}",
        f"language: {track.language}",
        f"tags: [exercism, {track.name}]",
        f"workspace: {exercise.task_id}/",
        f"check_files: {exercise.task_id}.check/",
        f"solution: {exercise.task_id}.solution/",
        f"check: {_quote(track.check.format(slug=exercise.slug))}",
        f"max_turns: {max_turns}",
        f"timeout: {timeout}",
        # Each run of the tests: the three minutes Aider's harness gives them (--preset polyglot keeps it).
        f"check_timeout: {CHECK_TIMEOUT_S}",
    ]
    hints = _hints(exercise)
    if hints:
        lines.append("hints:")
        lines += [f"  - {_quote(hint)}" for hint in hints]
    lines += ["---", prompt, ""]
    return Converted(exercise, "\n".join(lines), workspace, check, solution, license_data)


# Writing


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    if folder.exists():
        shutil.rmtree(folder)  # a re-import leaves no file of an older one behind
    folder.mkdir(parents=True)
    for name in sorted(files):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[name])


def write(converted: Converted, into: Path) -> Path:
    """Write one converted exercise under ``into/<track>/``; returns its task file."""
    track_dir = into / converted.exercise.track
    track_dir.mkdir(parents=True, exist_ok=True)
    task_id = converted.exercise.task_id
    _write_tree(track_dir / task_id, converted.workspace)
    _write_tree(track_dir / f"{task_id}.check", converted.check)
    _write_tree(track_dir / f"{task_id}.solution", converted.solution)
    if converted.license is not None:
        (track_dir / "LICENSE").write_bytes(converted.license)
    task_md = track_dir / f"{task_id}.md"
    task_md.write_text(converted.task_md, encoding="utf-8")
    return task_md


def import_exercises(
    path: Path, into: Path, tracks: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> ImportReport:
    """Convert every exercise under ``path`` into tasks under ``into``; what cannot be converted is in the
    report's ``skipped`` with the reason, and nothing of it is written."""
    exercises, skipped = find_exercises(path, tracks, names)
    report = ImportReport(skipped=list(skipped))
    into = Path(into)
    for exercise in exercises:
        try:
            converted = convert(exercise)
        except ExerciseError as exc:
            report.skipped.append(Skipped(exercise.where, str(exc)))
            continue
        report.written.append(write(converted, into))
        report.tracks.setdefault(exercise.track, []).append(exercise.task_id)
    return report
