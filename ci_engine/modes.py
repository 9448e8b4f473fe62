"""The modes: one table saying what each needs and ranks, and how it builds its prompt.

``MODES`` is the single source of every mode rule; the interrogator, the command line and
the nodes all read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from .chain import Scorer, chain
from .errors import InputError
from .hooks import Hooks
from .models.bundle import ClipBundle
from .ranking import Rows, rank_compat, rank_exact
from .settings import Settings
from .text.tokens import truncate_to_fit
from .vocab import MERGED_TABLES, Vocabulary

Analysis = dict[str, list[tuple[str, float]]]


@dataclass
class ModeContext:
    """What a mode works with: CLIP and its tables, the vocabulary, settings and hooks."""

    bundle: ClipBundle
    vocab: Vocabulary
    settings: Settings
    hooks: Hooks

    def enabled(self, name: str) -> bool:
        """Whether table ``name`` takes part: a merged table switched on, or any other table
        (a user list, or "negative"), which has no switch."""
        return name not in MERGED_TABLES or name in self.settings.enabled_tables

    def rank(self, names: Iterable[str], features: torch.Tensor, count: int, reverse: bool = False) -> list[str]:
        """Top labels of the named tables ranked together; compat uses upstream's chunk quotas."""
        rows = Rows([self.bundle.table(n, self.vocab) for n in names if self.enabled(n)])
        if len(rows) == 0 or count == 0:
            return []
        if self.settings.compat:
            return rank_compat(rows, features, count, self.settings.chunk_size, self.bundle.autocast(), reverse)
        allowed = torch.cat([t.allowed_mask(self.settings.exclusions) for t in rows.tables])
        return [label for label, _ in rank_exact(rows, features, count, allowed, self.bundle.autocast(), reverse)]

    def merged_names(self) -> list[str]:
        """The merged tables and the user's lists, ranked together by fast and best."""
        return [*MERGED_TABLES, *self.vocab.custom]

    def join(self, *parts: str) -> str:
        """``parts`` joined by ", "; outside compat an empty one (an empty caption) is left out,
        so a prompt never starts with ", " (compat keeps upstream's exact text)."""
        return ", ".join(parts if self.settings.compat else [part for part in parts if part])

    def fit(self, text: str) -> str:
        """``text`` cut at ", " boundaries to CLIP's window."""
        return truncate_to_fit(text, self.bundle.tokens, self.settings.compat)


@dataclass(frozen=True)
class Output:
    """A mode's result for one image: the prompt and, in analyze mode, the scored labels."""

    prompt: str
    analysis: Analysis | None = None


def fast(ctx: ModeContext, features: torch.Tensor, caption: str, max_flavors: int) -> str:
    """The caption and the top labels of all merged tables."""
    tops = ctx.rank(ctx.merged_names(), features, max_flavors)
    return ctx.fit(ctx.join(caption, ", ".join(tops))) if tops else caption


def classic(ctx: ModeContext, features: torch.Tensor, caption: str, max_flavors: int) -> str:
    """Caption, medium, artist, trending, movement and the top flavors."""

    def top1(name):
        found = ctx.rank([name], features, 1) if ctx.enabled(name) else []
        return found[0] if found else None

    medium, artist, trending, movement = (top1(n) for n in ("mediums", "artists", "trendings", "movements"))
    flaves = ", ".join(ctx.rank(["flavors"], features, max_flavors)) if ctx.enabled("flavors") else None
    head = caption if medium is None or caption.startswith(medium) else ctx.join(caption, medium)
    if artist is not None:
        head = f"{head} {artist}" if head or ctx.settings.compat else artist
    return ctx.fit(ctx.join(head, *(p for p in (trending, movement, flaves) if p is not None)))


def best(ctx: ModeContext, features: torch.Tensor, caption: str, max_flavors: int) -> str:
    """The closest to the image of: the caption, classic, fast, and a greedy label chain."""
    s = ctx.settings
    scorer = Scorer(ctx.bundle, features, s.compat, s.text_batch_size)
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


def negative(ctx: ModeContext, features: torch.Tensor, caption: str, max_flavors: int) -> str:
    """A chain of the flavors and negative labels least like the image."""
    s = ctx.settings
    flaves = ctx.rank(["flavors"], features, s.flavor_intermediate_count, reverse=True)
    negatives = ctx.bundle.table("negative", ctx.vocab)
    if s.compat:
        phrases = flaves + negatives.labels
    else:  # the mask drops empty labels and the user's exclusions
        allowed = negatives.allowed_mask(s.exclusions).tolist()
        phrases = flaves + [label for label, keep in zip(negatives.labels, allowed) if keep]
    scorer = Scorer(ctx.bundle, features, s.compat, s.text_batch_size)
    return chain(scorer, phrases, ctx.hooks, max_count=max_flavors, reverse=True, stage="Negative chain")


def analyze(ctx: ModeContext, features: torch.Tensor, top_k: int) -> Analysis:
    """Top labels of each enabled table with their similarity scores."""
    out = {}
    for name in MODES["analyze"].table_names(ctx.vocab):
        if ctx.enabled(name):
            rows = Rows([ctx.bundle.table(name, ctx.vocab)])
            allowed = rows.tables[0].allowed_mask(ctx.settings.exclusions)
            out[name] = rank_exact(rows, features, top_k, allowed, ctx.bundle.autocast())
    return out


def _analysis_output(ctx: ModeContext, features: torch.Tensor, caption: str, top_k: int) -> Output:
    analysis = analyze(ctx, features, top_k)
    return Output(", ".join(rows[0][0] for rows in analysis.values() if rows), analysis)


def _prompt_output(build: Callable[[ModeContext, torch.Tensor, str, int], str]):
    return lambda ctx, features, caption, count: Output(build(ctx, features, caption, count))


@dataclass(frozen=True)
class ModeSpec:
    """Everything that differs between modes."""

    name: str
    needs_caption: bool  # the caption model runs unless a caption is given
    tables: tuple[str, ...]  # the tables it ranks, before the user's toggles
    ranks_custom: bool  # the user's own lists are ranked too
    default_max_flavors: int  # upstream 0.6.0's default (analyze: labels shown per table)
    build: Callable[[ModeContext, torch.Tensor, str, int], Output] | None  # None: the caption is the prompt
    gives_prompt: bool = True  # a prompt for a text encoder (analyze gives scored labels)
    encodes_text: bool = False  # chains labels, so CLIP's text tower runs (cached tables do not suffice)

    def table_names(self, vocab: Vocabulary) -> list[str]:
        """The tables this mode ranks with ``vocab``, before the user's toggles."""
        return [*self.tables, *(vocab.custom if self.ranks_custom else ())]

    def max_flavors(self, settings: Settings) -> int:
        """The labels to add: the setting, else this mode's default."""
        return self.default_max_flavors if settings.max_flavors is None else settings.max_flavors


MODES: dict[str, ModeSpec] = {
    spec.name: spec
    for spec in (
        ModeSpec("best", True, MERGED_TABLES, True, 32, _prompt_output(best), encodes_text=True),
        ModeSpec("classic", True, MERGED_TABLES, False, 3, _prompt_output(classic)),
        ModeSpec("fast", True, MERGED_TABLES, True, 32, _prompt_output(fast)),
        ModeSpec("negative", False, ("flavors", "negative"), False, 32, _prompt_output(negative), encodes_text=True),
        ModeSpec("caption", True, (), False, 0, None),
        ModeSpec("analyze", False, (*MERGED_TABLES, "negative"), True, 5, _analysis_output, gives_prompt=False),
    )
}
PROMPT_MODE_NAMES = tuple(name for name, spec in MODES.items() if spec.gives_prompt)


def mode_spec(name: str) -> ModeSpec:
    """The spec of mode ``name``, or an ``InputError`` listing the modes."""
    if name not in MODES:
        raise InputError(f"Unknown mode '{name}': choose one of {', '.join(MODES)}.")
    return MODES[name]
