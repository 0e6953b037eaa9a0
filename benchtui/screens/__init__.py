"""The TUI's screens, one module each: tasks, models, run, results, history, dialogs, and the command palette."""
