"""Label tables: labels and their embeddings, one contiguous tensor per table."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from . import cache as embed_cache
from .cache import CacheSettings
from .errors import InputError
from .hooks import Hooks
from .host_check import check_host_text
from .models.bundle import ClipBundle
from .vocab import Vocabulary, distinct_indices, is_excluded

log = logging.getLogger(__name__)
_UNWRITABLE: set[Path] = set()  # cache folders already warned about


class LabelTable(nn.Module):
    """Labels in upstream order and an (N, D) ``embeds`` buffer, rounded to fp16 as cached."""

    def __init__(self, name: str, labels: list[str], embeds: torch.Tensor) -> None:
        """``embeds`` holds one row per label, in the labels' order."""
        super().__init__()
        self.name = name
        self.labels = labels
        self.register_buffer("embeds", embeds)
        self._distinct: torch.Tensor | None = None
        self._allowed: dict[frozenset[str], torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def distinct_mask(self) -> torch.Tensor:
        """True for the first of labels that tokenize alike; False for empty labels."""
        if self._distinct is None:
            keep = torch.zeros(len(self.labels), dtype=torch.bool)
            keep[distinct_indices(self.labels)] = True
            self._distinct = keep
        return self._distinct

    def allowed_mask(self, exclusions: frozenset[str]) -> torch.Tensor:
        """Distinct labels minus the user's exclusions (remembered per exclusion set)."""
        if not exclusions:
            return self.distinct_mask()
        if exclusions not in self._allowed:
            kept = torch.tensor([not is_excluded(label, exclusions) for label in self.labels], dtype=torch.bool)
            self._allowed = {exclusions: self.distinct_mask() & kept}  # one set at a time: a node's setting
        return self._allowed[exclusions]


def _missing_cache(bundle: ClipBundle, name: str, key: str, cache: CacheSettings) -> InputError:
    """What to do when a table's cache is absent and the bundle has no text tower to compute it."""
    file = embed_cache.cache_file_name(bundle.name, key)
    where = cache.folder if cache.folder is not None else "the label cache folder"
    source = f"huggingface.co/{embed_cache.CACHE_REPO}"
    return InputError(
        f"The '{name}' labels of {bundle.name} are not cached, and they cannot be computed: {bundle.text_problem} "
        f"Put {file} (from {source}) in {where}, or allow downloads."
    )


def _compute(bundle: ClipBundle, name: str, labels: list[str], hooks: Hooks, batch_size: int | None) -> torch.Tensor:
    def report(done: int, total: int) -> None:
        hooks.progress(f"Embedding {name}", done, total)
        hooks.check_cancel()

    log.info("Computing %d label embeddings for %s (%s)", len(labels), name, bundle.name)
    embeds = bundle.text.encode_texts(labels, progress=report, batch_size=batch_size).half()
    problem = embed_cache.embeddings_problem(embeds)
    if problem:
        raise InputError(f"CLIP model {bundle.name} gives unusable text features ({problem}): check its weights.")
    return embeds


def _store(path: Path, embeds: torch.Tensor, labels: list[str]) -> None:
    """Writes a cache file; a folder that cannot take it costs a warning (once), not the run."""
    try:
        embed_cache.write_cache(path, embeds, labels)
    except OSError as exc:
        folder = path.parent
        if folder not in _UNWRITABLE:
            _UNWRITABLE.add(folder)
            log.warning("Cannot write label embeddings to %s (%s); keeping them in memory only.", folder, exc)


def ensure_tables(
    bundle: ClipBundle,
    vocab: Vocabulary,
    names: Iterable[str],
    cache: CacheSettings,
    hooks: Hooks,
    batch_size: int | None = None,
) -> None:
    """Loads or computes the named tables into ``bundle.tables``, writing caches for new ones
    (``batch_size``: labels encoded at once; None: the encoder's default)."""
    check_host_text(bundle, vocab, cache, hooks)
    for name in names:
        labels, key = vocab.labels[name], vocab.cache_keys[name]
        current = bundle.tables[key] if key in bundle.tables else None
        if current is not None and current.labels == labels:
            continue
        hooks.use(bundle)
        local = embed_cache.cache_path(cache.folder, bundle.name, key) if cache.folder is not None else None
        embeds = embed_cache.cached_table(cache, bundle.name, key, labels, bundle.embed_dim)
        if embeds is None and bundle.text_problem:
            raise _missing_cache(bundle, name, key, cache)
        if embeds is None:
            embeds = _compute(bundle, name, labels, hooks, batch_size)
            if local is not None:
                _store(local, embeds, labels)
        bundle.tables[key] = LabelTable(name, labels, embeds.to(bundle.device, bundle.dtype))


def export_tables(bundle: ClipBundle) -> dict[str, tuple[str, list[str], torch.Tensor]]:
    """The prepared tables as plain data (cache key -> name, labels, fp16 CPU embeddings), to
    hand to other processes (Ray actors) so they never build them again."""
    return {key: (t.name, t.labels, t.embeds.detach().to("cpu", torch.float16)) for key, t in bundle.tables.items()}


def install_tables(bundle: ClipBundle, exported: dict[str, tuple[str, list[str], torch.Tensor]]) -> None:
    """Puts ``export_tables``' output into ``bundle``, on its device and dtype."""
    for key, (name, labels, embeds) in exported.items():
        bundle.tables[key] = LabelTable(name, labels, embeds.to(bundle.device, bundle.dtype))
