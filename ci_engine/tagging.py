"""Taggers as caption sources: which options go with which source, the tags CLIP ranks labels
after, and a tagged prompt fitted to its text encoder's budget."""

from __future__ import annotations

from .errors import InputError
from .models.tagger import Tagger
from .settings import Settings
from .tags.style import TagStyle
from .tags.text import Tag, fit_tags, joined
from .target import SCORING_TOKENS, Target, fit_to_budget
from .text.tokens import Tokens


def check_source(source: object, settings: Settings) -> None:
    """Caption options go with a caption model and tag options with a tagger: the other way
    round is an ``InputError`` before any work, never silently ignored."""
    if source is None:
        return
    source.check_style(settings.caption_style)
    if isinstance(source, Tagger):
        if settings.compat:
            raise InputError("Compat mode reproduces upstream's captions: a tagger's tags are not part of it.")
        return
    if settings.tag_style != TagStyle():
        raise InputError(
            f"Tag options (thresholds, rating, order, weights) are for taggers, and '{source.name}' is a caption "
            "model: leave them out, or load a tagger (e.g. wd-vit-tagger-v3)."
        )


def scoring_tags(tags: list[Tag], style: TagStyle, tokens: Tokens) -> str:
    """The most confident tags within ``SCORING_TOKENS`` CLIP tokens: what CLIP ranks labels after."""
    return joined(fit_tags(tags, style, lambda text: len(tokens.encode(text)), SCORING_TOKENS), style)


def fit_tagged(tags: list[Tag], labels: list[str], style: TagStyle, target: Target) -> str:
    """The most confident tags that fit ``target`` (in their order), then labels while they fit."""
    return fit_to_budget(joined(fit_tags(tags, style, target.count, target.budget), style), labels, target)


def tag_scores(tags: list[Tag], style: TagStyle) -> list[tuple[str, float]]:
    """(tag, score) rows for JSON lines and the Analyze table: the tag spelled as in the
    prompt, without its weight (the score is beside it)."""
    return [(tag.text, round(tag.score, 4)) for tag in tags]
