"""Where benchtui keeps things on disk: one module over platformdirs.

Every folder can be redirected by environment so tests (and users with unusual setups) never touch the
real home folder: ``BENCHTUI_DATA_DIR`` moves the results, ``BENCHTUI_CONFIG`` names the models config,
``BENCHTUI_CACHE_DIR`` moves caches (the joined embedded model weights), ``BENCHTUI_ASSISTANTS_DIR``
the installed assistants (aider, Claude Code, ...: ``benchtui assistants install``).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "benchtui"
CONFIG_FILE_NAME = "models_config.yaml"


def data_dir() -> Path:
    """The user data folder; batches live under ``results/`` inside it."""
    override = os.environ.get("BENCHTUI_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def default_results_dir() -> Path:
    """Where batch folders go when ``--output`` is not given."""
    return data_dir() / "results"


def assistants_dir() -> Path:
    """Where ``benchtui assistants install`` puts each assistant (its own venv or node_modules)."""
    override = os.environ.get("BENCHTUI_ASSISTANTS_DIR")
    return Path(override) if override else data_dir() / "assistants"


def cache_dir() -> Path:
    override = os.environ.get("BENCHTUI_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def user_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILE_NAME


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The models config to use, in the documented look-up order.

    ``--config``, then ``BENCHTUI_CONFIG``, then ``./models_config.yaml``, then the user config folder.
    An explicit path (flag or environment) is returned even when missing, so the loader can name it in
    its error; the implicit locations are only used when they exist.
    """
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("BENCHTUI_CONFIG")
    if from_env:
        return Path(from_env)
    for candidate in (Path.cwd() / CONFIG_FILE_NAME, user_config_file()):
        if candidate.is_file():
            return candidate
    return None
