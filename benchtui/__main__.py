"""`python -m benchtui` runs the same command line as the `benchtui` console script."""

from __future__ import annotations

import sys

from benchtui.cli import main

sys.exit(main())
