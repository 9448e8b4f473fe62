"""Images in: files and folders of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def expand_inputs(paths: list[str | os.PathLike]) -> list[Path]:
    """Files as given; each folder becomes its images (sorted, not recursive)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise InputError(f"Folder '{path}' has no images ({', '.join(sorted(IMAGE_SUFFIXES))}).")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise InputError(f"Image '{path}' does not exist. Check the path.")
    return out


def check_image(path: str | os.PathLike) -> None:
    """Reads only the header: an ``InputError`` now for a file that is no image or far too
    large, before any model loads; the pixels are decoded later, a batch at a time."""
    with _opened(path):
        pass


def load_image(path: str | os.PathLike) -> Image.Image:
    """An RGB image, or an ``InputError`` saying why the file cannot be read."""
    with _opened(path) as image:
        return _decoded(path, image)


@contextmanager
def _opened(path: str | os.PathLike) -> Iterator[Image.Image]:
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise InputError(f"Image '{path}' is too large to open safely ({exc}). Resize it first.") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"Cannot read image '{path}': not a supported image file ({exc}).") from exc
    with image:
        yield image


def _decoded(path: str | os.PathLike, image: Image.Image) -> Image.Image:
    try:
        return image.convert("RGB")
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read image '{path}': the file is damaged ({exc}).") from exc
