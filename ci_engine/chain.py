"""Greedy prompt chaining: keep adding the label that raises similarity the most."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .clip_bundle import ClipBundle
from .hooks import Hooks
from .vocab import distinct_labels


class Scorer:
    """Similarities of texts to one image; compat computes single texts exactly as upstream."""

    def __init__(self, bundle: ClipBundle, image_features: torch.Tensor, compat: bool) -> None:
        self.bundle = bundle
        self.image_features = image_features  # (1, D)
        self.compat = compat

    def _sims(self, text_features: torch.Tensor) -> torch.Tensor:
        with self.bundle.autocast():
            return (text_features @ self.image_features.T)[:, 0]

    def similarities(self, texts: Sequence[str]) -> list[float]:
        text = self.bundle.text
        features = text.encode_exact(texts) if self.compat else text.encode_texts(texts, memo=False)
        return self._sims(features).tolist()

    def similarity(self, text: str) -> float:
        return self.similarities([text])[0]

    def label_sims(self, labels: Sequence[str]) -> torch.Tensor:
        return self._sims(self.bundle.text.encode_texts(labels))

    def candidate_sims(self, prefix: str, labels: Sequence[str]) -> torch.Tensor:
        return self._sims(self.bundle.text.encode_candidates(prefix, labels))


def _pick(sims: torch.Tensor, reverse: bool) -> int:
    """First index of the best score, as ``argmax`` breaks ties (upstream negates to reverse)."""
    return int((-sims if reverse else sims).argmax())


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
    """Upstream 0.6.0's ``chain``; in compat also its candidate order and its start score.

    Upstream iterates a ``set``, so ties go by string-hash order; compat iterates the same
    set. By default candidates keep their ranked order, without labels that tokenize alike.
    Upstream keeps the start score of a reversed chain un-negated; the default negates it
    like every later score.
    """
    compat = scorer.compat
    order = list(set(phrases)) if compat else distinct_labels(phrases)
    sign = -1.0 if reverse else 1.0
    if not best_prompt and order:
        best_prompt = order[_pick(scorer.label_sims(order), reverse)]
        best_sim = scorer.similarity(best_prompt) * (1.0 if compat else sign)
        order.remove(best_prompt)
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
