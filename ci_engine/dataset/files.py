"""Which images a dataset run reads, where their sidecars go, and the roots nothing may leave."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError
from ..images import IMAGE_SUFFIXES

log = logging.getLogger(__name__)
ON_EXISTING = ("skip", "overwrite", "append")


def inside(root: Path, path: Path) -> bool:
    """Whether ``path``, with every symlink resolved, lies in ``root`` (resolved too)."""
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    return os.path.commonpath([real_root, real]) == real_root


def find_images(root: Path, recursive: bool = True) -> Iterator[Path]:
    """Images under ``root``, folder by folder in sorted order; hidden files, and links that
    lead out of ``root``, are left out."""
    if not root.is_dir():
        raise InputError(f"Dataset folder '{root}' does not exist or is not a folder.")
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        for name in sorted(files):
            path = Path(folder) / name
            if name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if inside(root, path):
                yield path
            else:
                log.warning("Skipping %s: it links outside %s.", path, root)


def read_list_file(list_file: Path) -> list[Path]:
    """Image paths, one per line (relative ones from the list file's folder); "#" starts a comment."""
    try:
        lines = list_file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read image list '{list_file}': {exc}. Give a UTF-8 file, one path per line.") from exc
    paths = [list_file.parent / line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not paths:
        raise InputError(f"Image list '{list_file}' names no images: put one path per line.")
    return paths


def sidecar_of(image: Path) -> Path:
    """``photo.jpg`` -> ``photo.txt``, the caption file training tools read."""
    return image.with_suffix(".txt")


JOINING = " \t\r\n,"  # what users type at the end of a prefix or the start of a suffix ("tok, ")


def sidecar_text(prefix: str, prompt: str, suffix: str) -> str:
    """Prefix, prompt and suffix joined by ", " (empty parts left out), one line. A separator
    typed at a joining end (``--prefix "tok, "``, ``--suffix ", end"``) is not doubled."""
    parts = (prefix.strip().rstrip(JOINING), prompt.strip(), suffix.strip().lstrip(JOINING))
    return ", ".join(part for part in parts if part)


def appended(existing: str, text: str) -> str:
    """``text`` added after what a sidecar already holds, joined by ", "; not again when it
    already ends with it (a run killed after the sidecar but before its manifest row)."""
    if existing.strip().endswith(text):
        return existing.strip()
    return ", ".join(part for part in (existing.strip(), text) if part)


def resolve_in_roots(name: str, roots: list[Path]) -> Path:
    """The folder ``name`` (relative, as listed) under one of ``roots``; never outside them."""
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise InputError(f"Dataset folder '{name}' must be a folder from the list, not a path of its own.")
    for root in roots:
        candidate = root / name
        if candidate.is_dir() and inside(root, candidate):
            return candidate
    raise InputError(f"Dataset folder '{name}' is not in {', '.join(map(str, roots)) or 'any dataset root'}.")


def list_folders(roots: list[Path], depth: int = 2) -> list[str]:
    """Folders under ``roots`` (``depth`` levels), as names ``resolve_in_roots`` takes."""
    found: list[str] = []
    for root in roots:
        for folder, dirs, _ in os.walk(root, followlinks=False):
            rel = Path(folder).relative_to(root)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if len(rel.parts) < depth else []
            if rel.parts and inside(root, Path(folder)) and rel.as_posix() not in found:
                found.append(rel.as_posix())
    return found
