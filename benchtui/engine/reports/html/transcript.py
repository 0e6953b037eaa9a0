"""A run's transcript in the HTML report: one entry per prompt, reply, edit and check, its extra fields
in words ("applied to greet.py · 1 edit block"), long texts cut, and the page's detail budget spent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchtui.engine.reports.html import format as fmt
from benchtui.engine.reports.html.budget import ENTRY_CHARS, Budget
from benchtui.engine.reports.html.format import esc

HUMAN_KINDS = {"hint": "hint", "human": "typed message"}

_META: dict[str, Callable[[Any], str]] = {
    "prompt_tokens": lambda v: f"{fmt.integer(v)} tokens in",
    "completion_tokens": lambda v: f"{fmt.integer(v)} tokens out",
    "duration_s": lambda v: f"took {fmt.seconds(v)}",
    "tokens_per_s": lambda v: f"{fmt.rate(v)} tok/s",
    "finish_reason": lambda v: f"finish: {v}",
    "exit_code": lambda v: f"exit code {v}",
    "timed_out": lambda v: "timed out" if v else "",
    "attempts": lambda v: f"{v} {fmt.plural(fmt.number(v) or 0, 'attempt')}",
    # an edits entry: "applied to greet.py · 1 edit block · changed nothing", never "applied ['greet.py']"
    "applied": lambda v: f"applied to {_words(v)}" if v else "",
    "parsed": lambda v: f"{v} edit {fmt.plural(fmt.number(v) or 0, 'block')}",
    "failed": lambda v: f"{v} failed {fmt.plural(fmt.number(v) or 0, 'edit')}" if v else "",
    "error": lambda v: f"error: {_words(v)}",
}


def _words(value: Any) -> str:
    """A stored value as a reader says it: lists as ``a, b``, mappings as ``key value``, no Python syntax."""
    if isinstance(value, list | tuple):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{str(k).replace('_', ' ')} {_words(v)}" for k, v in value.items())
    return str(value)


def _meta_words(key: str, value: Any) -> str:
    """An entry field without a wording of its own: a true flag is its name, a false or empty one nothing."""
    name = key.replace("_", " ")
    if isinstance(value, bool):
        return name if value else ""
    if isinstance(value, list | tuple | dict) and not value:
        return ""
    return f"{name} {_words(value)}"


def _entry_meta(entry: dict[str, Any]) -> str:
    """The entry's extra fields in words: "at 2.50 s · 600 tokens in · took 2.40 s · finish: stop"."""
    parts = [f"at {fmt.seconds(entry['at_s'])}"] if fmt.number(entry.get("at_s")) is not None else []
    for key, value in entry.items():
        if key in ("turn", "kind", "role", "content", "at_s") or value is None or value == "":
            continue
        shown = _META[key](value) if key in _META else _meta_words(key, value)
        if shown:
            parts.append(shown)
    return " · ".join(parts)


def transcript(entries: list[dict[str, Any]], budget: Budget) -> str:
    out = ['<ol class="transcript">']
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("kind") or "")
        css = (
            f"k-{kind}"
            if kind in ("system", "prompt", "reply", "edits", "check", "hint", "human", "error")
            else "k-other"
        )
        content = str(entry.get("content") or "")
        cut = ""
        if len(content) > ENTRY_CHARS:
            cut = f"… {len(content) - ENTRY_CHARS:,} more characters in the run file"
            content = content[:ENTRY_CHARS]
        head = [
            f'<li class="{css}"><div class="entry-head"><span class="turn">Turn {esc(entry.get("turn"))}</span>',
            f'<span class="badge">{esc(kind or "entry")}</span>',
        ]
        if entry.get("role"):
            head.append(f'<span class="muted">{esc(entry.get("role"))}</span>')
        if kind in HUMAN_KINDS:
            head.append(f'<span class="badge human">human intervention: {HUMAN_KINDS[kind]}</span>')
        meta = _entry_meta(entry)
        if meta:
            head.append(f'<span class="meta">{esc(meta)}</span>')
        head.append("</div>")
        out.extend(head)
        if not budget.spend(len(content), "transcript entry"):
            out.append('<p class="note">Text left out to keep this page fast; it is in the run file.</p></li>')
            continue
        if kind == "system":
            out.append(
                f'<details class="part"><summary>System prompt ({len(content):,} characters)</summary>'
                f"<pre>{esc(content)}</pre></details>"
            )
        else:
            out.append(f"<pre>{esc(content)}</pre>")
        if cut:
            out.append(f'<p class="note">{esc(cut)}</p>')
        out.append("</li>")
    out.append("</ol>")
    return "".join(out)
