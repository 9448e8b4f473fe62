"""ComfyUI's IMAGE tensors as the PIL images the engine takes."""

from __future__ import annotations

import torch
from PIL import Image

from ...ci_engine.errors import InputError


def tensor_to_images(batch: torch.Tensor) -> list[Image.Image]:
    """ComfyUI IMAGE (B, H, W, C floats in 0..1) to RGB images, recovering 8-bit values exactly."""
    if batch.ndim == 3:
        batch = batch.unsqueeze(0)
    if batch.ndim != 4 or batch.shape[-1] not in (1, 3, 4):
        raise InputError(f"Expected an image batch shaped (B, H, W, C), got {tuple(batch.shape)}.")
    if 0 in batch.shape[:3]:
        raise InputError(f"The image batch is empty or has a zero-sized side: {tuple(batch.shape)}.")
    return [_to_image(image) for image in batch]  # one at a time: one float copy, not a batch's


def _to_image(image: torch.Tensor) -> Image.Image:
    pixels = image[..., :3] if image.shape[-1] >= 3 else image.expand(*image.shape[:2], 3)
    pixels = pixels.detach().float().cpu().nan_to_num(0.0).clamp(0, 1)
    return Image.fromarray((pixels * 255).round().to(torch.uint8).numpy())
