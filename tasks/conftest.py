# The check files under tasks/ are meant to run inside a prepared task workspace
# (see docs/TASKS.md), not as part of benchtui's own test suite. Keep a plain
# `pytest` run from the repository root from collecting them.
collect_ignore_glob = ["*"]
