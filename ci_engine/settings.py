"""Interrogation settings shared by the CLI and the nodes, checked once when made."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InputError
from .models.caption_style import CaptionStyle
from .tags.style import TagStyle
from .vocab import MERGED_TABLES

POSITIVE_SETTINGS = ("chunk_size", "flavor_intermediate_count", "caption_max_length", "text_batch_size")


@dataclass(frozen=True)
class Settings:
    """How prompts are made. ``compat=True`` reproduces clip-interrogator 0.6.0 exactly.

    Making one with an unusable value raises an ``InputError`` naming it.
    """

    compat: bool = False
    max_flavors: int | None = None  # labels to add (analyze: labels shown per table); None: the mode's default
    min_flavors: int = 8
    flavor_intermediate_count: int = 2048
    chunk_size: int = 2048
    caption_max_length: int = 32  # new tokens of a short caption (upstream's setting)
    caption_style: CaptionStyle = CaptionStyle()  # short, detailed, tags or custom; greedy unless it samples
    tag_style: TagStyle = TagStyle()  # a tagger's thresholds, rating, order and spelling
    clean_captions: bool | None = None  # None: on by default, off in compat
    enabled_tables: frozenset[str] = field(default_factory=lambda: frozenset(MERGED_TABLES))
    exclusions: frozenset[str] = frozenset()
    text_batch_size: int = 1024  # texts encoded at once: bounds peak memory of tables and chains

    def __post_init__(self) -> None:
        self._check_types()
        if self.max_flavors is not None and self.max_flavors < 0:
            raise InputError(f"max_flavors must be 0 or more, not {self.max_flavors}.")
        for name in POSITIVE_SETTINGS:
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, not {getattr(self, name)}.")
        unknown = set(self.enabled_tables) - set(MERGED_TABLES)
        if unknown:
            raise InputError(f"Unknown tables {sorted(unknown)}: choose from {', '.join(MERGED_TABLES)}.")
        if self.compat and (self.enabled_tables != frozenset(MERGED_TABLES) or self.exclusions):
            raise InputError("Compat mode reproduces upstream with every table: turn table toggles and exclusions off.")
        if self.compat and self.caption_style != CaptionStyle():
            raise InputError("Compat mode reproduces upstream's short greedy captions: use caption style 'short'.")

    def _check_types(self) -> None:
        """Wrong types fail here by name: a str for a bool is truthy, a str for a set splits into letters."""
        if not isinstance(self.caption_style, CaptionStyle):
            raise InputError(f"caption_style must be a CaptionStyle, not {self.caption_style!r}.")
        if not isinstance(self.tag_style, TagStyle):
            raise InputError(f"tag_style must be a TagStyle, not {self.tag_style!r}.")
        for name in ("compat", "clean_captions"):
            value = getattr(self, name)
            if not isinstance(value, bool) and not (name == "clean_captions" and value is None):
                raise InputError(f"{name} must be True or False, not {value!r}.")
        for name in ("max_flavors", "min_flavors", *POSITIVE_SETTINGS):
            value = getattr(self, name)
            whole = isinstance(value, int) and not isinstance(value, bool)
            if not whole and not (name == "max_flavors" and value is None):
                raise InputError(f"{name} must be a whole number, not {value!r}.")
        for name in ("enabled_tables", "exclusions"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(item, str) for item in value):
                raise InputError(f"{name} must be a set of strings, not {value!r}.")
            object.__setattr__(self, name, frozenset(value))  # a list or set given: kept hashable and fixed

    @property
    def cleans_captions(self) -> bool:
        """Whether BLIP's artifacts are removed from captions."""
        return (not self.compat) if self.clean_captions is None else self.clean_captions
