"""Which tags a tagger's scores give: per-category thresholds or MCut, the rating, exclusions,
the maximum and the order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .style import TagStyle
from .text import Tag, spelled

GENERAL, CHARACTER, RATING = 0, 4, 9  # the categories of a v3 tagger's selected_tags.csv
CATEGORIES = {GENERAL: "general", CHARACTER: "character", RATING: "rating"}
MCUT_CHARACTER_FLOOR = 0.15  # SmilingWolf's reference: MCut never lets characters below this


@dataclass(frozen=True)
class TagSet:
    """A tagger's classes: each output's tag name and category, in the model's order."""

    names: tuple[str, ...]
    categories: tuple[int, ...]

    def indices(self, category: int) -> np.ndarray:
        """The outputs of ``category``."""
        return self._by_category.get(category, np.empty(0, dtype=np.int64))

    @cached_property
    def _by_category(self) -> dict[int, np.ndarray]:
        """Each category's outputs, found once: every image asks for them (10,861 tags in v3)."""
        categories = np.asarray(self.categories)
        return {int(c): np.flatnonzero(categories == c) for c in np.unique(categories)}


def mcut_threshold(scores: np.ndarray) -> float:
    """Maximum Cut Thresholding: the middle of the widest gap between consecutive sorted scores."""
    if len(scores) < 2:
        return 0.0
    ranked = np.sort(scores)[::-1]
    gap = int(np.argmax(ranked[:-1] - ranked[1:]))
    return float((ranked[gap] + ranked[gap + 1]) / 2)


def thresholds(scores: np.ndarray, tagset: TagSet, style: TagStyle) -> dict[int, float]:
    """The threshold of each category (a tag is kept when its score is above it)."""
    if not style.mcut:
        return {GENERAL: style.general_threshold, CHARACTER: style.character_threshold}
    general = mcut_threshold(scores[tagset.indices(GENERAL)])
    character = max(MCUT_CHARACTER_FLOOR, mcut_threshold(scores[tagset.indices(CHARACTER)]))
    return {GENERAL: general, CHARACTER: character}


def select_tags(
    scores: Sequence[float], tagset: TagSet, style: TagStyle, excluded: frozenset[str] = frozenset()
) -> list[Tag]:
    """One image's tags, in ``style``'s order (the rating first when asked for). ``excluded``:
    tags never to use, matched case-insensitively with underscores or spaces."""
    scores = np.asarray(scores, dtype=np.float64)
    limits = thresholds(scores, tagset, style)
    banned = {comparable(tag) for tag in excluded}
    kept = [
        Tag(spelled(tagset.names[i], style), float(scores[i]), tagset.categories[i])
        for category, limit in limits.items()
        for i in tagset.indices(category)
        if scores[i] > limit and comparable(tagset.names[i]) not in banned
    ]
    kept.sort(key=lambda tag: -tag.score)
    if style.max_tags:
        kept = kept[: style.max_tags]
    if style.order == "category":
        kept.sort(key=lambda tag: tag.category != CHARACTER)  # stable: each category stays by score
    return _rating(scores, tagset, style) + kept


def _rating(scores: np.ndarray, tagset: TagSet, style: TagStyle) -> list[Tag]:
    ratings = tagset.indices(RATING)
    if style.rating == "none" or len(ratings) == 0:
        return []
    top = int(ratings[np.argmax(scores[ratings])])
    return [Tag(spelled(tagset.names[top], style), float(scores[top]), RATING)]


def comparable(tag: str) -> str:
    """A tag as exclusions match it: lowercase, underscores as spaces, single spaces."""
    return " ".join(tag.replace("_", " ").split()).lower()
