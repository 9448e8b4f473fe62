"""How each mode turns one image's features and caption into a prompt."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .chain import Scorer, chain
from .clip_bundle import ClipBundle
from .hooks import Hooks
from .ranking import Rows, rank_compat, rank_exact
from .settings import Settings
from .tokens import truncate_to_fit
from .vocab import MERGED_TABLES, Vocabulary


@dataclass
class ModeContext:
    bundle: ClipBundle
    vocab: Vocabulary
    settings: Settings
    hooks: Hooks

    def table(self, name: str):
        return self.bundle.tables[self.vocab.cache_keys[name]]

    def enabled(self, name: str) -> bool:
        return name in self.settings.tables or name in self.vocab.custom or name == "negative"

    def rank(self, names, features, count: int, reverse: bool = False) -> list[str]:
        """Top labels of the named tables ranked together; compat uses upstream's chunk quotas."""
        rows = Rows([self.table(n) for n in names if self.enabled(n)])
        if len(rows) == 0 or count == 0:
            return []
        if self.settings.compat:
            return rank_compat(rows, features, count, self.settings.chunk_size, self.bundle.autocast(), reverse)
        allowed = torch.cat([t.allowed_mask(self.settings.exclusions) for t in rows.tables])
        return [label for label, _ in rank_exact(rows, features, count, allowed, self.bundle.autocast(), reverse)]

    def merged_names(self) -> list[str]:
        return [*MERGED_TABLES, *self.vocab.custom]

    def fit(self, text: str) -> str:
        return truncate_to_fit(text, self.bundle.tokens, self.settings.compat)


def fast(ctx: ModeContext, features, caption: str, max_flavors: int) -> str:
    tops = ctx.rank(ctx.merged_names(), features, max_flavors)
    return ctx.fit(caption + ", " + ", ".join(tops)) if tops else caption


def classic(ctx: ModeContext, features, caption: str, max_flavors: int) -> str:
    def top1(name):
        found = ctx.rank([name], features, 1) if ctx.enabled(name) else []
        return found[0] if found else None

    medium, artist, trending, movement = (top1(n) for n in ("mediums", "artists", "trendings", "movements"))
    flaves = ", ".join(ctx.rank(["flavors"], features, max_flavors)) if ctx.enabled("flavors") else None
    head = caption if medium is None or caption.startswith(medium) else f"{caption}, {medium}"
    if artist is not None:
        head = f"{head} {artist}"
    return ctx.fit(", ".join([head, *(p for p in (trending, movement, flaves) if p is not None)]))


def best(ctx: ModeContext, features, caption: str, max_flavors: int) -> str:
    s = ctx.settings
    scorer = Scorer(ctx.bundle, features, s.compat)
    flaves = ctx.rank(ctx.merged_names(), features, s.flavor_intermediate_count)
    chained = chain(
        scorer,
        flaves,
        ctx.hooks,
        caption,
        scorer.similarity(caption),
        min_count=s.min_flavors,
        max_count=max_flavors,
        stage="Flavor chain",
    )
    candidates = [
        caption,
        classic(ctx, features, caption, max_flavors),
        fast(ctx, features, caption, max_flavors),
        chained,
    ]
    return candidates[int(np.argmax(scorer.similarities(candidates)))]


def negative(ctx: ModeContext, features, caption: str, max_flavors: int) -> str:
    s = ctx.settings
    flaves = ctx.rank(["flavors"], features, s.flavor_intermediate_count, reverse=True)
    phrases = flaves + ctx.table("negative").labels
    if not s.compat:
        phrases = [p for p in phrases if p.strip()]
    scorer = Scorer(ctx.bundle, features, s.compat)
    return chain(scorer, phrases, ctx.hooks, max_count=max_flavors, reverse=True, stage="Negative chain")


def analyze(ctx: ModeContext, features, top_k: int) -> dict[str, list[tuple[str, float]]]:
    """Top labels of each enabled table with their similarity scores."""
    out = {}
    for name in [*MERGED_TABLES, "negative", *ctx.vocab.custom]:
        if ctx.enabled(name):
            rows = Rows([ctx.table(name)])
            allowed = rows.tables[0].allowed_mask(ctx.settings.exclusions)
            out[name] = rank_exact(rows, features, top_k, allowed, ctx.bundle.autocast())
    return out


PROMPT_MODES = {"fast": fast, "classic": classic, "best": best, "negative": negative}
