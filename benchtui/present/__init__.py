"""What both faces show, without Textual: the live board, formatting, the batch options and their checks,
and the app's Session.

Shared by the app (``app.py``, ``screens/``, ``widgets/``) and the headless command line (``cli/``); it
builds on the engine and never imports Textual (import-linter contracts in pyproject.toml).
"""
