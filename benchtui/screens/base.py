"""What every top-level screen shares: the navigation bar on top, the footer below, a typed handle on the app.

Screens read the app's state (the marked tasks, the chosen models, the board of the running batch,
the batch shown in Results) and refresh themselves from it whenever they are shown again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from benchtui.widgets.navbar import NavBar

NARROW = 110  # the width below which panes stack (the app's HORIZONTAL_BREAKPOINTS)

if TYPE_CHECKING:
    from benchtui.app import BenchApp


class BenchScreen(Screen[None]):
    """A top-level screen (one per app mode)."""

    MODE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""

    @property
    def bench(self) -> BenchApp:
        return cast("BenchApp", self.app)

    def compose_nav(self) -> ComposeResult:
        yield NavBar(self.MODE)

    def compose_footer(self) -> ComposeResult:
        yield Footer()

    def on_resize(self) -> None:
        # Single spaces between the keys let a screen's keys and q Quit fit 80 columns.
        for footer in self.query(Footer):
            footer.compact = self.size.width < NARROW

    def on_screen_resume(self) -> None:
        self.refresh_from_app()
        self.bench.update_nav_status()

    def refresh_from_app(self) -> None:
        """Bring the screen up to date with the app's state (called each time it is shown)."""
