"""Exit codes (design §5b), the one definition: the command line returns them and the app exits with them.

They live here, below both, because the app (which may not import ``benchtui.cli``) sets its own return code.
"""

from __future__ import annotations

EXIT_OK = 0  # the batch (or command) finished
EXIT_INTERNAL = 1  # an internal error, a failed batch, problems found (``tasks validate``), a regression (compare)
EXIT_BAD_INPUT = 2  # bad input: one line on stderr says what
EXIT_INTERRUPTED = 3  # a batch was interrupted; it stays resumable
