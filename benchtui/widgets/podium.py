"""A podium card: one of the engine's rankings (fastest, most efficient, most autonomous), top three.

The card renders what ``engine.rankings.rank`` returned; it never orders models itself.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from benchtui.engine.rankings import RANKINGS
from benchtui.present.format import number

MEDALS = ("1st", "2nd", "3rd")
SHORT_UNITS = {"interventions": "interv."}
WIDE_CARD = 30  # narrower cards say 1 2 3 rather than 1st 2nd 3rd, to leave the name a few more letters


class Podium(Static):
    """The first three of one ranking, with their values and units."""

    DEFAULT_CSS = """
    Podium {
        width: 1fr;
        height: 100%;
        border: round $primary;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    Podium.-empty { border: round $panel; }
    """

    def __init__(self, ranking: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ranking = ranking
        icon, title, _key, _unit = RANKINGS[ranking]
        self.border_title = f"{icon} {title}"
        self._entries: list[dict[str, Any]] = []
        self._names: dict[str, str] = {}
        self._tied_first: set[str] = set()

    def show(self, entries: list[dict[str, Any]], names: dict[str, str]) -> None:
        """``entries``: the engine's ranking list ({rank, model, value}); ``names``: key -> display name."""
        self._entries, self._names = entries[:3], names
        self.set_class(not entries, "-empty")
        # The order is drawn; a first place that the intervals cannot separate from the next is said.
        self._tied_first = set(entries[0].get("tied_with") or ()) if entries else set()
        self.border_subtitle = "1st is a tie" if self._tied_first else ""
        self.update(self._text(self.content_size.width))

    def on_resize(self) -> None:
        if self._entries:
            self.update(self._text(self.content_size.width))

    def _text(self, width: int) -> Text:
        # The value is what the card is for: a narrow card cuts the name, never the figure.
        _icon, _title, _key, unit = RANKINGS[self.ranking]
        unit = SHORT_UNITS.get(unit, unit)
        text = Text(no_wrap=True, overflow="ellipsis")
        if not self._entries:
            text.append("no model passed", style="dim")
        for i, entry in enumerate(self._entries):
            if i:
                text.append("\n")
            shared = i and entry["model"] in self._tied_first
            medal = (f"={MEDALS[0]} " if shared else f"{MEDALS[i]} ") if width >= WIDE_CARD else f"{i + 1} "
            if shared and width < WIDE_CARD:
                medal = "=1 "
            value = f"  {number(entry.get('value'), '.2f' if unit == 's' else '.1f')} {unit}"
            name = names_cut(self._names.get(entry["model"], entry["model"]), width - len(medal) - len(value))
            text.append(medal, style="bold" if i == 0 else "dim")
            text.append(name, style="bold" if i == 0 else "")
            text.append(value, style="dim")
        return text


def names_cut(name: str, room: int) -> str:
    """``name`` in at most ``room`` cells (at least a few letters and an ellipsis); 0 or less: unknown."""
    if room <= 0 or len(name) <= room:
        return name
    return name[: max(room - 1, 3)] + "…"
