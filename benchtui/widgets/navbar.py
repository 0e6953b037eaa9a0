"""The navigation bar at the top of every screen: the five screens with their keys, the current one lit.

Clicking a name switches to that screen, like the number keys do. A short status on the right (set
by the app) says whether a batch is running.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Static

SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("tasks", "1", "Tasks"),
    ("models", "2", "Models"),
    ("run", "3", "Run"),
    ("results", "4", "Results"),
    ("history", "5", "History"),
)


class NavTab(Label):
    """One entry of the bar; a click switches screen."""

    def __init__(self, mode: str, key: str, title: str, current: bool) -> None:
        super().__init__(f" {key} {title} ", id=f"nav-{mode}", classes="nav-tab -current" if current else "nav-tab")
        self.mode = mode

    async def on_click(self) -> None:
        await self.app.run_action(f"goto('{self.mode}')")


class NavBar(Horizontal):
    """``benchtui`` followed by the screens; the current one is highlighted."""

    def __init__(self, current: str) -> None:
        super().__init__(id="navbar")
        self.current = current

    def compose(self) -> ComposeResult:
        yield Label(" benchtui ", id="nav-brand")
        for mode, key, title in SECTIONS:
            yield NavTab(mode, key, title, mode == self.current)
        yield Static("", id="nav-status")

    def set_status(self, text: str) -> None:
        self.query_one("#nav-status", Static).update(Text(text))
