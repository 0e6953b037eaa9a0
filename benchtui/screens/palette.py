"""The command palette's provider (ctrl+p): every benchtui action by name, wherever you are.

Each command runs an app action, so the palette, the keys and the footer always do the same thing.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (title, help, app action)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Go to Tasks", "The task library: mark the tasks of the next batch", "goto('tasks')"),
    ("Go to Models", "Choose models and batch options", "goto('models')"),
    ("Go to Run", "The live grid of the running batch", "goto('run')"),
    ("Go to Results", "Podiums, leaderboard, diffs and transcripts", "goto('results')"),
    ("Go to History", "Past batches: open or resume", "goto('history')"),
    ("Run batch", "Run the marked tasks on the selected models", "start_batch"),
    ("Mark all tasks", "Mark every task of the library", "mark_all_tasks"),
    ("Clear task marks", "Unmark every task", "clear_task_marks"),
    ("Select all models", "Select every available model", "select_all_models"),
    ("Select no model", "Unselect every model", "select_no_models"),
    ("Cancel selected run", "Cancel the run highlighted on the Run screen", "cancel_selected_run"),
    ("Cancel batch", "Stop the running batch (resumable from History)", "cancel_batch"),
    ("Message the selected model", "Type a message for the highlighted running model", "message_selected"),
    ("Export reports", "Write the JSON/CSV/HTML reports of the batch shown in Results", "export"),
    ("Zoom run detail", "Give the diff and transcript of Results the whole screen (again: back)", "zoom_detail"),
    ("Open selected batch", "Show the results of the batch highlighted in History", "open_selected_batch"),
    ("Resume selected batch", "Resume the batch highlighted in History", "resume_selected"),
    ("Reload history", "Read the results folder again", "reload_history"),
    ("Help", "Keys of this screen and everywhere", "help"),
    ("Quit", "Quit benchtui (a running batch is stopped cleanly, resumable)", "quit"),
)


class BenchCommands(Provider):
    """benchtui's actions for the command palette."""

    async def discover(self) -> Hits:
        for title, help_text, action in COMMANDS:
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in COMMANDS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self.app.run_action, action), text=title, help=help_text
                )
