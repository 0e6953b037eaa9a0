"""The benchtui engine: tasks, models, providers, the agent loop, the runner, results and reports.

Plain Python (threads, httpx). It never imports Textual: the TUI and the headless mode are two
listeners over this same engine, so they can never disagree.
"""
