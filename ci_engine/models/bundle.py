"""A CLIP model with its tokenizer, text encoder and label tables, as one module.

Label embeddings are buffers of this module, so a host that moves the module
(ComfyUI's model management) moves and accounts for them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import torch
from PIL import Image
from torch import nn

from ..devices import autocast_for, weights_dtype
from ..text.encoder import TextEncoder, TextUnavailable
from ..text.tokens import Tokens
from ..text.tower import normalize


class CacheKeyed(Protocol):
    """What ``table`` needs of a ``Vocabulary``: the cache key of each table name."""

    cache_keys: dict[str, str]


class ClipBundle(nn.Module):
    """open_clip model + preprocessing + tokenization + label tables."""

    def __init__(
        self, model: nn.Module, preprocess: Callable, tokenizer: Callable, name: str, text_model: object = None
    ) -> None:
        """``name`` is the cache name of the weights (``ARCH/PRETRAINED`` or ``ARCH/stem-fingerprint``);
        ``text_model`` encodes text when ``model`` does not (a host's text tower, ``models.host``)."""
        super().__init__()
        self.model = model
        self.tables = nn.ModuleDict()
        self.preprocess = preprocess
        self.name = name
        self.tokens = Tokens(tokenizer)
        self.text = TextEncoder(text_model or model, self.tokens)
        self.text_problem: str | None = None  # why this CLIP cannot encode text; None: it can
        self.host_tower = None  # a host's weights: its ``towers.KnownTower``
        self.host_checked = False  # the host text tower's safety net has run (``host_check``)
        self._embed_dim: int | None = None

    def disable_text(self, reason: str) -> None:
        """From now on every text encode fails with ``reason`` (a host's text tower that is
        missing, or that failed the safety net): only cached label tables serve."""
        self.text = TextUnavailable(reason)
        self.text_problem = reason

    def set_embed_dim(self, dim: int) -> None:
        """The feature width, when it is known without encoding text."""
        self._embed_dim = dim

    @property
    def device(self) -> torch.device:
        """Where the CLIP weights are now."""
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype CLIP computes in: its matmul weights', or what a host model says it computes in."""
        return getattr(self.model, "compute_dtype", None) or weights_dtype(self.model)

    @property
    def embed_dim(self) -> int:
        """Width of the text (and image) features."""
        if self._embed_dim is None:
            self._embed_dim = int(self.text.encode_exact([""]).shape[-1])
        return self._embed_dim

    def autocast(self) -> torch.autocast:
        """The autocast context upstream runs CLIP under on this device and dtype."""
        return autocast_for(self.device, self.dtype)

    def table(self, name: str, vocab: CacheKeyed) -> nn.Module:
        """The prepared label table ``name`` of ``vocab`` (a ``Vocabulary``).

        Tables are stored under their cache key: one vocabulary may spell a table's labels
        differently from another (compat's trending sites), and both may be loaded at once.
        """
        key = vocab.cache_keys[name]
        if key not in self.tables:
            raise KeyError(f"Label table '{name}' is not prepared for {self.name}: prepare the mode first.")
        return self.tables[key]

    @torch.no_grad()
    def image_features(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Normalised image features (B, D), one row per image, in the model's dtype."""
        batch = torch.stack([self.preprocess(image) for image in images]).to(self.device)
        if self.device.type != "cuda":  # CUDA autocasts, as upstream; elsewhere fp16/bf16 weights need it cast
            batch = batch.to(self.dtype)
        with self.autocast():
            return normalize(self.model.encode_image(batch))
