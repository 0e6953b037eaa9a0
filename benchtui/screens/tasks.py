"""The Tasks screen: the task library as a tree by level, a Markdown preview, and marks for the next batch."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Markdown, Static

from benchtui.screens.base import BenchScreen
from benchtui.widgets.task_tree import TaskTree, task_markdown

EMPTY_PREVIEW = "*Highlight a task to see its prompt, check, turns, timeout and hints.*"


class TasksScreen(BenchScreen):
    """Pick the tasks of the next batch."""

    MODE = "tasks"
    HELP = """\
**Tasks**: the task library (`./tasks`, or the `--task` paths), grouped by level.

| Key | Action |
|---|---|
| ↑ ↓ | move; the preview follows |
| space | mark / unmark the task (on a level: the whole level) |
| a / n | mark every task / clear the marks |
| r | run the marked tasks on the chosen models |
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "app.start_batch", "Run batch"),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        session = self.session
        with Horizontal(id="tasks-body"):
            with Vertical(id="tasks-left"):
                yield Label(self._heading(), id="tasks-heading", classes="pane-title")
                if session.tasks:
                    yield TaskTree(session.tasks, session.marked_tasks, id="task-tree")
                else:
                    yield Static(self._empty_text(), id="tasks-empty", classes="empty-state")
            with VerticalScroll(id="task-preview"):
                yield Markdown(EMPTY_PREVIEW if session.tasks else "", id="task-markdown")
        yield Label("", id="tasks-summary", classes="summary-line")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.set_class(not self.session.tasks, "-empty")
        self._update_summary()

    def _heading(self) -> Text:
        sources = ", ".join(self.session.task_sources) or "tasks/"
        return Text(f"Task library · {sources}")

    def _empty_text(self) -> Text:
        session = self.session
        text = Text("No tasks found.\n\n", style="bold")
        if session.task_error:
            text.append(session.task_error + "\n\n", style="red")
        text.append(
            "benchtui looks for task files in ./tasks (one folder per level: smoke, easy, medium, "
            "hard), or in the paths given with --task.\nSee docs/TASKS.md to write one.",
            style="dim",
        )
        return text

    @on(TaskTree.MarksChanged)
    def _marks_changed(self, event: TaskTree.MarksChanged) -> None:
        self.session.marked_tasks = list(event.marked)
        self._update_summary()

    @on(TaskTree.TaskHighlighted)
    async def _preview(self, event: TaskTree.TaskHighlighted) -> None:
        markdown = self.query_one("#task-markdown", Markdown)
        await markdown.update(task_markdown(event.task) if event.task else EMPTY_PREVIEW)

    def _update_summary(self) -> None:
        self.query_one("#tasks-summary", Label).update(Text(self.session.batch_summary()))

    def refresh_from_session(self) -> None:
        trees = self.query(TaskTree)
        if trees:
            trees.first().set_marked(self.session.marked_tasks)
        self._update_summary()
