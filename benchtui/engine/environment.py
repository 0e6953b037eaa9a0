"""Facts about the machine a batch ran on, recorded in the manifest and the reports."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from benchtui import __version__


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def describe(ollama_version: str | None = None) -> dict[str, Any]:
    return {
        "benchtui_version": __version__,
        "python": platform.python_version(),
        "python_implementation": sys.implementation.name,
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "ollama_version": ollama_version,
    }
