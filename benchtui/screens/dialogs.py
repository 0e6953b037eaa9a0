"""Modal dialogs: the help (``?``) for the current screen, and yes/no confirmations."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Markdown

GLOBAL_HELP = """\
## Everywhere

| Key | Action |
|---|---|
| 1 2 3 4 5 | Tasks, Models, Run, Results, History (or click the bar on top) |
| r | run the marked tasks on the selected models (History: resume) |
| ctrl+p | command palette: every action by name |
| ? | this help |
| q / ctrl+q | quit (a running batch is stopped cleanly and stays resumable) |

A batch is: the tasks marked on **Tasks** × the models selected on **Models** × repeats.
Results live in the results folder (`--output`, else the user data folder); `benchtui history`
and `benchtui report ID` read the same folder.
"""


class HelpScreen(ModalScreen[None]):
    """Keys of the screen it was opened from, then the global keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close"),
    ]

    def __init__(self, screen_help: str) -> None:
        super().__init__()
        self.screen_help = screen_help

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            with VerticalScroll():
                yield Markdown(self.screen_help + "\n\n" + GLOBAL_HELP, id="help-text")
            yield Label("esc closes", id="help-close")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A question with Yes (y) and No (n / esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(self.question, id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", id="confirm-yes", variant="warning")
                yield Button(f"{self.no} (n)", id="confirm-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
