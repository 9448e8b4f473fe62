"""How a tagger's scores become tags: thresholds, rating, order and spelling."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

ORDERS = ("category", "confidence")  # characters then general tags, each by score; or all by score
RATINGS = ("none", "tag")  # the top rating left out, or written as a tag


@dataclass(frozen=True)
class TagStyle:
    """The tag options of the popular tagger packs, with their defaults (0.35 general, 0.85
    character). ``mcut``: automatic thresholds at the widest gap between scores instead.

    Making one with an unusable value raises an ``InputError`` naming it.
    """

    general_threshold: float = 0.35
    character_threshold: float = 0.85
    mcut: bool = False
    rating: str = "none"
    order: str = "category"
    underscores: bool = False  # keep underscores; by default they become spaces (kaomoji keep theirs)
    escape: bool = True  # "(" and ")" as "\(" "\)", so they are not read as prompt weights
    weights: bool = False  # each tag as "(tag:0.87)"
    max_tags: int = 0  # 0: no limit; else the most confident this many (the rating aside)

    def __post_init__(self) -> None:
        for name in ("general_threshold", "character_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise InputError(f"{name} must be a number from 0 to 1, not {value!r}.")
        for name in ("mcut", "underscores", "escape", "weights"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be True or False, not {getattr(self, name)!r}.")
        if self.rating not in RATINGS:
            raise InputError(f"rating must be one of {', '.join(RATINGS)}, not {self.rating!r}.")
        if self.order not in ORDERS:
            raise InputError(f"order must be one of {', '.join(ORDERS)}, not {self.order!r}.")
        if isinstance(self.max_tags, bool) or not isinstance(self.max_tags, int) or self.max_tags < 0:
            raise InputError(f"max_tags must be a whole number of 0 or more (0: no limit), not {self.max_tags!r}.")
