"""The failing tests in the output of pytest, jest, ``go test``, ``cargo test``, Catch and JUnit, and the first
errors of a compiler, each as one short block a model can act on: the test's name, where it failed and
its assertion message, instead of the output's last lines (a summary count, or a make error).

Each parser reads its runner's default output, as the checks of imported Exercism tasks print it, and
returns None when the output is not its runner's or names no failing test; ``summarise`` tries them in
turn. Node's TAP output has its own parser in ``checkoutput``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

LINE_CHARS = 200
LINES_PER_FAILURE = 8


@dataclass
class Failure:
    name: str
    where: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class Failures:
    runner: str
    failures: list[Failure]
    failed: str | None = None  # counts as the runner states them
    total: str | None = None
    noun: str = "test"


def _cut(line: str) -> str:
    return line if len(line) <= LINE_CHARS else line[: LINE_CHARS - 1] + "…"


def render(found: Failures, max_lines: int = 40) -> str:
    if found.total is not None:
        plural = "" if found.total == "1" else "s"
        head = f"{found.runner}: {found.failed or len(found.failures)} of {found.total} {found.noun}{plural} failed"
    else:
        head = f"{found.runner} failed"
    out = [head]
    for shown, failure in enumerate(found.failures):
        block = [f"✗ {_cut(failure.name)}" + (f" ({failure.where})" if failure.where else "")]
        block += [f"    {_cut(line)}" for line in failure.lines[:LINES_PER_FAILURE]]
        if len(out) + len(block) > max_lines - 1:
            out.append(f"… and {len(found.failures) - shown} more")
            break
        out.extend(block)
    return "\n".join(out)


# pytest (its default "auto" tracebacks): a header per failing test, its E lines, and file:line: Error.

_PYTEST_HEADER = re.compile(r"^_{3,} (?P<name>.+?) _{3,}$|^_ (?P<short>.+) _$")
_PYTEST_SECTION = re.compile(r"^={3,} (?P<title>FAILURES|ERRORS|short test summary info|.*) ={3,}$")
_PYTEST_WHERE = re.compile(r"^(?P<file>[^\s:]+\.py):(?P<line>\d+): (?P<error>\w+)$")
_PYTEST_COUNTS = re.compile(r"^=*\s*(?P<counts>(?:\d+ \w+(?:, )?)+) in [\d.]+s")


def pytest_failures(output: str) -> Failures | None:
    lines = output.splitlines()
    if not any(_PYTEST_SECTION.match(line) for line in lines) and not any(
        _PYTEST_COUNTS.match(line) for line in lines[-3:]
    ):
        return None
    failures: list[Failure] = []
    current: Failure | None = None
    in_section = False
    for line in lines:
        section = _PYTEST_SECTION.match(line)
        if section:
            in_section = section["title"] in ("FAILURES", "ERRORS")
            current = None
            continue
        if not in_section:
            continue
        header = _PYTEST_HEADER.match(line)
        if header:
            name = (header["name"] or header["short"]).strip()
            current = Failure(name.replace("ERROR collecting ", "collecting "))
            failures.append(current)
            continue
        if current is None:
            continue
        if line.startswith("E "):
            text = line[1:].strip()
            if text and text.strip("^~ ") and text not in current.lines:  # a caret under a column says little
                current.lines.append(text)
        elif where := _PYTEST_WHERE.match(line.strip()):
            current.where = f"{where['file']}:{where['line']}"
    if not failures:
        return None
    counts = {}
    for line in lines[-3:]:
        if match := _PYTEST_COUNTS.match(line.strip("= ")):
            counts = {word: int(n) for n, word in (part.split() for part in match["counts"].split(", "))}
    if not {"failed", "passed"} & set(counts):  # only errors (a test file that did not import): no tests ran
        return Failures("pytest", failures)
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    total = sum(v for k, v in counts.items() if k in ("failed", "passed", "error", "errors", "skipped", "xfailed"))
    return Failures("pytest", failures, str(failed), str(total))


# jest: "● suite › test" blocks with the message, a code frame and stack frames; "Tests: 1 failed, 10 total".

_JEST_BLOCK = re.compile(r"^\s{2}● (?P<name>.+)$")
_JEST_TESTS = re.compile(r"^Tests:\s+(?P<counts>.+?), (?P<total>\d+) total")
_JEST_FRAME = re.compile(
    r"^\s*at .*\((?P<loc>[^()]+):(?P<line>\d+):\d+\)\s*$|^\s*at (?P<bare>[^\s()]+):(?P<bline>\d+):\d+\s*$"
)
_JEST_CODE = re.compile(r"^\s*>?\s*\d+ \|| *\|\s*\^?\s*$|^\s+\|")


def jest_failures(output: str) -> Failures | None:
    lines = output.splitlines()
    if not any(line.startswith(("Test Suites:", "FAIL ", "PASS ")) for line in lines):
        return None
    failures: list[Failure] = []
    current: Failure | None = None
    for line in lines:
        block = _JEST_BLOCK.match(line)
        if block:
            current = Failure(block["name"].strip())
            failures.append(current)
            continue
        if current is None:
            continue
        if line.startswith(("Test Suites:", "Tests:", "FAIL ", "PASS ")):
            current = None
            continue
        frame = _JEST_FRAME.match(line)
        if frame:
            location = f"{frame['loc'] or frame['bare']}:{frame['line'] or frame['bline']}"
            # The spec's line says more than the frame inside the solution that threw.
            if "node_modules" not in location and ".spec." not in current.where:
                current.where = location if not current.where or ".spec." in location else current.where
            continue
        if not line.strip() or _JEST_CODE.match(line) or line.lstrip().startswith("at "):
            continue
        current.lines.append(line.strip())
    if not failures:
        return None
    for failure in failures:
        if "Details:" in failure.lines:  # a suite that did not load: the error is under jest's advice on configs
            failure.lines = failure.lines[failure.lines.index("Details:") + 1 :]
    failed = total = None
    for line in lines:
        if match := _JEST_TESTS.match(line):
            total = match["total"]
            failed = next((p.split()[0] for p in match["counts"].split(", ") if p.endswith("failed")), None)
    return Failures("jest", failures, failed, total)


# go test: "--- FAIL: TestX (0.00s)" and the indented file_test.go:12: lines under it.

_GO_FAIL = re.compile(r"^(?P<indent>\s*)--- FAIL: (?P<name>\S+)")
_GO_LOG = re.compile(r"^\s+(?P<file>[\w.-]+\.go):(?P<line>\d+): ?(?P<text>.*)$")
_GO_RESULT = re.compile(r"^(?:--- )?(?:PASS|FAIL|ok)\b")


def go_failures(output: str) -> Failures | None:
    lines = output.splitlines()
    failures: list[Failure] = []
    current: Failure | None = None
    for line in lines:
        fail = _GO_FAIL.match(line)
        if fail:
            current = Failure(fail["name"])
            failures.append(current)
            continue
        if current is None:
            continue
        log = _GO_LOG.match(line)
        if log:
            current.where = current.where or f"{log['file']}:{log['line']}"
            if log["text"].strip():
                current.lines.append(log["text"].strip())
        elif line.startswith("    ") and line.strip() and not _GO_RESULT.match(line.strip()):
            current.lines.append(line.strip())
        else:
            current = None
    if not failures:
        return None
    # A parent test fails with its subtests: keep the leaves, which hold the messages.
    leaves = [f for f in failures if f.lines or not any(o.name.startswith(f.name + "/") for o in failures)]
    return Failures("go test", leaves)


# cargo test: "---- name stdout ----" blocks with the panic, then "test result: FAILED. 1 passed; 2 failed".

_CARGO_BLOCK = re.compile(r"^---- (?P<name>\S+) stdout ----$")
_CARGO_PANIC = re.compile(r"panicked at (?P<file>[^\s:]+):(?P<line>\d+):\d+:?$")
_CARGO_RESULT = re.compile(
    r"^test result: \w+\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; (?P<ignored>\d+) ignored"
)


def cargo_failures(output: str) -> Failures | None:
    lines = output.splitlines()
    if not any(_CARGO_RESULT.match(line) for line in lines):
        return None
    failures: list[Failure] = []
    current: Failure | None = None
    for line in lines:
        block = _CARGO_BLOCK.match(line)
        if block:
            current = Failure(block["name"])
            failures.append(current)
            continue
        if current is None:
            continue
        if line.strip() in ("failures:", "successes:") or _CARGO_RESULT.match(line):
            current = None
            continue
        panic = _CARGO_PANIC.search(line)
        if panic:
            current.where = f"{panic['file']}:{panic['line']}"
            continue
        if line.strip() and not line.startswith("note: run with `RUST_BACKTRACE"):
            current.lines.append(line.strip())
    if not failures:
        return None
    # Tests run in threads and report as they finish: by name, the same failures read the same every time.
    failures.sort(key=lambda f: f.name)
    passed = failed = 0
    for line in lines:
        if match := _CARGO_RESULT.match(line):
            passed += int(match["passed"])
            failed += int(match["failed"])
    return Failures("cargo test", failures, str(failed), str(passed + failed))


# Catch (v2): a test case's name between dashed lines, then "file:line: FAILED:" and the expansion.

_CATCH_RULE = re.compile(r"^-{20,}$")
_CATCH_FAILED = re.compile(r"^(?P<file>\S+?):(?P<line>\d+): FAILED:$")
_CATCH_TOTALS = re.compile(r"^test cases:\s*(?P<total>\d+) \|(?:\s*\d+ passed \|)?\s*(?P<failed>\d+) failed")


def catch_failures(output: str) -> Failures | None:
    lines = output.splitlines()
    if not any("Catch v" in line or _CATCH_TOTALS.match(line) for line in lines):
        return None
    failures: list[Failure] = []
    case = ""
    current: Failure | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if _CATCH_RULE.match(line) and index + 2 < len(lines) and _CATCH_RULE.match(lines[index + 2]):
            case = lines[index + 1].strip()
            current = None
            index += 3
            continue
        failed = _CATCH_FAILED.match(line)
        if failed:
            current = Failure(case or "(unnamed test case)", f"{failed['file'].rsplit('/', 1)[-1]}:{failed['line']}")
            failures.append(current)
        elif current is not None:
            if line.startswith("==="):
                current = None
            elif line.strip() and not line.startswith("..."):
                text = line.strip()
                if current.lines and current.lines[-1].endswith(":"):
                    current.lines[-1] += f" {text}"
                else:
                    current.lines.append(text)
        index += 1
    if not failures:
        return None
    failed_count = total = None
    for line in lines:
        if match := _CATCH_TOTALS.match(line):
            failed_count, total = match["failed"], match["total"]
    return Failures("Catch", failures, failed_count, total, noun="test case")


# JUnit 5's console launcher: "Failures (N):", then per test "  JUnit Jupiter:Class:method()", its
# "=> Error: message" lines and the stack; "[ 6 tests failed ]" in the closing table.

_JUNIT_TEST = re.compile(r"^  JUnit [\w ]+:(?P<name>.+)$")
_JUNIT_FRAME = re.compile(r"^\s+(?:at )?[\w$.<>]+\((?P<file>[\w$]+\.java):(?P<line>\d+)\)$")
_JUNIT_COUNT = re.compile(r"^\[\s*(?P<n>\d+) tests (?P<what>found|failed)\s*\]$")


def junit_failures(output: str) -> Failures | None:
    lines = output.splitlines()
    if not any(line.startswith("Failures (") for line in lines):
        return None
    failures: list[Failure] = []
    current: Failure | None = None
    in_stack = False
    for line in lines:
        test = _JUNIT_TEST.match(line)
        if test:
            current = Failure(test["name"].replace(":", "."))
            failures.append(current)
            in_stack = False
            continue
        if current is None or not line.strip() or line.strip().startswith(("MethodSource", "ClassSource", "[...]")):
            continue
        if line.startswith("Test run finished"):
            current = None
            continue
        frame = _JUNIT_FRAME.match(line)
        if frame or line.lstrip().startswith("at "):
            in_stack = True
            if frame and not current.where and "Test" in frame["file"]:
                current.where = f"{frame['file']}:{frame['line']}"
            continue
        if not in_stack and line.strip() != "Throwable that failed the check:":
            current.lines.append(line.strip().removeprefix("=> "))
    if not failures:
        return None
    counts = {m["what"]: m["n"] for m in map(_JUNIT_COUNT.match, lines) if m}
    return Failures("JUnit", failures, counts.get("failed"), counts.get("found"))


# Compilers: the first errors with their locations (gcc/clang and go's file:line:col: ..., rustc's
# error[E0425]: ... --> file:line:col), which a build's last lines (make's "Error 2") do not name.

_CC_ERROR = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?:\d+:)? (?:fatal )?error: (?P<text>.+)$")
_RUST_ERROR = re.compile(r"^error(?:\[(?P<code>E\d+)\])?: (?P<text>.+)$")
_GO_ERROR = re.compile(r"^(?:\./)?(?P<file>[\w./-]+\.go):(?P<line>\d+):\d+: (?P<text>.+)$")
_RUST_AT = re.compile(r"^\s*--> (?P<file>[^\s:]+):(?P<line>\d+):\d+")


def compiler_errors(output: str) -> Failures | None:
    lines = output.splitlines()
    failures: list[Failure] = []
    for index, line in enumerate(lines):
        cc = _CC_ERROR.match(line) or _GO_ERROR.match(line)
        if cc:
            failures.append(Failure(cc["text"].strip(), f"{cc['file'].rsplit('/', 1)[-1]}:{cc['line']}"))
            continue
        rust = _RUST_ERROR.match(line)
        if rust and not rust["text"].startswith(("could not compile", "test failed", "aborting")):
            where = ""
            for follow in lines[index + 1 : index + 3]:
                if at := _RUST_AT.match(follow):
                    where = f"{at['file']}:{at['line']}"
            failures.append(Failure(rust["text"].strip(), where))
    if not failures:
        return None
    unique = list({(f.name, f.where): f for f in failures}.values())
    return Failures("the build", unique, str(len(unique)), None, noun="error")


PARSERS: tuple[Callable[[str], Failures | None], ...] = (
    cargo_failures,
    catch_failures,
    junit_failures,
    jest_failures,
    go_failures,
    pytest_failures,
    compiler_errors,
)


def find(output: str) -> Failures | None:
    for parse in PARSERS:
        found = parse(output)
        if found is not None:
            return found
    return None


def summarise(output: str, max_lines: int = 40) -> str | None:
    """The failing tests (or compile errors) in ``output``, at most ``max_lines`` lines; None when no
    parser recognises it."""
    found = find(output)
    return render(found, max_lines) if found is not None else None
