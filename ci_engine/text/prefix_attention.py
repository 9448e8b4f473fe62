"""Encode many "prefix, label" texts sharing one prefix, computing the prefix once.

With a causal mask, the prefix positions' hidden states (and so each layer's keys and
values) are the same whatever follows them. We run the prefix once, keep its per-layer
keys/values, and run only each candidate's own tokens, attending to the kept prefix.
The result equals encoding the whole window (see ``tests/test_fast_paths.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .tower import TextTower, qkv


class PrefixState:
    """Per-layer keys and values of a prefix, each (heads, P, head_dim); None for no prefix."""

    def __init__(self, length: int, keys: list, values: list) -> None:
        self.length = length
        self.keys = keys
        self.values = values

    @classmethod
    def empty(cls, layers: int) -> PrefixState:
        """No shared prefix: rows are whole windows (SOT .. EOT)."""
        return cls(0, [None] * layers, [None] * layers)


def _attention(q, k, v, past_k, past_v, query_pos: torch.Tensor) -> torch.Tensor:
    """Attention of (B, H, Lq, d) queries over the shared prefix and their own row's tokens.

    ``query_pos`` (Lq,) or (B, Lq) gives each query's position among the row's L tokens;
    a query sees the whole prefix and the row's tokens up to its own position.
    """
    b, h, lq, d = q.shape
    p = past_k.shape[1] if past_k is not None else 0
    scale = 1.0 / math.sqrt(d)
    scores = (q @ k.transpose(-1, -2)).float() * scale
    later = torch.arange(k.shape[2], device=q.device) > query_pos.unsqueeze(-1)
    scores.masked_fill_(later.view(-1 if later.ndim == 3 else 1, 1, lq, k.shape[2]), float("-inf"))
    if p:
        # one (H, B*Lq, d) @ (H, d, P) product: the prefix is shared, never copied per row
        flat_q = q.transpose(0, 1).reshape(h, b * lq, d)
        past = (flat_q @ past_k.transpose(-1, -2)).float() * scale
        scores = torch.cat([past.view(h, b, lq, p).transpose(0, 1), scores], dim=-1)
    probs = scores.softmax(dim=-1).to(q.dtype)
    out = probs[..., p:] @ v
    if p:
        flat_p = probs[..., :p].transpose(0, 1).reshape(h, b * lq, p)
        out = out + (flat_p @ past_v).view(h, b, lq, d).transpose(0, 1)
    return out.transpose(1, 2).reshape(b, lq, h * d)


def layer(
    block: nn.Module,
    x: torch.Tensor,
    past_k: torch.Tensor | None = None,
    past_v: torch.Tensor | None = None,
    eot: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One residual attention block; returns the new states and this input's keys/values.

    With ``eot`` (B,) only each row's end-of-text position is carried forward (last layer).
    """
    q, k, v = qkv(block, x)
    if eot is None:
        query_pos = torch.arange(x.shape[1], device=x.device)
    else:
        rows = torch.arange(x.shape[0], device=x.device)
        q, x, query_pos = q[rows, :, eot].unsqueeze(2), x[rows, eot].unsqueeze(1), eot.unsqueeze(1)
    attn = _attention(q, k, v, past_k, past_v, query_pos)
    x = x + block.ls_1(block.attn.out_proj(attn))
    x = x + block.ls_2(block.mlp(block.ln_2(x)))
    return x, k, v


@torch.no_grad()
def encode_prefix(tower: TextTower, prefix: Sequence[int], device: torch.device) -> PrefixState:
    """Runs the prefix tokens (starting with SOT) once and keeps every layer's keys/values."""
    tokens = torch.tensor([list(prefix)], dtype=torch.long, device=device)
    x = tower.embed(tokens)
    keys, values = [], []
    for block in tower.module.transformer.resblocks:
        x, k, v = layer(block, x)
        keys.append(k[0])
        values.append(v[0])
    return PrefixState(len(prefix), keys, values)


@torch.no_grad()
def encode_suffixes(tower: TextTower, state: PrefixState, suffixes: torch.Tensor) -> torch.Tensor:
    """Pooled, projected features of (B, L) suffix tokens (each ending in EOT, zero padded)."""
    x = tower.embed(suffixes, start=state.length)
    eot = suffixes.argmax(dim=-1)
    blocks = tower.module.transformer.resblocks
    for i, (block, k, v) in enumerate(zip(blocks, state.keys, state.values)):
        x, _, _ = layer(block, x, k, v, eot if i == len(blocks) - 1 else None)
    return tower.project(tower.module.ln_final(x[:, 0]))
