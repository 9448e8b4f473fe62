"""How tags are written: underscores, escaped parentheses, weights; and the most confident
tags that fit a token budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .style import TagStyle


@dataclass(frozen=True)
class Tag:
    """A chosen tag: as written in the prompt (without its weight), its score and its category."""

    text: str
    score: float
    category: int


# Tags whose underscores are their content (SmilingWolf's reference list): never spaced out.
KAOMOJI = frozenset("0_0 (o)_(o) +_+ +_- ._. <o>_<o> <|>_<|> =_= >_< 3_3 6_9 >_o @_@ ^_^ o_o u_u x_x |_| ||_||".split())


def spelled(name: str, style: TagStyle) -> str:
    """A tag name as the prompt writes it: underscores as spaces (kaomoji aside) unless
    ``style.underscores``, parentheses escaped when ``style.escape``."""
    if not style.underscores and name not in KAOMOJI:
        name = name.replace("_", " ")
    return name.replace("(", "\\(").replace(")", "\\)") if style.escape else name


def written(tag: Tag, style: TagStyle) -> str:
    """One tag in the prompt, as ``(tag:0.87)`` when ``style.weights``."""
    return f"({tag.text}:{tag.score:.2f})" if style.weights else tag.text


def joined(tags: Sequence[Tag], style: TagStyle) -> str:
    """Tags as prompt text, ", "-separated (trainers' keep_tokens counts these commas)."""
    return ", ".join(written(tag, style) for tag in tags)


def fit_tags(tags: Sequence[Tag], style: TagStyle, count: Callable[[str], int], budget: int) -> list[Tag]:
    """The most confident of ``tags`` whose text fits ``budget`` tokens of ``count``, in their
    order: tags are added by score while the whole still fits; the first that does not ends it."""
    ranked = sorted(range(len(tags)), key=lambda i: -tags[i].score)
    kept: set[int] = set()
    for i in ranked:
        trial = [tags[j] for j in range(len(tags)) if j in kept or j == i]
        if count(joined(trial, style)) > budget:
            break
        kept.add(i)
    return [tag for i, tag in enumerate(tags) if i in kept]
