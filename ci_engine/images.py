"""Images in: files, folders, and ComfyUI-style float tensors."""

from __future__ import annotations

import os
from pathlib import Path

import torch
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


def load_image(path: str | os.PathLike) -> Image.Image:
    """An RGB image, or an ``InputError`` saying why the file cannot be read."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"Cannot read image '{path}': not a supported image file ({exc}).") from exc


def tensor_to_images(batch: torch.Tensor) -> list[Image.Image]:
    """ComfyUI IMAGE (B, H, W, C floats in 0..1) to RGB images, recovering 8-bit values exactly."""
    if batch.ndim == 3:
        batch = batch.unsqueeze(0)
    if batch.ndim != 4 or batch.shape[-1] not in (1, 3, 4):
        raise InputError(f"Expected an image batch shaped (B, H, W, C), got {tuple(batch.shape)}.")
    pixels = batch[..., :3] if batch.shape[-1] >= 3 else batch.expand(*batch.shape[:3], 3)
    pixels = (pixels.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return [Image.fromarray(p) for p in pixels]
