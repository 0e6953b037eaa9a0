"""How each Exercism track's exercises are checked by benchtui, and which of their files are tooling.

One entry per track of Aider's polyglot benchmark. The check commands run offline in the check sandbox:
whatever a track's own CI would download (jest and babel from npm, Gradle and JUnit from Maven Central)
is either provided by benchtui (jest: ``engine/jest``; JUnit's console launcher over the system's jars:
``engine/junit``) or makes the task unavailable on this machine, naming what to install. Each command
runs every test, including the ones Exercism's stubs skip
until the student enables them (``xtest``, ``#[ignore]``), as Exercism's own CI does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Track:
    name: str
    language: str
    check: str
    # Files of an exercise that belong to the track's tooling, not to the task (package.json and babel
    # config for jest, Gradle's wrapper): benchtui's check brings its own. Matched against the path
    # relative to the exercise (a trailing slash matches a folder).
    tooling: tuple[str, ...] = ()
    # Support files the tests need that the model need not see (Catch's 600 KB header): check files.
    hidden_support: tuple[str, ...] = ()


# CMake's project name is the source folder's name (``get_filename_component(exercise ...)``), and a
# check runs in a copy named ``check``: so the check builds from a link named after the exercise.
_CMAKE = (
    'cmake -E create_symlink "$PWD" "$TMPDIR/{slug}" && '
    'cmake -S "$TMPDIR/{slug}" -B "$TMPDIR/build" -DEXERCISM_RUN_ALL_TESTS=ON >/dev/null && '
    'cmake --build "$TMPDIR/build"'
)

TRACKS: dict[str, Track] = {
    "python": Track("python", "python", "python -m pytest -q -p no:cacheprovider"),
    "javascript": Track(
        "javascript",
        "javascript",
        "benchtui-jest",
        tooling=("package.json", "babel.config.js", ".eslintrc", ".npmrc", "LICENSE"),
    ),
    # GOTOOLCHAIN=local: a go.mod asking for a newer Go must not make go download one (no network).
    "go": Track("go", "go", "GOTOOLCHAIN=local GOPROXY=off go test ./..."),
    # --include-ignored: Exercism marks all but the first test #[ignore] until the student gets there.
    "rust": Track("rust", "rust", "cargo test --offline -q -- --include-ignored"),
    "cpp": Track("cpp", "cpp", _CMAKE, hidden_support=("test/",)),
    # Gradle would fetch JUnit and AssertJ from Maven Central: javac and the system's JUnit instead
    # (engine/junit), @Disabled tests run as Exercism's CI runs them.
    "java": Track("java", "java", "benchtui-junit", tooling=("gradlew", "gradlew.bat", "gradle/")),
}


def matches(relative: str, patterns: tuple[str, ...]) -> bool:
    return any(relative == p or (p.endswith("/") and relative.startswith(p)) for p in patterns)
