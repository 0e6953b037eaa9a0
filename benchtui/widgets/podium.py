"""A podium card: one of the engine's rankings (fastest, most efficient, most autonomous), top three.

The card renders what ``engine.rankings.rank`` returned; it never orders models itself.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from benchtui.engine.rankings import RANKINGS
from benchtui.widgets.format import number

MEDALS = ("1st", "2nd", "3rd")
SHORT_UNITS = {"interventions": "interv."}


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

    def show(self, entries: list[dict[str, Any]], names: dict[str, str]) -> None:
        """``entries``: the engine's ranking list ({rank, model, value}); ``names``: key -> display name."""
        _icon, _title, _key, unit = RANKINGS[self.ranking]
        text = Text(no_wrap=True, overflow="ellipsis")
        unit = SHORT_UNITS.get(unit, unit)
        if not entries:
            text.append("no model passed", style="dim")
        for i, entry in enumerate(entries[:3]):
            if i:
                text.append("\n")
            text.append(f"{MEDALS[i]} ", style="bold" if i == 0 else "dim")
            text.append(names.get(entry["model"], entry["model"]), style="bold" if i == 0 else "")
            text.append(f"  {number(entry.get('value'), '.2f' if unit == 's' else '.1f')} {unit}", style="dim")
        self.set_class(not entries, "-empty")
        self.update(text)
