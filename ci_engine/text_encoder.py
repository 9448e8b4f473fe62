"""Text features for labels and prompts, through the exact fast paths where eligible."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence

import numpy as np
import torch

from . import prefix_attention
from .devices import autocast_for
from .text_tower import TextTower, normalize, prefix_ineligible_reason, truncation_ineligible_reason
from .tokens import TokenIds, Tokens

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def _pad(rows: Sequence[TokenIds], device: torch.device) -> torch.Tensor:
    """Rows zero-padded to the longest one, as one (N, L) tensor."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    out = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
    out[np.arange(out.shape[1]) < lengths[:, None]] = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)
    return torch.from_numpy(out).to(device)


def _length_batches(rows: Sequence[TokenIds], batch_size: int, slack: float = 1.25):
    """Slices of length-sorted rows: at most ``batch_size`` rows, none padded beyond
    ``slack`` times its batch's shortest row, so little work goes to padding."""
    start = 0
    for end in range(1, len(rows) + 1):
        if end == len(rows) or end - start == batch_size or len(rows[end]) > slack * len(rows[start]):
            yield slice(start, end)
            start = end


def _unique(rows: Sequence[TokenIds]) -> tuple[list[TokenIds], list[int]]:
    """Distinct rows, shortest first, and each input's index among them.

    Identical token rows then get bit-identical features, so exact ties stay ties.
    """
    distinct = sorted(set(rows), key=lambda r: (len(r), r))
    position = {row: i for i, row in enumerate(distinct)}
    return distinct, [position[row] for row in rows]


class TextEncoder:
    """Encodes texts with one CLIP text tower; features are normalised as upstream does."""

    def __init__(self, model: torch.nn.Module, tokens: Tokens, batch_size: int = 1024) -> None:
        self.model = model
        self.tokens = tokens
        self.tower = TextTower(model)
        self.batch_size = batch_size
        reason = truncation_ineligible_reason(self.tower, tokens.simple)
        self.truncate = reason is None
        prefix_reason = reason or prefix_ineligible_reason(self.tower)
        self.prefix = prefix_reason is None
        if prefix_reason:
            log.info("Text fast paths off for this CLIP model: %s; using the plain path.", prefix_reason)

    def _context(self):
        param = next(self.model.parameters())
        return param.device, autocast_for(param.device, param.dtype)

    @torch.no_grad()
    def encode_exact(self, texts: Sequence[str]) -> torch.Tensor:
        """The plain path exactly as upstream runs it: one padded batch through ``encode_text``."""
        device, autocast = self._context()
        with autocast:
            return normalize(self.model.encode_text(self.tokens.tensor(texts).to(device)))

    def _forward(self, rows: torch.Tensor) -> torch.Tensor:
        if self.prefix:  # our blocks: the last layer computes only each row's EOT position
            layers = len(self.tower.module.transformer.resblocks)
            return prefix_attention.encode_suffixes(self.tower, prefix_attention.PrefixState.empty(layers), rows)
        if not self.truncate:  # pad to the full window: the model's own path
            full = torch.zeros(rows.shape[0], self.tokens.context_length, dtype=rows.dtype, device=rows.device)
            full[:, : rows.shape[1]] = rows
            return self.model.encode_text(full)
        x = self.tower.embed(rows)
        length = rows.shape[1]
        x = self.tower.module.transformer(x, attn_mask=self.tower.module.attn_mask[:length, :length])
        return self.tower.pool(x, rows)

    @torch.no_grad()
    def _encode_rows(self, rows: Sequence[TokenIds], forward, progress: Progress | None = None) -> torch.Tensor:
        """Normalised ``forward`` features of token rows: each distinct row once, in
        length-sorted batches cut at their longest row, returned in the input's order."""
        device, autocast = self._context()
        distinct, index = _unique(rows)
        chunks = []
        with autocast:
            for batch in _length_batches(distinct, self.batch_size):
                chunks.append(normalize(forward(_pad(distinct[batch], device))))
                if progress:
                    progress(batch.stop, len(distinct))
        return torch.cat(chunks)[torch.tensor(index, device=device)]

    def encode_windows(self, windows: Sequence[TokenIds], progress: Progress | None = None) -> torch.Tensor:
        """Features of whole token windows (SOT .. EOT)."""
        return self._encode_rows(windows, self._forward, progress)

    def encode_texts(self, texts: Sequence[str], progress: Progress | None = None, memo: bool = True) -> torch.Tensor:
        """Features of texts; ``memo`` remembers their tokens (for labels, which recur)."""
        if not self.tokens.simple:
            step = self.batch_size
            return torch.cat([self.encode_exact(texts[i : i + step]) for i in range(0, len(texts), step)])
        return self.encode_windows([self.tokens.window(self.tokens.encode(t, memo=memo)) for t in texts], progress)

    def encode_candidates(self, prefix: str, labels: Sequence[str]) -> torch.Tensor:
        """Features of every "prefix, label", sharing the prefix's computation where possible."""
        if not self.tokens.simple:
            return self.encode_texts([f"{prefix}, {label}" for label in labels])
        head, rows = self.tokens.candidate_rows(prefix, labels)
        if self.prefix and all(row is not None for row in rows):
            return self._encode_after(head, rows)
        # whole windows: models without prefix reuse, or labels that do not separate
        windows = [
            self.tokens.window(self.tokens.encode(f"{prefix}, {label}")) if row is None else head + row
            for label, row in zip(labels, rows)
        ]
        return self.encode_windows(windows)

    def _encode_after(self, head: TokenIds, rows: Sequence[TokenIds]) -> torch.Tensor:
        """Features of ``head + row`` for every row, running the shared head once."""
        device, autocast = self._context()
        with autocast:
            state = prefix_attention.encode_prefix(self.tower, head, device)
        return self._encode_rows(rows, lambda batch: prefix_attention.encode_suffixes(self.tower, state, batch))
