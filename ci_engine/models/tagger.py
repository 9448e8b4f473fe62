"""A loaded booru tagger (SmilingWolf's WD v3, through timm) and its preprocessing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..errors import InputError
from ..tags.select import TagSet, select_tags
from ..tags.style import TagStyle
from ..tags.text import Tag
from .caption_style import CaptionStyle

BATCH = 16  # images per forward pass
WHITE = (255, 255, 255)


def on_white(image: Image.Image) -> Image.Image:
    """RGB with transparent pixels composited on white (the taggers were trained so)."""
    if image.mode not in ("RGB", "RGBA"):
        transparent = "transparency" in image.info or image.mode in ("LA", "PA")
        image = image.convert("RGBA" if transparent else "RGB")
    if image.mode == "RGBA":
        canvas = Image.new("RGBA", image.size, (*WHITE, 255))
        canvas.alpha_composite(image)
        image = canvas
    return image.convert("RGB")


def padded_square(image: Image.Image) -> Image.Image:
    """``image`` centred on a white square as wide as its longer side."""
    side = max(image.size)
    canvas = Image.new("RGB", (side, side), WHITE)
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


class Tagger(nn.Module):
    """A timm tagger, its tag list and input config (``size``: (height, width); ``mean`` and
    ``std`` per RGB channel, from the model's pretrained config)."""

    def __init__(self, model: nn.Module, tagset: TagSet, name: str, config: dict) -> None:
        super().__init__()
        self.model = model
        self.tagset = tagset
        self.name = name
        self.size = tuple(int(s) for s in config["input_size"][-2:])
        self.mean = tuple(float(m) for m in config.get("mean", (0.5, 0.5, 0.5)))
        self.std = tuple(float(s) for s in config.get("std", (0.5, 0.5, 0.5)))

    @property
    def device(self) -> torch.device:
        """Where the tagger's weights are now."""
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the tagger computes in."""
        return next(self.model.parameters()).dtype

    def check_style(self, style: CaptionStyle) -> None:
        """A tagger writes tags, not captions: any caption style but the default is an error."""
        if style != CaptionStyle():
            raise InputError(
                f"'{self.name}' is a tagger: it takes tag options (thresholds, rating, order), not a caption "
                "style. Leave the caption style out, or use a caption model."
            )

    def pixels(self, image: Image.Image) -> torch.Tensor:
        """(3, H, W): on white, padded square on white, resized (bicubic), normalised, BGR."""
        square = padded_square(on_white(image)).resize(self.size[::-1], Image.BICUBIC)
        array = np.asarray(square, dtype=np.float32) / 255.0
        array = (array - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return torch.from_numpy(array[:, :, ::-1].copy()).permute(2, 0, 1)  # RGB -> BGR

    @torch.no_grad()
    def scores(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """(B, classes) probabilities in fp32, ``BATCH`` images per forward pass."""
        out = []
        for start in range(0, len(images), BATCH):
            batch = torch.stack([self.pixels(image) for image in images[start : start + BATCH]])
            logits = self.model(batch.to(self.device, self.dtype))
            out.append(torch.sigmoid(logits.float()).cpu())
        return torch.cat(out)

    def tag(
        self, images: Sequence[Image.Image], style: TagStyle, excluded: frozenset[str] = frozenset()
    ) -> list[list[Tag]]:
        """Each image's tags, chosen and ordered by ``style``, without ``excluded``."""
        return [select_tags(row.numpy(), self.tagset, style, excluded) for row in self.scores(list(images))]
