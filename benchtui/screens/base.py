"""What every top-level screen shares: the navigation bar on top, the footer below, the session.

Screens are given the app's ``Session`` (the marked tasks, the chosen models, the board of the running
batch, the batch shown in Results) and refresh themselves from it whenever they are shown again. They
never import the app: what only the app can do they ask for with a message (``benchtui.messages``) or
an app action.
"""

from __future__ import annotations

import contextlib
from typing import ClassVar

from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer

from benchtui.present.session import Session
from benchtui.widgets.navbar import NavBar

NARROW = 110  # the width below which panes stack (the app's HORIZONTAL_BREAKPOINTS)


class BenchScreen(Screen[None]):
    """A top-level screen (one per app mode)."""

    MODE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose_nav(self) -> ComposeResult:
        yield NavBar(self.MODE)

    def compose_footer(self) -> ComposeResult:
        yield Footer()

    def on_resize(self) -> None:
        # Single spaces between the keys let a screen's keys and q Quit fit 80 columns.
        for footer in self.query(Footer):
            footer.compact = self.size.width < NARROW

    def on_screen_resume(self) -> None:
        self.refresh_from_session()
        self.update_nav_status()

    def update_nav_status(self) -> None:
        """The running batch's progress in the navigation bar."""
        with contextlib.suppress(NoMatches):
            self.query_one(NavBar).set_status(self.session.nav_status())

    def refresh_from_session(self) -> None:
        """Bring the screen up to date with the session (called each time it is shown)."""
