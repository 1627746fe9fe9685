"""Where eitest finds its shipped data and keeps the user's own files."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    # A wheel carries the top-level data folders inside the package (eitest/_data/NAME);
    # a source checkout or editable install reads them from the repository root.
    inside = _PACKAGE / "_data" / name
    return inside if inside.is_dir() else _PACKAGE.parent / name


def package_instrument_dir() -> Path:
    return _shipped("instruments")


def package_norms_dir() -> Path:
    return _shipped("human_norms")


def package_analysis_dir() -> Path:
    return _shipped("analysis")


def user_home() -> Path:
    """The user data directory: ``$EITEST_HOME`` or the platform's user data dir."""
    env = os.environ.get("EITEST_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("eitest", appauthor=False))


def user_instrument_dir() -> Path:
    return user_home() / "instruments"


def user_norms_dir() -> Path:
    return user_home() / "human_norms"
