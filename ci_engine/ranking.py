"""Ranking labels against an image: exact top-k, or upstream 0.6.0's per-chunk quotas."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from contextlib import AbstractContextManager

import torch

from .tables import LabelTable
from .vocab import distinct_indices

Autocast = AbstractContextManager  # the model's autocast context (``ClipBundle.autocast()``)


class Rows:
    """Several tables' embeddings viewed as one list of rows, without copying them."""

    def __init__(self, tables: Sequence[LabelTable]) -> None:
        self.tables = list(tables)
        self.starts = [0]
        for t in self.tables:
            self.starts.append(self.starts[-1] + len(t))

    def __len__(self) -> int:
        return self.starts[-1]

    def label(self, index: int) -> str:
        """The label of row ``index`` (counted across all tables)."""
        table = bisect.bisect_right(self.starts, index) - 1
        return self.tables[table].labels[index - self.starts[table]]

    def rows(self, start: int, stop: int) -> torch.Tensor:
        """Embeddings of rows ``start .. stop``; a view when they lie in one table."""
        parts = []
        for t, t_start, t_stop in zip(self.tables, self.starts, self.starts[1:]):
            lo, hi = max(start, t_start), min(stop, t_stop)
            if lo < hi:
                parts.append(t.embeds[lo - t_start : hi - t_start])
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def gather(self, indices: Sequence[int]) -> torch.Tensor:
        """The rows at ``indices``, stacked into a new contiguous tensor."""
        first = self.tables[0].embeds
        index = torch.tensor(indices, dtype=torch.long, device=first.device)
        out = first.new_empty((len(indices), first.shape[1]))
        for t, t_start, t_stop in zip(self.tables, self.starts, self.starts[1:]):
            hit = (index >= t_start) & (index < t_stop)
            out[hit] = t.embeds[index[hit] - t_start]
        return out


def _top(
    image_features: torch.Tensor, embeds: torch.Tensor, count: int, reverse: bool, autocast: Autocast
) -> list[int]:
    """Upstream's ``LabelTable._rank``: one product, then ``topk`` on the CPU."""
    count = min(count, embeds.shape[0])
    with autocast:
        similarity = image_features @ embeds.T
        if reverse:
            similarity = -similarity
    return similarity.float().cpu().topk(count, dim=-1).indices[0].tolist()


def rank_compat(
    rows: Rows, image_features: torch.Tensor, count: int, chunk_size: int, autocast: Autocast, reverse: bool = False
) -> list[str]:
    """Upstream 0.6.0's ``LabelTable.rank``, including its per-chunk quota and its final
    re-rank, which ignores ``reverse``."""
    if len(rows) <= chunk_size:
        return [rows.label(i) for i in _top(image_features, rows.rows(0, len(rows)), count, reverse, autocast)]
    num_chunks = int(math.ceil(len(rows) / chunk_size))
    keep_per_chunk = int(chunk_size / num_chunks)
    kept: list[int] = []
    for chunk in range(num_chunks):
        start = chunk * chunk_size
        stop = min(start + chunk_size, len(rows))
        kept.extend(start + i for i in _top(image_features, rows.rows(start, stop), keep_per_chunk, reverse, autocast))
    final = _top(image_features, rows.gather(kept), count, False, autocast)
    return [rows.label(kept[i]) for i in final]


def similarities(rows: Rows, image_features: torch.Tensor, autocast: Autocast) -> torch.Tensor:
    """Similarity of every row to one image (1, D), as float32 on the CPU."""
    with autocast:
        sims = [image_features @ t.embeds.T for t in rows.tables]
    return torch.cat([s[0].float().cpu() for s in sims])


def rank_exact(
    rows: Rows,
    image_features: torch.Tensor,
    count: int,
    allowed: torch.Tensor,
    autocast: Autocast,
    reverse: bool = False,
) -> list[tuple[str, float]]:
    """The true top ``count`` allowed labels with their scores; ties keep table order, and of
    labels that tokenize alike (across tables too) only the best placed is kept."""
    sims = similarities(rows, image_features, autocast)
    fill = float("inf") if reverse else float("-inf")
    order = torch.sort(sims.masked_fill(~allowed, fill), descending=not reverse, stable=True).indices
    order = order[: int(allowed.sum())].tolist()
    # look at a few more than ``count`` at a time: most of a big table is never read
    window = 2 * count
    while True:
        labels = [rows.label(i) for i in order[:window]]
        kept = distinct_indices(labels)[:count]
        if len(kept) == count or window >= len(order):
            return [(labels[k], float(sims[order[k]])) for k in kept]
        window *= 2
