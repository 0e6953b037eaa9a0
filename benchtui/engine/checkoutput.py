"""What a check's output says, made short enough to act on: for the model's feedback and ``tasks validate``.

A raw tail is the wrong cut for two common runners. Node's test runner, piped, speaks TAP: its last lines
are stack frames and ``# fail 22``, while the names of the failing tests and their assertion messages sit in
YAML blocks further up. Pytest's last line is ``3 failed in 0.1s``; the assertion is in its ``E`` lines.
So TAP is summarised test by test, and any other output is cut to its error lines plus its last line.
Paths into the run's temp folder are rewritten to workspace-relative ones (``Workspace.run_check``): the
folder is gone by the time anyone reads them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from benchtui.engine import failures

LINE_CHARS = 200  # one line of an excerpt
ERROR_LINES_PER_TEST = 8
_TAP_TEST = re.compile(r"^(?P<indent>\s*)(?P<verdict>not ok|ok) \d+(?: - (?P<name>.*))?$")
_TAP_SUBTEST = re.compile(r"^(?P<indent>\s*)# Subtest: (?P<name>.*)$")
_TAP_COUNT = re.compile(r"^# (?P<key>tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (?P<value>\S+)$")
_FRAME = re.compile(r"^\s*(?:#\s*)?at .+[:)]\s*$|^\s*(?:#\s*)?at .+:\d+:\d+\)?\s*$")
_DIRECTIVE = re.compile(r"\s+#\s*(?:SKIP|TODO)\b.*$", re.IGNORECASE)


def relative_paths(output: str, root: Path) -> str:
    """``output`` with every path under ``root`` (as given and as resolved) made relative to it."""
    for form in dict.fromkeys((str(root), str(root.resolve()))):
        output = output.replace(form.rstrip("/") + "/", "")
    return output


def cut(line: str, chars: int = LINE_CHARS) -> str:
    return line if len(line) <= chars else line[: chars - 1] + "…"


def summarise(output: str, max_lines: int = 40) -> str:
    """The feedback form of a check's output: TAP as its failing tests, anything else unchanged."""
    return summarise_tap(output, max_lines) or output


def summarise_failures(output: str, max_lines: int = 40) -> str | None:
    """The failing tests and their assertion messages in any runner's output benchtui reads (node's TAP,
    pytest, jest, go test, cargo test, Catch) or a compiler's first errors; None when it reads none."""
    return summarise_tap(output, max_lines) or failures.summarise(output, max_lines)


# The per-run scratch folder of a check (``$TMPDIR``), where a check may build from a link to the workspace
# (the C++ checks: CMake names the project after the source folder): its paths mean the workspace too.
_CHECK_SCRATCH = re.compile(r"(?:/[^\s:'\"()]+)?/benchtui-check-[^/\s]+/tmp/[^/\s]+/")


def scratch_relative(output: str) -> str:
    return _CHECK_SCRATCH.sub("", output)


def summarise_tap(output: str, max_lines: int = 40) -> str | None:
    """Node's TAP output as the failing tests, each with its assertion message, in at most ``max_lines``
    lines (the first failures first); None when ``output`` is not TAP or no test failed in it."""
    lines = output.splitlines()
    if not any(line.startswith("TAP version") for line in lines[:50]):
        return None
    counts: dict[str, str] = {}
    messages: list[str] = []  # what the test files printed (a SyntaxError, console.log), frames left out
    failures: list[list[str]] = []
    suites: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if subtest := _TAP_SUBTEST.match(line):
            depth = len(subtest["indent"]) // 4
            suites[depth:] = [subtest["name"].strip()]
            continue
        if count := _TAP_COUNT.match(line):
            counts[count["key"]] = count["value"]
            continue
        if line.startswith("#"):
            if not _FRAME.match(line) and line[1:].strip() and not line.startswith("# Node.js v"):
                messages.append(cut(line[1:].strip()))
            continue
        test = _TAP_TEST.match(line)
        if test is None or test["verdict"] == "ok":
            continue
        block, index = _yaml_block(lines, index, len(test["indent"]))
        if block.get("failureType") == "subtestsFailed":
            continue  # a suite that failed because a test in it did: that test is listed itself
        depth = len(test["indent"]) // 4
        name = _DIRECTIVE.sub("", (test["name"] or "").replace("\\#", "#")).strip() or "(unnamed test)"
        where = _location(block.get("location"))
        failures.append(
            [
                f"✗ {cut(' > '.join([*suites[:depth], name]))}" + (f" ({where})" if where else ""),
                *(f"    {line}" for line in _error_lines(block)),
            ]
        )
    if not failures:
        return None
    total, failed = counts.get("tests"), counts.get("fail", str(len(failures)))
    out = [
        f"node --test: {failed} of {total} test{'' if total == '1' else 's'} failed" if total else "node --test failed"
    ]
    if messages:
        out.append("The test files printed:")
        out.extend(f"    {m}" for m in messages[:ERROR_LINES_PER_TEST])
    for shown, failure in enumerate(failures):
        if len(out) + len(failure) > max_lines - 1:
            out.append(f"… and {len(failures) - shown} more failing test(s)")
            break
        out.extend(failure)
    return "\n".join(out)


def _yaml_block(lines: list[str], index: int, indent: int) -> tuple[dict[str, Any], int]:
    """The YAML diagnostic block after a TAP test line (``  ---`` … ``  ...``) and where it ends."""
    opener = " " * (indent + 2) + "---"
    if index >= len(lines) or lines[index].rstrip() != opener:
        return {}, index
    closer = " " * (indent + 2) + "..."
    end = next((i for i in range(index + 1, len(lines)) if lines[i].rstrip() == closer), len(lines))
    body = "\n".join(line[indent + 2 :] for line in lines[index + 1 : end])
    try:
        parsed = yaml.safe_load(body)
    except yaml.YAMLError:
        parsed = None
    return (parsed if isinstance(parsed, dict) else {}), end + 1


def _location(value: object) -> str:
    """``'slugify_check.test.js:35:1'`` -> ``slugify_check.test.js:35``."""
    if not isinstance(value, str):
        return ""
    return re.sub(r":(\d+):\d+$", r":\1", value)


def _error_lines(block: dict[str, Any]) -> list[str]:
    error = block.get("error")
    text = error if isinstance(error, str) else ""
    lines = [cut(line.rstrip()) for line in text.splitlines() if line.strip()]
    if not lines or lines == ["test failed"]:
        # A test file that failed as a whole (it did not load): its exit code says more than "test failed".
        code = block.get("exitCode")
        lines = [f"the test file failed{f' with exit code {code}' if code is not None else ''}"]
    return lines[:ERROR_LINES_PER_TEST]


def failure_excerpt(output: str, max_lines: int = 16) -> list[str]:
    """The lines of a failed check's output that say why: TAP's failing tests, else pytest's ``E`` and
    ``FAILED`` lines and its last line, else the failing tests of the other runners ``failures`` reads,
    else anything naming an error and the last line."""
    tap = summarise_tap(output)
    if tap is not None:
        lines = tap.splitlines()
        return lines[:max_lines] + ([f"… {len(lines) - max_lines} more lines"] if len(lines) > max_lines else [])
    text = [line.rstrip() for line in output.splitlines() if line.strip()]
    if not text:
        return ["(the check printed nothing)"]
    asserted = list(dict.fromkeys(line for line in text if line.startswith("E ")))[: max_lines // 2]
    failed = [line for line in text if line.startswith(("FAILED ", "ERROR "))]
    picked = asserted + failed[:4] + ([f"… and {len(failed) - 4} more failed"] if len(failed) > 4 else [])
    if not picked and (other := failures.summarise(output, max_lines)) is not None:
        return other.splitlines()  # jest, go test, cargo test, Catch, a compiler: their failures
    if not picked:  # none of those: whatever names an error
        picked = [
            line
            for line in text
            if re.search(r"\b\w*(Error|Exception)\b|\berror:", line, re.IGNORECASE) and not _FRAME.match(line)
        ][: max_lines - 1]
    if text[-1] not in picked:
        picked.append(text[-1])
    if len(picked) == 1:  # nothing looked like an error: the tail it is
        picked = text[-min(8, max_lines) :]
    return [cut(line) for line in picked[:max_lines]]


# What each runner says when it found nothing to run: a check that ran no tests proves nothing, whatever
# its exit status (node --test and go test exit 0).
_NO_TESTS = (
    re.compile(r"^# tests 0$"),  # node --test (TAP) with no matching file
    re.compile(r"^(?:=+ )?no tests ran\b", re.IGNORECASE),  # pytest, exit 5
    re.compile(r"^collected 0 items"),  # pytest
    re.compile(r"^No tests found, exiting with code"),  # jest
    re.compile(r"^\S+\s+\S+\s+\[no test files\]$|^\?\s+\S+\s+\[no test files\]$"),  # go test
    re.compile(r"^No tests ran$"),  # Catch
    re.compile(r"^test cases: 0 \|"),  # Catch
    re.compile(r"^\[\s*0 tests found\s*\]$"),  # JUnit's console launcher
)
_CARGO_RESULT = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed;")
PYTEST_NO_TESTS_EXIT = 5


def no_tests_ran(output: str, exit_code: int | None) -> str | None:
    """The line of a check's output that says it ran no tests (or why that is known), else None."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if any(pattern.match(line) for pattern in _NO_TESTS):
            return line
    cargo = [_CARGO_RESULT.match(line) for line in lines]
    counted = [(int(m[1]), int(m[2])) for m in cargo if m]
    if counted and sum(p + f for p, f in counted) == 0:
        return next(line for line in lines if _CARGO_RESULT.match(line))
    if exit_code == PYTEST_NO_TESTS_EXIT and "pytest" in output:
        return f"pytest exited with {PYTEST_NO_TESTS_EXIT} (no tests collected)"
    return None
