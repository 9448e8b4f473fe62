"""A CLIP model with its tokenizer, text encoder and label tables, as one module.

Label embeddings are buffers of this module, so a host that moves the module
(ComfyUI's model management) moves and accounts for them too.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from torch import nn

from .devices import autocast_for
from .text_encoder import TextEncoder
from .text_tower import normalize
from .tokens import Tokens


class ClipBundle(nn.Module):
    """open_clip model + preprocessing + tokenization + label tables."""

    def __init__(self, model: nn.Module, preprocess, tokenizer, name: str) -> None:
        super().__init__()
        self.model = model
        self.tables = nn.ModuleDict()
        self.preprocess = preprocess
        self.name = name
        self.tokens = Tokens(tokenizer)
        self.text = TextEncoder(model, self.tokens)
        self._embed_dim: int | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def embed_dim(self) -> int:
        """Width of the text (and image) features."""
        if self._embed_dim is None:
            self._embed_dim = int(self.text.encode_exact([""]).shape[-1])
        return self._embed_dim

    def autocast(self):
        return autocast_for(self.device, self.dtype)

    @torch.no_grad()
    def image_features(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Normalised image features (B, D), one row per image, in the model's dtype."""
        batch = torch.stack([self.preprocess(image) for image in images]).to(self.device)
        with self.autocast():
            return normalize(self.model.encode_image(batch))
