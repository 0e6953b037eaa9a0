"""A batch comparison (``engine.compare``) in words and cells, for both faces: the headless ``compare``
summary and the TUI's comparison screen show the same rows, the same verdicts and the same notes."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from benchtui.engine.metrics import REPAIRED_MARK, repaired_text
from benchtui.engine.textsafety import strip_control
from benchtui.present.format import number, percent, plural, safe_text

VERDICT_STYLES = {"regressed": "bold red", "improved": "bold green", "unchanged": "dim", "untested": "dim"}
METRIC_WORDS = {
    "success_rate": "success rate",
    "median_passed_time_s": "median time ✓",
    "median_passed_tokens": "median tokens ✓",
    "median_passed_prompts": "median prompts ✓",
    "median_passed_interventions": "median interventions ✓",
}
COLUMNS = {
    "model": "Contestant",
    "success": "Success A → B",
    "runs": "Passed A → B",
    "p": "p (Holm)",
    "verdict": "Verdict",
    "time": "Time ✓ A → B",
    "tokens": "Tokens ✓ A → B",
}


def verdict_text(verdict: Any) -> Text:
    word = str(verdict or "untested")
    return Text(word, style=VERDICT_STYLES.get(word, ""))


def p_text(value: Any) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _shown(metric: str, value: Any) -> str:
    if metric == "success_rate":
        return percent(value)
    if metric == "median_passed_time_s":
        return number(value, ".2f", " s")
    return number(value, ".0f")


def _arrow(metric: str, before: Any, after: Any, verdict: Any = None) -> Text:
    text = Text(f"{_shown(metric, before)} → {_shown(metric, after)}")
    if verdict in ("regressed", "improved"):
        text.stylize(VERDICT_STYLES[str(verdict)])
    return text


def contestant_rows(data: dict[str, Any]) -> list[dict[str, Text]]:
    """One row per shared contestant, keyed like ``COLUMNS``."""
    rows = []
    for entry in data.get("contestants") or []:
        a, b, success = entry.get("a") or {}, entry.get("b") or {}, entry.get("success") or {}
        medians = entry.get("medians") or {}
        time, tokens = medians.get("median_passed_time_s") or {}, medians.get("median_passed_tokens") or {}
        rows.append(
            {
                "model": _contestant(entry),
                "success": _arrow("success_rate", a.get("success_rate"), b.get("success_rate"), success.get("verdict")),
                "runs": Text(f"{a.get('passed')}/{a.get('runs')} → {b.get('passed')}/{b.get('runs')}", style="dim"),
                "p": Text(p_text(success.get("p_adjusted"))),
                "verdict": verdict_text(success.get("verdict")),
                "time": _arrow("median_passed_time_s", time.get("a"), time.get("b"), time.get("verdict")),
                "tokens": _arrow("median_passed_tokens", tokens.get("a"), tokens.get("b"), tokens.get("verdict")),
            }
        )
    return rows


def _repaired_counts(entry: dict[str, Any]) -> tuple[Any, Any] | None:
    """A contestant's repaired tool calls (A, B) when the gateway repaired some on either side."""
    a, b = (entry.get("a") or {}).get("repaired_tool_calls"), (entry.get("b") or {}).get("repaired_tool_calls")
    return (a, b) if repaired_text(a) or repaired_text(b) else None


def _contestant(entry: dict[str, Any]) -> Text:
    """The name, after the repair mark when its model needed tool calls repaired in either batch (the mark
    first: a long name is cut at its end)."""
    name = safe_text(entry.get("model"))
    return Text(f"{REPAIRED_MARK} ").append_text(name) if _repaired_counts(entry) else name


def change_lines(data: dict[str, Any]) -> list[Text]:
    """One line per significant change, regressions first: ``✗ ollama/x regressed on task t: success rate …``."""
    lines = []
    for change in list(data.get("regressions") or []) + list(data.get("improvements") or []):
        verdict, metric = str(change.get("verdict")), str(change.get("metric"))
        where = f" on {strip_control(str(change.get('task_id')))}" if change.get("task_id") else ""
        lines.append(
            Text.assemble(
                ("✗ " if verdict == "regressed" else "✓ ", VERDICT_STYLES.get(verdict, "")),
                (f"{strip_control(str(change.get('model')))} {verdict}{where}: ", VERDICT_STYLES.get(verdict, "")),
                f"{METRIC_WORDS.get(metric, metric)} {_shown(metric, change.get('a'))} → "
                f"{_shown(metric, change.get('b'))} (p {p_text(change.get('p_adjusted'))}, Holm)",
            )
        )
    return lines


def notes(data: dict[str, Any]) -> list[str]:
    """What the comparison left out and why, and what it found overall."""
    found = []
    shared = data.get("shared") or {}
    for side, label in (("only_in_a", "Only in A"), ("only_in_b", "Only in B")):
        only = data.get(side) or {}
        parts = []
        if only.get("models"):
            parts.append("contestants " + ", ".join(strip_control(str(m)) for m in only["models"]))
        if only.get("tasks"):
            parts.append("tasks " + ", ".join(strip_control(str(t)) for t in only["tasks"]))
        if parts:
            found.append(f"{label} (left out): " + "; ".join(parts))
    if data.get("changed_tasks"):
        edited = ", ".join(strip_control(str(t)) for t in data["changed_tasks"])
        found.append(f"Edited between the batches (compared anyway): {edited}")
    repaired = [
        f"{strip_control(str(c.get('model')))} {number(counts[0], 'd')} → {number(counts[1], 'd')}"
        for c in data.get("contestants") or []
        if (counts := _repaired_counts(c)) is not None
    ]
    if repaired:
        found.append(
            f"{REPAIRED_MARK} Tool calls written as text, made real calls by the gateway (repair_tool_calls), "
            f"A → B: {', '.join(repaired)}"
        )
    models, tasks = shared.get("models") or [], shared.get("tasks") or []
    found.append(f"Compared on {plural(len(models), 'contestant')} × {plural(len(tasks), 'task')} in both.")
    if not any(c.get("metric") == "success_rate" for c in success_changes(data)):
        found.append("No significant change in any success rate (p < 0.05 after Holm's correction).")
    return found


def success_changes(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The flagged changes of success rates (a contestant's or a task cell's), regressions first."""
    flagged = list(data.get("regressions") or []) + list(data.get("improvements") or [])
    return [c for c in flagged if c.get("metric") == "success_rate"]


def regressed_models(data: dict[str, Any]) -> list[str]:
    """The contestants with a significant success regression (overall or on a task), in order."""
    found = [str(c.get("model")) for c in success_changes(data) if c.get("verdict") == "regressed"]
    return sorted(set(found))


def regressed(data: dict[str, Any]) -> bool:
    """Whether a success rate regressed significantly: what ``benchtui compare`` exits 1 for.

    Times (and so tokens/s) measure the machine and the server as much as the model: a slower median on a
    busier machine is flagged, but it does not fail the comparison."""
    return any(c.get("verdict") == "regressed" for c in success_changes(data))
