"""The batch options (``--parallel``, ``--timeout``, ``--repeats``): one rule for each, one builder.

The command line checks its flags and the Models screen its typed fields against the same rules; each face
words the problem its own way (``--timeout must be ..., got 0`` on stderr; ``timeout must be ...`` under the
field).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the checks run before anything is loaded (``--no-ui`` checks its flags first)
    from benchtui.engine.config import ModelsConfig
    from benchtui.engine.runner import BatchOptions


def option_problem(name: str, value: float | None) -> str | None:
    """What is wrong with ``value`` for the option ``name`` (``must be ...``), or None when it may be used."""
    if name == "parallel" and value is not None and value < 0:
        return "must be 0 (each endpoint's default) or more"
    if name == "timeout" and (value is None or not math.isfinite(value) or value <= 0):
        return "must be a positive number of seconds"
    if name == "repeats" and (value is None or value < 1):
        return "must be at least 1"
    return None


def batch_options(
    config: ModelsConfig, parallel: int | None = None, timeout_s: float | None = None, repeats: int | None = None
) -> BatchOptions:
    """The options of a new batch: the given values over BatchOptions' defaults, the config's embedded threads.

    ``parallel`` None is one run at a time, BatchOptions' default too."""
    from benchtui.engine.runner import BatchOptions

    options = BatchOptions(parallel=parallel, embedded_threads=config.embedded_threads)
    if timeout_s is not None:
        options = replace(options, timeout_s=timeout_s)
    return options if repeats is None else replace(options, repeats=repeats)


def with_option(options: BatchOptions, name: str, text: str) -> tuple[BatchOptions, str | None]:
    """``options`` with the option ``name`` set from typed ``text`` (empty ``parallel``: one run at a time), or
    ``options`` unchanged and the message to show. An unknown name changes nothing."""
    text = text.strip()
    try:
        if name == "parallel":
            parallel = int(text) if text else None
            problem = option_problem(name, parallel)
            changed = replace(options, parallel=parallel)
        elif name == "timeout":
            timeout = float(text)
            problem = option_problem(name, timeout)
            changed = replace(options, timeout_s=timeout)
        elif name == "repeats":
            repeats = int(text)
            problem = option_problem(name, repeats)
            changed = replace(options, repeats=repeats)
        else:
            return options, None
    except ValueError:
        return options, f"{name}: expected a number, got {text!r}"
    return (options, f"{name} {problem}") if problem is not None else (changed, None)
