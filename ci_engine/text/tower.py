"""A uniform view of an open_clip text tower, and whether its fast paths are exact.

The fast paths rely on two properties of open_clip's CLIP text transformer: a causal
attention mask (a position never sees later ones) and pooling at the end-of-text
token, which has the largest id. Then positions after EOT never influence the
feature, and a shared prefix's keys and values do not depend on what follows it.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)


class TextTower:
    """The text parts of a ``CLIP`` (attributes on the model) or ``CustomTextCLIP`` (``model.text``)."""

    def __init__(self, model: nn.Module) -> None:
        text = getattr(model, "text", None)
        self.module = text if isinstance(text, nn.Module) else model

    @property
    def pool_type(self) -> str:
        """How the tower pools: "argmax" is at the end-of-text token."""
        return getattr(self.module, "pool_type", None) or getattr(self.module, "text_pool_type", "argmax")

    def cast_dtype(self) -> torch.dtype:
        """The dtype the transformer runs in."""
        return self.module.transformer.get_cast_dtype()

    def project(self, pooled: torch.Tensor) -> torch.Tensor:
        """The text projection (a matrix, a Linear, or none)."""
        proj = self.module.text_projection
        if proj is None:
            return pooled
        return proj(pooled) if isinstance(proj, nn.Linear) else pooled @ proj

    def embed(self, tokens: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Token plus position embeddings for positions ``start .. start + L``."""
        cast = self.cast_dtype()
        pos = self.module.positional_embedding[start : start + tokens.shape[1]]
        x = self.module.token_embedding(tokens).to(cast)
        return x + pos.to(x.device, cast)  # a host may keep weights off the compute device

    def pool(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Final norm, then the features at each row's end-of-text token, projected."""
        rows = torch.arange(x.shape[0], device=x.device)
        return self.project(self.module.ln_final(x[rows, tokens.argmax(dim=-1)]))


def truncation_ineligible_reason(tower: TextTower, tokens_simple: bool) -> str | None:
    """Why encoding at the real token length would change features, or None if exact."""
    needed = ("token_embedding", "positional_embedding", "transformer", "ln_final")
    if not all(hasattr(tower.module, name) for name in needed):
        return "its text tower is not an open_clip text transformer (e.g. a Hugging Face model)"
    if getattr(tower.module, "attn_mask", None) is None:
        return "its text attention is not causal"
    if getattr(tower.module, "cls_emb", None) is not None:
        return "it pools a CLS token appended after the text (CoCa style)"
    if tower.pool_type != "argmax":
        return f"it pools by '{tower.pool_type}', not at the end-of-text token"
    if not tokens_simple:
        return "its tokenizer is not open_clip's CLIP tokenizer"
    return None


def prefix_ineligible_reason(tower: TextTower) -> str | None:
    """Why the prefix key/value reuse cannot reproduce this tower's blocks, or None."""
    from open_clip.transformer import ResidualAttentionBlock

    for block in tower.module.transformer.resblocks:
        if callable(getattr(block, "qkv", None)):  # a host layer's view (``hf_layout``) gives its own q, k, v
            continue
        if type(block) is not ResidualAttentionBlock or hasattr(block, "ln_1_kv"):
            return f"its text blocks are {type(block).__name__}, not plain residual attention blocks"
        attn = block.attn
        packed = getattr(attn, "_qkv_same_embed_dim", False)  # private to torch: absent means unsupported
        if not (isinstance(attn, nn.MultiheadAttention) and packed and attn.batch_first):
            return "its attention layers are not standard batch-first multi-head attention"
        if attn.bias_k is not None or attn.add_zero_attn:
            return "its attention layers add extra key/value slots"
    return None


def normalize(features: torch.Tensor) -> torch.Tensor:
    """Upstream's normalisation (divide by the norm; no epsilon clamp)."""
    return features / features.norm(dim=-1, keepdim=True)


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, L, H*d) -> (B, H, L, d)."""
    b, length, width = x.shape
    return x.view(b, length, heads, width // heads).transpose(1, 2)


def qkv(block: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Queries, keys and values of one block for hidden states ``x``, split into heads."""
    if callable(getattr(block, "qkv", None)):
        return block.qkv(x)
    attn = block.attn
    q, k, v = F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
    return split_heads(q, attn.num_heads), split_heads(k, attn.num_heads), split_heads(v, attn.num_heads)
