"""The task library as a tree by level (smoke / easy / medium / hard), with marks for the next batch.

Space marks or unmarks the highlighted task (on a level, every task of that level). The tree posts
``TaskTree.MarksChanged`` with the marked ids and ``TaskTree.TaskHighlighted`` for the preview.
``task_markdown`` renders a task for the preview pane.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from benchtui.engine.tasks import DIFFICULTIES, Task

MARK_ON, MARK_OFF = "◉", "○"


def task_markdown(task: Task) -> str:
    """The preview of a task: title, limits, check, the prompt as written, and how many hints it has."""
    hints = len(task.hints)

    # Plain paragraphs rather than a table or a code block: they wrap, so a narrow pane cuts nothing.
    check = task.check.replace("`", "'")
    return "\n".join(
        [
            f"# {_md_escape(task.title)}",
            "",
            f"`{task.id}` · {task.difficulty} · {task.max_turns} turns · timeout {task.timeout_s:g} s · "
            f"{hints} hint{'' if hints == 1 else 's'}",
            "",
            f"**Check:** `{check}`",
            "",
            *(
                [f"**Cannot run here:** {_md_escape(task.unavailable_reason)}. Batches skip this task.", ""]
                if task.unavailable_reason
                else []
            ),
            "## Prompt",
            "",
            task.prompt.strip(),
            "",
            f"*{hints} scripted hint(s), given one per stuck turn and counted as human interventions.*",
        ]
    )


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in text)


@dataclass(frozen=True)
class _Level:
    name: str


class TaskTree(Tree[Any]):
    """Tasks grouped by level; marked tasks carry a filled dot."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "Mark", show=True),
        Binding("a", "mark_all", "Mark all"),
        Binding("n", "mark_none", "Clear marks"),
    ]

    @dataclass
    class MarksChanged(Message):
        """The set of marked tasks changed."""

        tree: TaskTree
        marked: tuple[str, ...]

    @dataclass
    class TaskHighlighted(Message):
        """The cursor moved onto a task (None: onto a level or the root)."""

        tree: TaskTree
        task: Task | None

    def __init__(self, tasks: Sequence[Task], marked: Iterable[str] = (), label: str = "tasks", **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.tasks = list(tasks)
        self.marked: set[str] = set(marked)
        self.show_root = False
        self.guide_depth = 3

    def on_mount(self) -> None:
        self.build()
        self.call_after_refresh(self._highlight_first_task)

    def _highlight_first_task(self) -> None:
        first = next((n for level in self.root.children for n in level.children), None)
        if first is not None and self.cursor_line < 0:
            self.move_cursor(first)

    def build(self) -> None:
        self.clear()
        levels = [d for d in DIFFICULTIES if any(t.difficulty == d for t in self.tasks)]
        for level in levels:
            node = self.root.add(self._level_label(level), data=_Level(level), expand=True)
            for task in self.tasks:
                if task.difficulty == level:
                    node.add_leaf(self._task_label(task), data=task)
        self.root.expand()

    def _task_label(self, task: Task) -> Text:
        on = task.id in self.marked
        label = Text(f"{MARK_ON if on else MARK_OFF} ", style="bold green" if on else "dim")
        label.append(task.id, style="bold" if on else "" if task.available else "dim strike")
        label.append(f"  {task.title}" if task.available else "  cannot run here", style="dim")
        return label

    def _level_label(self, level: str) -> Text:
        members = [t for t in self.tasks if t.difficulty == level]
        marked = sum(1 for t in members if t.id in self.marked)
        label = Text(level, style="bold")
        label.append(f"  {marked}/{len(members)} marked" if marked else f"  {len(members)}", style="dim")
        return label

    def _relabel(self) -> None:
        for level_node in self.root.children:
            level = level_node.data
            if isinstance(level, _Level):
                level_node.set_label(self._level_label(level.name))
            for node in level_node.children:
                if isinstance(node.data, Task):
                    node.set_label(self._task_label(node.data))

    def _changed(self) -> None:
        self._relabel()
        self.post_message(self.MarksChanged(self, tuple(t.id for t in self.tasks if t.id in self.marked)))

    def action_toggle_mark(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if isinstance(node.data, Task):
            self.marked ^= {node.data.id}
        elif isinstance(node.data, _Level):
            ids = {t.id for t in self.tasks if t.difficulty == node.data.name}
            self.marked = self.marked - ids if ids <= self.marked else self.marked | ids
        self._changed()

    def action_mark_all(self) -> None:
        self.marked = {t.id for t in self.tasks}
        self._changed()

    def action_mark_none(self) -> None:
        self.marked = set()
        self._changed()

    def set_marked(self, ids: Iterable[str]) -> None:
        self.marked = set(ids)
        self._relabel()

    def node_for(self, task_id: str) -> TreeNode[Any] | None:
        for level_node in self.root.children:
            for node in level_node.children:
                if isinstance(node.data, Task) and node.data.id == task_id:
                    return node
        return None

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        event.stop()
        data = event.node.data
        self.post_message(self.TaskHighlighted(self, data if isinstance(data, Task) else None))
