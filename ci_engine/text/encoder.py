"""Text features for labels and prompts, through the exact fast paths where eligible.

Three paths, fastest first: prefix reuse (a chain step's shared "prompt," runs once),
truncation (each text runs only up to its own end-of-text token), and the plain path
(open_clip's own ``encode_text`` on full 77-token windows, exactly as upstream runs it).
The fast paths reach into open_clip's text tower, so the first time a tower is used they
are compared with the plain path on a few texts; any disagreement turns them off.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from functools import partial

import numpy as np
import torch

from ..devices import autocast_for, weights_dtype
from ..errors import InputError
from . import prefix_attention
from .tokens import TokenIds, Tokens
from .tower import TextTower, normalize, prefix_ineligible_reason, truncation_ineligible_reason

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
MIN_BATCH_VALUES = 32768
SELF_CHECK_LABELS = ("oil painting", "by greg rutkowski", "trending on artstation", "a cat on a mat, at night")
SELF_CHECK_PREFIX = "a red house by a river"
# Max difference of normalised features allowed between the fast and the plain path.
SELF_CHECK_TOLERANCE = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 3e-2}


def _pad(rows: Sequence[TokenIds], device: torch.device) -> torch.Tensor:
    """Rows zero-padded to the longest one, as one (N, L) tensor."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    out = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
    out[np.arange(out.shape[1]) < lengths[:, None]] = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)
    return torch.from_numpy(out).to(device)


def length_batches(
    rows: Sequence[TokenIds], batch_size: int, slack: float = 1.25, min_rows: int = 1
) -> Iterator[slice]:
    """Slices of length-sorted rows: at most ``batch_size`` rows each.

    A batch is cut where a row is longer than ``slack`` times the batch's shortest, so
    little work goes to padding, but never before it has ``min_rows`` rows.
    """
    start = 0
    for end in range(1, len(rows) + 1):
        full = end - start == batch_size
        long_enough = end - start >= min_rows
        if end == len(rows) or full or (long_enough and len(rows[end]) > slack * len(rows[start])):
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
    """Encodes texts with one CLIP text tower; features are normalised as upstream does.

    ``truncate`` and ``prefix`` say which fast paths are on; setting both to False gives
    the plain path everywhere.
    """

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
        self._checked = False
        # Every batch costs a fixed number of operations, each a wait for the thread pool:
        # on a busy CPU many small batches of a narrow tower cost more than padding does,
        # while a wide tower's work is in the padding. About 32k values per row batch.
        width = getattr(getattr(self.tower.module, "transformer", None), "width", 512)
        self.min_rows = max(1, MIN_BATCH_VALUES // width)

    def _context(self):
        device = next(self.model.parameters()).device
        return device, autocast_for(device, weights_dtype(self.model))

    @torch.no_grad()
    def encode_exact(self, texts: Sequence[str]) -> torch.Tensor:
        """The plain path exactly as upstream runs it: one padded batch through ``encode_text``."""
        device, autocast = self._context()
        with autocast:
            return normalize(self.model.encode_text(self.tokens.tensor(texts).to(device)))

    def _encode_plain(self, texts: Sequence[str], batch_size: int | None = None) -> torch.Tensor:
        step = batch_size or self.batch_size
        return torch.cat([self.encode_exact(texts[i : i + step]) for i in range(0, len(texts), step)])

    def _forward(self, rows: torch.Tensor) -> torch.Tensor:
        if self.prefix:  # our blocks: the last layer computes only each row's EOT position
            layers = len(self.tower.module.transformer.resblocks)
            return prefix_attention.encode_suffixes(self.tower, prefix_attention.PrefixState.empty(layers), rows)
        x = self.tower.embed(rows)
        length = rows.shape[1]
        x = self.tower.module.transformer(x, attn_mask=self.tower.module.attn_mask[:length, :length])
        return self.tower.pool(x, rows)

    @torch.no_grad()
    def _encode_rows(
        self, rows: Sequence[TokenIds], forward, progress: Progress | None = None, batch_size: int | None = None
    ) -> torch.Tensor:
        """Normalised ``forward`` features of token rows: each distinct row once, in
        length-sorted batches cut at their longest row, returned in the input's order."""
        device, autocast = self._context()
        distinct, index = _unique(rows)
        chunks = []
        with autocast:
            for batch in length_batches(distinct, batch_size or self.batch_size, min_rows=self.min_rows):
                chunks.append(normalize(forward(_pad(distinct[batch], device))))
                if progress:
                    progress(batch.stop, len(distinct))
        return torch.cat(chunks)[torch.tensor(index, device=device)]

    def encode_texts(
        self,
        texts: Sequence[str],
        progress: Progress | None = None,
        memo: bool = True,
        batch_size: int | None = None,
    ) -> torch.Tensor:
        """Features of texts; ``memo`` remembers their tokens (for labels, which recur);
        ``batch_size`` texts at most are encoded at once (None: the encoder's default)."""
        self.verify()
        if not self.truncate:
            return self._encode_plain(texts, batch_size)
        windows = [self.tokens.window(self.tokens.encode(t, memo=memo)) for t in texts]
        return self._encode_rows(windows, self._forward, progress, batch_size)

    def encode_candidates(self, prefix: str, labels: Sequence[str], batch_size: int | None = None) -> torch.Tensor:
        """Features of every "prefix, label", sharing the prefix's computation where possible."""
        self.verify()
        if not self.truncate:
            return self._encode_plain([f"{prefix}, {label}" for label in labels], batch_size)
        head, rows = self.tokens.candidate_rows(prefix, labels)
        if self.prefix and all(row is not None for row in rows):
            return self._encode_after(head, rows, batch_size)
        # whole windows: models without prefix reuse, or labels that do not separate
        windows = [
            self.tokens.window(self.tokens.encode(f"{prefix}, {label}")) if row is None else head + row
            for label, row in zip(labels, rows)
        ]
        return self._encode_rows(windows, self._forward, batch_size=batch_size)

    def _encode_after(self, head: TokenIds, rows: Sequence[TokenIds], batch_size: int | None = None) -> torch.Tensor:
        """Features of ``head + row`` for every row, running the shared head once."""
        device, autocast = self._context()
        with autocast:
            state = prefix_attention.encode_prefix(self.tower, head, device)
        suffixes = partial(prefix_attention.encode_suffixes, self.tower, state)
        return self._encode_rows(rows, suffixes, batch_size=batch_size)

    def verify(self) -> None:
        """Once per encoder: turns the fast paths off if they disagree with the plain path."""
        if self._checked or not self.truncate:
            return
        self._checked = True
        try:
            problem = self._fast_path_error()
        except Exception as exc:  # a changed private open_clip/torch API fails in many ways
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            log.warning("Fast text paths disagree with open_clip (%s); using the plain path for this model.", problem)
            self.truncate = self.prefix = False

    def _fast_path_error(self) -> str | None:
        """How far the fast paths are from the plain path on a few texts, if beyond tolerance."""
        labels = list(SELF_CHECK_LABELS)
        joined = [f"{SELF_CHECK_PREFIX}, {label}" for label in labels]
        windows = [self.tokens.window(self.tokens.encode(t)) for t in labels]
        fast = [self._encode_rows(windows, self._forward)]
        plain = [self.encode_exact(labels)]
        head, rows = self.tokens.candidate_rows(SELF_CHECK_PREFIX, labels)
        if self.prefix:
            fast.append(self._encode_after(head, rows))
            plain.append(self.encode_exact(joined))
        tolerance = SELF_CHECK_TOLERANCE.get(plain[0].dtype, 1e-2)
        worst = max((a.float() - b.float()).abs().max().item() for a, b in zip(fast, plain))
        return None if worst <= tolerance else f"features differ by {worst:.2e}, tolerance {tolerance:.0e}"


class TextUnavailable:
    """The text encoder of a bundle without a usable text tower: every use says why."""

    truncate = prefix = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _refuse(self, *args, **kwargs) -> torch.Tensor:
        raise InputError(self.reason)

    encode_exact = encode_texts = encode_candidates = _refuse

    def verify(self) -> None:
        """Nothing to check."""
