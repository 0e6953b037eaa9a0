"""Every text benchtui sends to an assistant (the first prompt, the continuation after a failed check),
and their digest, which enters an assistant pair's fingerprint (as prompts.digest() does the edit loop's).

Kept apart from engine/prompts.py on purpose: a change here must not change the fingerprint of the
built-in loop's runs (their resume), and the edit loop's texts (edit formats, file dumps) mean nothing to
an assistant, which reads the files itself.
"""

from __future__ import annotations

import hashlib

TEXTS_VERSION = "1"
CHECK_OUTPUT_CHARS = 4000


def first_prompt(task_prompt: str) -> str:
    return (
        f"{task_prompt.strip()}\n\n"
        "The project is in the current directory. Edit its files to do the task; do not ask questions, "
        "nobody will answer. A hidden check decides whether the task is done."
    )


def continuation(check_output: str | None, hint: str | None, typed: list[str], exit_code: int | None = None) -> str:
    """After a failed check: its output's tail, the next scripted hint, what a person typed."""
    parts = ["The hidden check still fails" + (f" (exit code {exit_code})." if exit_code is not None else ".")]
    tail = (check_output or "")[-CHECK_OUTPUT_CHARS:].strip()
    if tail:
        parts.append(f"Its output (last part):\n```\n{tail}\n```")
    elif check_output is not None:
        parts.append("It printed nothing.")
    if hint:
        parts.append(f"Hint: {hint}")
    for message in typed:
        parts.append(f"A message from the person running the benchmark: {message}")
    parts.append("Fix the code so that the check passes.")
    return "\n\n".join(parts)


def digest() -> str:
    sample = first_prompt("{task}") + continuation("{output}", "{hint}", ["{typed}"], 1) + continuation("", None, [])
    return hashlib.sha256(f"{TEXTS_VERSION}|{sample}".encode()).hexdigest()[:12]
