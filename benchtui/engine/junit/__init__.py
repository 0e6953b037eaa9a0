"""The Java check of imported Exercism exercises: ``benchtui-junit`` (shipped here) compiles the sources with
javac and runs them with JUnit 5's console launcher and AssertJ, all offline.

Exercism's Java exercises build with Gradle, which fetches JUnit and AssertJ from Maven Central: there is
no network in the check sandbox. Debian packages both (``junit5``, ``libassertj-core-java``), so the check
uses those jars where they are installed, and the task is unavailable, naming the packages, where not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PROGRAM = "benchtui-junit"
JAR_FOLDERS = (Path("/usr/share/java"), Path("/usr/local/share/java"))
JARS = ("junit-platform-console-standalone.jar", "assertj-core.jar")
_INSTALL = "install a JDK, JUnit 5 and AssertJ (apt-get install default-jdk junit5 libassertj-core-java)"


def bin_dir() -> Path:
    return Path(__file__).resolve().parent


def unavailable_reason() -> str | None:
    """Why a ``benchtui-junit`` check cannot run here, or None."""
    missing = [tool for tool in ("javac", "java") if shutil.which(tool) is None]
    missing += [jar for jar in JARS if not any((folder / jar).is_file() for folder in JAR_FOLDERS)]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        return f"its check needs {', '.join(missing)}, which {verb} not installed here: {_INSTALL}"
    return None
