"""Greedy prompt chaining: keep adding the label that raises similarity the most."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .hooks import Hooks
from .models.bundle import ClipBundle
from .vocab import distinct_labels


class Scorer:
    """Similarities of texts to one image; compat computes single texts exactly as upstream."""

    def __init__(
        self, bundle: ClipBundle, image_features: torch.Tensor, compat: bool, batch_size: int | None = None
    ) -> None:
        """``image_features`` is one normalised (1, D) row; ``batch_size`` bounds texts encoded at once."""
        self.bundle = bundle
        self.image_features = image_features  # (1, D)
        self.compat = compat
        self.batch_size = batch_size

    def _sims(self, text_features: torch.Tensor) -> torch.Tensor:
        with self.bundle.autocast():
            return (text_features @ self.image_features.T)[:, 0]

    def similarities(self, texts: Sequence[str]) -> list[float]:
        """Similarity of each text, as upstream computes whole prompts in compat."""
        text = self.bundle.text
        features = (
            text.encode_exact(texts)
            if self.compat
            else text.encode_texts(texts, memo=False, batch_size=self.batch_size)
        )
        return self._sims(features).tolist()

    def similarity(self, text: str) -> float:
        """Similarity of one text."""
        return self.similarities([text])[0]

    def label_sims(self, labels: Sequence[str]) -> torch.Tensor:
        """Similarity of each label on its own."""
        return self._sims(self.bundle.text.encode_texts(labels, batch_size=self.batch_size))

    def candidate_sims(self, prefix: str, labels: Sequence[str]) -> torch.Tensor:
        """Similarity of each "prefix, label"."""
        return self._sims(self.bundle.text.encode_candidates(prefix, labels, self.batch_size))


def _pick(sims: torch.Tensor, reverse: bool) -> int:
    """First index of the best score, as ``argmax`` breaks ties (upstream negates to reverse)."""
    return int((-sims if reverse else sims).argmax())


def _start(scorer: Scorer, order: list[str], reverse: bool) -> tuple[str, float]:
    """The best single phrase, taken out of ``order``, and its score."""
    first = order[_pick(scorer.label_sims(order), reverse)]
    order.remove(first)
    # upstream keeps a reversed chain's start score un-negated; the default negates it
    sign = -1.0 if reverse and not scorer.compat else 1.0
    return first, scorer.similarity(first) * sign


def chain(
    scorer: Scorer,
    phrases: Sequence[str],
    hooks: Hooks,
    best_prompt: str = "",
    best_sim: float = 0.0,
    min_count: int = 8,
    max_count: int = 32,
    reverse: bool = False,
    stage: str = "Chaining",
) -> str:
    """Upstream 0.6.0's ``chain``: appends, step by step, the phrase that most raises the
    ``scorer``'s similarity (``reverse``: lowers it), from ``best_prompt`` scored ``best_sim``
    ("": the best single phrase); at least ``min_count``, at most ``max_count`` steps, each
    reported to ``hooks`` as ``stage``. ``phrases`` come best ranked first; compat iterates
    upstream's ``set`` (ties by string hash), the default their order, alike labels once."""
    order = list(set(phrases)) if scorer.compat else distinct_labels(phrases)
    sign = -1.0 if reverse else 1.0
    if not best_prompt and order:
        best_prompt, best_sim = _start(scorer, order, reverse)
    curr_prompt, curr_sim = best_prompt, best_sim
    for idx in range(max_count):
        hooks.check_cancel()
        if not order:
            break
        flave = order[_pick(scorer.candidate_sims(curr_prompt, order), reverse)]
        prompt = f"{curr_prompt}, {flave}"
        sim = scorer.similarity(prompt) * sign
        if sim > best_sim:
            best_prompt, best_sim = prompt, sim
        if not (sim > curr_sim or idx < min_count):
            break
        curr_prompt, curr_sim = prompt, sim
        hooks.progress(stage, idx + 1, max_count)
        if scorer.bundle.tokens.at_max_len(curr_prompt):
            break
        order.remove(flave)
    hooks.progress(stage, max_count, max_count)
    return best_prompt
