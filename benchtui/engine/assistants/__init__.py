"""Real coding assistants as contestants: the adapter shapes (``base``), the adapters by name
(``registry``), installing them into benchtui's data folder (``install``), one module per assistant.

Stdlib only below ``registry`` (no httpx, no platformdirs at import): ``.ci/run`` installs the
assistants with ``python3 -m benchtui.engine.assistants.install all`` before benchtui's venv exists.
"""

BUILTIN = "benchtui"
"""The name of benchtui's own edit loop among the assistants (the default contestant). Here rather than in
``base``, so a batch of the built-in loop alone names it without loading the adapter shapes (pairs.py)."""
