"""Interrogation settings shared by the CLI and the nodes."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InputError

MODES = ("best", "classic", "fast", "negative", "caption", "analyze")
# Upstream 0.6.0's max_flavors default for each mode.
DEFAULT_MAX_FLAVORS = {"best": 32, "classic": 3, "fast": 32, "negative": 32, "caption": 0, "analyze": 5}
OPTIONAL_TABLES = ("artists", "flavors", "mediums", "movements", "trendings")


@dataclass(frozen=True)
class Settings:
    """How prompts are made. ``compat=True`` reproduces clip-interrogator 0.6.0 exactly."""

    compat: bool = False
    max_flavors: int | None = None  # None: upstream's default for the mode
    min_flavors: int = 8
    flavor_intermediate_count: int = 2048
    chunk_size: int = 2048
    caption_max_length: int = 32
    clean_captions: bool | None = None  # None: on by default, off in compat
    tables: frozenset[str] = field(default_factory=lambda: frozenset(OPTIONAL_TABLES))
    exclusions: frozenset[str] = frozenset()
    top_k: int = 5  # analyze: labels shown per table
    text_batch_size: int = 1024  # texts encoded at once: bounds peak memory of tables and chains

    def flavors_for(self, mode: str) -> int:
        return DEFAULT_MAX_FLAVORS[mode] if self.max_flavors is None else self.max_flavors

    @property
    def cleans_captions(self) -> bool:
        return (not self.compat) if self.clean_captions is None else self.clean_captions

    def validate(self) -> Settings:
        """Raises an ``InputError`` naming the first unusable setting."""
        if self.max_flavors is not None and self.max_flavors < 0:
            raise InputError(f"max_flavors must be 0 or more, not {self.max_flavors}.")
        for name in ("chunk_size", "flavor_intermediate_count", "caption_max_length", "top_k", "text_batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, not {getattr(self, name)}.")
        unknown = set(self.tables) - set(OPTIONAL_TABLES)
        if unknown:
            raise InputError(f"Unknown tables {sorted(unknown)}: choose from {', '.join(OPTIONAL_TABLES)}.")
        if self.compat and (self.tables != frozenset(OPTIONAL_TABLES) or self.exclusions):
            raise InputError("Compat mode reproduces upstream with every table: turn table toggles and exclusions off.")
        return self
