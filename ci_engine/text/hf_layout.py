"""An open_clip-shaped view of a CLIP text model in the Hugging Face layout, sharing its weights.

ComfyUI's ``comfy.clip_model.CLIPTextModel`` and transformers' ``CLIPTextModelWithProjection``
keep CLIP's text tower as ``text_model.embeddings`` / ``encoder.layers`` / ``final_layer_norm``
plus ``text_projection``, with separate q, k and v projections. open_clip packs q, k and v into
one matrix, so building an open_clip tower from these weights would copy them. This view instead
calls the host's own modules, so the fast paths (truncation, prefix reuse) run on the host's
tensors. Nothing here is an ``nn.Module``: a bundle holding the view must not register, move or
count the host's weights (the host's model management owns them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace

import torch
from torch import nn

from . import prefix_attention
from .tower import split_heads


class HostBlock:
    """One encoder layer seen as open_clip's residual attention block (for ``prefix_attention``)."""

    def __init__(self, layer: nn.Module, heads: int) -> None:
        self.layer = layer
        self.heads = heads
        self.attn = SimpleNamespace(out_proj=layer.self_attn.out_proj, num_heads=heads)
        self.ls_1 = self.ls_2 = nn.Identity()  # open_clip's layer scale: none in this layout

    @property
    def ln_2(self) -> nn.Module:
        """The norm before the MLP."""
        return self.layer.layer_norm2

    @property
    def mlp(self) -> nn.Module:
        """The feed-forward block."""
        return self.layer.mlp

    def qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values of this layer for hidden states ``x``, split into heads."""
        attn, h = self.layer.self_attn, self.layer.layer_norm1(x)
        return tuple(split_heads(proj(h), self.heads) for proj in (attn.q_proj, attn.k_proj, attn.v_proj))


class HostLayers:
    """The encoder layers as open_clip's ``transformer``: causal, whole rows."""

    def __init__(self, layers: nn.ModuleList, heads: int, dtype: torch.dtype) -> None:
        self.resblocks = [HostBlock(layer, heads) for layer in layers]
        self.width = layers[0].layer_norm1.normalized_shape[0]
        self.dtype = dtype

    def get_cast_dtype(self) -> torch.dtype:
        """The dtype the layers compute in."""
        return self.dtype

    def __call__(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states after every layer (the mask is always causal here)."""
        for block in self.resblocks:
            x, _, _ = prefix_attention.layer(block, x)
        return x


class HostTextTower:
    """open_clip's text-tower attributes over a Hugging Face-layout text model (no copies).

    ``forward`` is the host's own full forward: (N, 77) token ids to projected features at the
    end-of-text token. It is the plain path the fast paths are checked against.
    """

    def __init__(
        self, model: nn.Module, heads: int, forward: Callable[[torch.Tensor], torch.Tensor], dtype: torch.dtype
    ) -> None:
        self._model = model
        self._text = model.text_model
        self._forward = forward
        self.transformer = HostLayers(self._text.encoder.layers, heads, dtype)
        context = self._text.embeddings.position_embedding.num_embeddings
        # only checked for presence: HostLayers is causal whatever it is given
        self.attn_mask = torch.full((context, context), float("-inf")).triu_(1)

    @property
    def token_embedding(self) -> nn.Module:
        """The host's token embedding."""
        return self._text.embeddings.token_embedding

    @property
    def positional_embedding(self) -> torch.Tensor:
        """The host's position embeddings."""
        # read on every use: the host may swap the Parameter (LoRA patches, offloading)
        return self._text.embeddings.position_embedding.weight

    @property
    def ln_final(self) -> nn.Module:
        """The final layer norm."""
        return self._text.final_layer_norm

    @property
    def text_projection(self) -> nn.Module:
        """The host's projection to the shared embedding space."""
        return self._model.text_projection

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """The host's own forward on full windows (unnormalised projected features)."""
        return self._forward(tokens)

    def parameters(self) -> Iterator[nn.Parameter]:
        """The host model's parameters (where the text runs, and in what dtype)."""
        return self._model.parameters()

    def modules(self) -> Iterator[nn.Module]:
        """The host model's modules."""
        return self._model.modules()


def text_shape(model: nn.Module) -> tuple[int, int]:
    """(width, layers) of a Hugging Face-layout CLIP text model."""
    layers = model.text_model.encoder.layers
    return layers[0].layer_norm1.normalized_shape[0], len(layers)


def is_text_model(module: object) -> bool:
    """Whether ``module`` is a CLIP text model in the Hugging Face layout with a projection."""
    text = getattr(module, "text_model", None)
    needed = ("embeddings", "encoder", "final_layer_norm")
    return hasattr(module, "text_projection") and text is not None and all(hasattr(text, n) for n in needed)
