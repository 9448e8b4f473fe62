"""The package version. It is written in one place, ``pyproject.toml`` (the Comfy Registry
reads it there); a source checkout reads that file, an installed package its metadata."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

DISTRIBUTION = "ci-prompt-interrogator"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def read_version() -> str:
    """``pyproject.toml``'s ``[project] version`` beside the package, else the installed metadata."""
    if PYPROJECT.is_file():
        match = re.search(r'^version\s*=\s*"([^"]+)"', PYPROJECT.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            return match.group(1)
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = read_version()
