"""Reusable widgets of the TUI: navigation bar, task tree, progress grid, sortable tables, podiums, run detail."""
