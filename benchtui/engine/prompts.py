"""Every text benchtui sends to a model, in one place, with a version recorded in each result.

A prompt change changes the benchmark: the run fingerprint (runner.run_fingerprint) covers ``digest()``, a
hash of every text below rendered over fixed specimens, so editing a sentence reruns the runs it decides on
resume. PROMPT_VERSION, recorded in each result, is still bumped with any wording change. The
shape follows aider's edit-block prompts: the rules stated once, one short worked example, and the
files shown with their paths exactly as they must be written back.

The worked examples must share nothing with any shipped task (no file name, no function, no line): a
model copies an example's SEARCH text, so an example that is a task's own bug leaks the answer.
``benchtui tasks validate`` checks that against EXAMPLES.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator

PROMPT_VERSION = "2026-12-01.3"

_DIFF_RULES = """\
You are an expert software engineer. You change code by replying with SEARCH/REPLACE blocks.

Every SEARCH/REPLACE block looks like this:
1. the file path alone on a line, exactly as shown to you;
2. a fence line: ```
3. the line <<<<<<< SEARCH
4. lines copied EXACTLY from the current file (enough to be unique);
5. the line =======
6. the new lines that replace them;
7. the line >>>>>>> REPLACE
8. a closing fence line: ```

To create a new file, give its path and leave the SEARCH part empty.
Only the blocks are applied. Keep explanations short.

Example. To correct the offset in to_fahrenheit() in temps.py:

temps.py
```
<<<<<<< SEARCH
    return celsius * 9 / 5 + 23
=======
    return celsius * 9 / 5 + 32
>>>>>>> REPLACE
```
"""

_WHOLE_RULES = """\
You are an expert software engineer. You change code by replying with the complete new content of each
file you change:
1. the file path alone on a line, exactly as shown to you;
2. a fenced code block holding the ENTIRE new file content (never a fragment, never "..." ).

Example. To correct the offset in to_fahrenheit() in temps.py:

temps.py
```
def to_fahrenheit(celsius):
    return celsius * 9 / 5 + 32
```
"""

EXAMPLES = (_DIFF_RULES[_DIFF_RULES.index("Example.") :], _WHOLE_RULES[_WHOLE_RULES.index("Example.") :])
"""The worked examples of the system prompts, which no shipped task may share a file or a line with."""


def system_prompt(edit_format: str) -> str:
    return _WHOLE_RULES if edit_format == "whole" else _DIFF_RULES


def render_files(files: Iterable[tuple[str, str]]) -> str:
    """Files as the model must refer to them: path alone on a line, then the fenced content."""
    parts = []
    for path, content in files:
        body = content if content.endswith("\n") or not content else content + "\n"
        parts.append(f"{path}\n```\n{body}```")
    return "\n\n".join(parts)


def first_prompt(task_prompt: str, files: list[tuple[str, str]], edit_format: str, *, refreshed: bool = False) -> str:
    """The task and the files. ``refreshed``: sent again in place of the first prompt when older turns no
    longer fit the model's context; their file dumps were stale, so the files as they are now stand here."""
    how = "SEARCH/REPLACE blocks" if edit_format != "whole" else "complete files"
    listing = render_files(files) if files else "(the workspace is empty)"
    intro = (
        "Earlier turns were left out to fit your context window. These are the files of the project as they are now:"
        if refreshed
        else "These are the files of the project:"
    )
    return f"{task_prompt.strip()}\n\n{intro}\n\n{listing}\n\nReply with {how} that make the change."


def cut_off_block(path: str | None, *, whole: bool) -> str:
    """Why a block the reply ended inside was not applied (it was cut off, most likely at the token limit)."""
    where = f"{path}: your" if path else "Your"
    shorter = (
        "send only the files that change" if whole else "use SEARCH/REPLACE blocks with only the few lines that change"
    )
    return (
        f"{where} reply ended inside an edit block (its closing fence or REPLACE line never came; the "
        f"reply was probably cut off at the output limit), so that block was not applied. Keep the reply "
        f"shorter: {shorter}, and no explanations."
    )


def feedback_prompt(
    *,
    check_output: str | None,
    edit_failures: list[str],
    no_edits: bool,
    changed_nothing: bool = False,
    changed_files: list[tuple[str, str]],
    hint: str | None,
    human_messages: list[str],
    edit_format: str,
) -> str:
    """The next turn's prompt: what went wrong, the current files, and any hint or human message."""
    sections: list[str] = []
    if no_edits:
        how = "SEARCH/REPLACE blocks" if edit_format != "whole" else "a path line and a fenced block per file"
        sections.append(f"Your reply contained no edits I could apply. Reply with {how}, as in the example.")
    if changed_nothing:
        sections.append(
            "Your edits left every file exactly as it was: nothing changed. Change the code that makes the tests fail."
        )
    if edit_failures:
        sections.append("Some edits could not be applied:\n" + "\n".join(f"- {f}" for f in edit_failures))
    if check_output is not None:
        sections.append(f"The tests still fail. Their output ends with:\n```\n{check_output.strip()}\n```")
    if changed_files:
        sections.append(_files_section(changed_files))
    for message in human_messages:
        sections.append(f"A message from the user: {message}")
    if hint:
        sections.append(f"Hint from the user: {hint}")
    sections.append("Fix the problem. Reply with the edits.")
    return "\n\n".join(sections)


def truncated_reply_note(edit_format: str, max_tokens: object = None) -> str:
    """What opens the next prompt after a reply the server cut at the token limit.

    A cut reply looks finished to the model (it never sees where it stopped), so it would send the same
    long reply again; it is told what happened and how to fit."""
    limit = f" of {max_tokens} tokens" if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) else ""
    how = "fewer and smaller SEARCH/REPLACE blocks" if edit_format != "whole" else "one file per reply"
    return (
        f"Your last reply was cut off: it reached the reply length limit{limit} before it ended, and "
        f"everything after that point was lost. Keep the next reply shorter: {how}, no explanations."
    )


def runaway_reply_note(edit_format: str, copies: int) -> str:
    """What opens the next prompt after a reply benchtui stopped because it kept repeating itself.

    The model sees only the reply's first copy of what it repeated, so it is told why the rest is gone."""
    how = "each SEARCH/REPLACE block once" if edit_format != "whole" else "each file once"
    return (
        f"Your last reply was stopped: it repeated the same text {copies} times in a row, so only its first "
        f"copy was kept. Write {how}, then end your reply."
    )


def _files_section(files: list[tuple[str, str]]) -> str:
    return "The files now look like this:\n\n" + render_files(files)


def without_files(feedback: str, changed_files: list[tuple[str, str]]) -> str:
    """``feedback`` less its file dump: what is kept of an older turn once the prompt is refreshed with the
    files as they are now (see first_prompt's ``refreshed``)."""
    if not changed_files:
        return feedback
    section = _files_section(changed_files)
    if "\n\n" + section in feedback:
        return feedback.replace("\n\n" + section, "", 1)
    return feedback.replace(section + "\n\n", "", 1)  # the dump opened the feedback


# Why an edit was not applied. Each goes into the next prompt's "Some edits could not be applied" list.

PATH_REASONS = {
    "nul": "the path contains a NUL byte",
    "too_long": "the path is too long",
    "absolute": "absolute paths are not allowed; use a path relative to the workspace",
    "parent": "'..' is not allowed in paths",
    "no_file": "the path names no file",
    "symlink": "the path goes through a symbolic link",
    "outside": "the path leads outside the workspace",
    "write_symlink": "refusing to write through a symbolic link",
}
"""Why an edit path was refused (edits.PathRejected's messages), shown as ``edit_refused``'s reason."""


def edit_refused(path: str, reason: object) -> str:
    return f"{path}: edit refused: {reason}."


def edit_without_path(*, has_search: bool) -> str:
    """A block that named no file; with SEARCH text that matched no file either, the model is told both."""
    if has_search:
        return (
            "An edit block named no file, and its SEARCH text matches no file exactly: write the path "
            "alone on the line above the block and copy the SEARCH lines exactly from the file."
        )
    return "An edit block had no file path; write the path alone on the line above it."


def edit_unreadable(path: str, error: object) -> str:
    return f"{path}: cannot read the file: {error}."


def edit_missing_file(path: str) -> str:
    return f"{path}: the file does not exist, so its SEARCH text cannot match."


def search_not_found(path: str, search: str) -> str:
    return f"{path}: the SEARCH text did not match any lines of the file exactly:\n{search}"


def block_not_whole(path: str) -> str:
    """A fenced block in a SEARCH/REPLACE reply that is neither the whole file nor whole definitions."""
    return f"{path}: the block is neither the whole file nor complete definitions from it; use SEARCH/REPLACE blocks"


# The fingerprint of the texts.

_SPECIMEN_TAP = """\
TAP version 13
# SyntaxError: specimen
# Subtest: adds
not ok 1 - adds
  ---
  duration_ms: 1.2
  location: 'sum.test.js:3:1'
  failureType: 'testCodeFailure'
  error: 'expected 3, got 4'
  code: 'ERR_ASSERTION'
  ...
# Subtest: loads
not ok 2 - loads
  ---
  duration_ms: 1.2
  failureType: 'testCodeFailure'
  exitCode: 1
  error: 'test failed'
  ...
1..2
# tests 2
# fail 2
"""


# One failing run of each other runner whose output is fed back summarised (engine/failures.py words them).
_SPECIMEN_RUNS = (
    "=================================== FAILURES ===================================\n"
    "___________________________________ test_a ___________________________________\n"
    "E       AssertionError: 1 != 2\n\na_test.py:3: AssertionError\n"
    "=========================== short test summary info ============================\n"
    "FAILED a_test.py::test_a\n1 failed, 1 passed in 0.01s\n",
    "FAIL ./a.spec.js\n  ● a › b\n\n    Expected: 1\n    Received: 2\n\n      at Object.toEqual (a.spec.js:3:4)\n\n"
    "Tests:       1 failed, 1 passed, 2 total\n",
    "--- FAIL: TestA (0.00s)\n    a_test.go:3: got 1, want 2\nFAIL\n",
    "---- a stdout ----\n\nthread 'a' panicked at tests/a.rs:3:5:\nassertion `left == right` failed\n  left: 1\n"
    " right: 2\n\nfailures:\n    a\n\ntest result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured\n",
    "a is a Catch v2.13.6 host application.\n"
    + "-" * 79
    + "\na\n"
    + "-" * 79
    + "\na_test.cpp:1\n"
    + "." * 79
    + "\n\na_test.cpp:3: FAILED:\n  REQUIRE( 1 == 2 )\n\n"
    + "=" * 79
    + "\ntest cases: 2 | 1 passed | 1 failed\n",
    "a.cpp:3:5: error: 'b' was not declared in this scope\n",
    "Failures (1):\n  JUnit Jupiter:ATest:testA()\n    MethodSource [className = 'ATest']\n"
    "    => org.opentest4j.AssertionFailedError: expected: <1> but was: <2>\n"
    "       ATest.testA(ATest.java:3)\n\n[         2 tests found           ]\n[         1 tests failed          ]\n",
)


def _specimens() -> Iterator[str]:
    """Every text a model can read, rendered over fixed arguments: each template and each branch of it."""
    files = [("a.py", "x = 1\n")]
    for edit_format in ("diff", "whole"):
        yield system_prompt(edit_format)
        for refreshed in (False, True):
            yield first_prompt("TASK", files, edit_format, refreshed=refreshed)
        yield first_prompt("TASK", [], edit_format)
        yield feedback_prompt(
            check_output="OUTPUT",
            edit_failures=["FAILURE"],
            no_edits=True,
            changed_nothing=True,
            changed_files=files,
            hint="HINT",
            human_messages=["MESSAGE"],
            edit_format=edit_format,
        )
        yield truncated_reply_note(edit_format, 100)
        yield truncated_reply_note(edit_format)
        yield runaway_reply_note(edit_format, 3)
    for whole in (False, True):
        yield cut_off_block("a.py", whole=whole)
        yield cut_off_block(None, whole=whole)
    yield from PATH_REASONS.values()
    yield edit_refused("a.py", "REASON")
    yield edit_without_path(has_search=True)
    yield edit_without_path(has_search=False)
    yield edit_unreadable("a.py", "ERROR")
    yield edit_missing_file("a.py")
    yield search_not_found("a.py", "SEARCH")
    yield block_not_whole("a.py")
    # A check's output is fed back summarised: checkoutput.py words the summary of node's TAP. Imported
    # here: the run results import this module for PROMPT_VERSION, and checkoutput loads yaml and every
    # runner's failure parser, which nothing needs before a batch plans its fingerprints.
    from benchtui.engine import checkoutput

    yield str(checkoutput.summarise_tap(_SPECIMEN_TAP, 40))
    yield str(checkoutput.summarise_tap(_SPECIMEN_TAP, 4))
    for run in _SPECIMEN_RUNS:
        yield str(checkoutput.summarise_failures(run, 40))
        yield str(checkoutput.summarise_failures(run, 2))


@functools.cache
def digest() -> str:
    """A hash of every rendered text: part of each run's fingerprint, so a reworded sentence is a new benchmark.

    Computed once per process (~0.25 ms, a batch plans a fingerprint per task and model): the texts are
    the source's."""
    sha = hashlib.sha256()
    for text in _specimens():
        sha.update(text.encode())
        sha.update(b"\0")
    return sha.hexdigest()[:16]
