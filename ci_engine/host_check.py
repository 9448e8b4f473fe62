"""The safety net for a host's text tower: before its first label is encoded, its features are
compared with the label caches of the weights it is taken for.

A fine-tuned or LoRA-patched text encoder, or one stored at a precision that drifts, has the
right shapes but other features: its tables and chains would silently give other prompts. A
mismatch turns the host's text off for that bundle (cached tables still serve). So does a
model with published caches whose rows are not at hand (offline): unchecked, a checkpoint's
``clip_l`` (its text projection left uninitialised by ComfyUI) would give garbage prompts. For a
model with no published caches, the tables it computes are cached under a name of their own, a
fingerprint of its features, so they never pass for another model's.
"""

from __future__ import annotations

import hashlib
import logging

import torch

from . import cache as embed_cache
from .cache import CacheSettings
from .hooks import Hooks
from .models.bundle import ClipBundle
from .models.registry import PUBLISHED_CACHE_MODELS
from .vocab import Vocabulary

log = logging.getLogger(__name__)

CHECK_TABLE = "mediums"
CHECK_LABELS = 16
MIN_COSINE = 0.99


def _reference(bundle: ClipBundle, vocab: Vocabulary, cache: CacheSettings) -> torch.Tensor | None:
    """The first ``CHECK_LABELS`` rows of the check table's cache for ``bundle.name``; None
    when no cache of it is at hand."""
    key, labels = vocab.cache_keys[CHECK_TABLE], vocab.labels[CHECK_TABLE]
    rows = embed_cache.cached_table(cache, bundle.name, key, labels, bundle.embed_dim)
    return None if rows is None else rows[:CHECK_LABELS]


def _mismatch(bundle: ClipBundle, lowest: float) -> str:
    tower = bundle.host_tower
    return (
        f"The text encoder connected for {bundle.name} gives other features than that model's label caches "
        f"(lowest cosine {lowest:.3f}, below {MIN_COSINE}): it is fine-tuned, LoRA-patched, stored at a precision "
        "that drifts, or lacks its text projection (a checkpoint's clip_l). Its text is not used: fast, classic and "
        f"analyze run from the caches; best and negative need the original text encoder ({tower.text_files})."
    )


def _unchecked(bundle: ClipBundle) -> str:
    return (
        f"No label cache of {bundle.name} is at hand (offline, or downloads off) to check the connected text "
        "encoder against, so its text is not used: unchecked, it may be a checkpoint's clip_l, whose text "
        "projection ComfyUI leaves uninitialised. The caches serve fast, classic and analyze, and let the check run."
    )


def fingerprint(features: torch.Tensor) -> str:
    """A short name for what a text tower computes: its fp16 features of the check labels."""
    data = features.detach().to("cpu", torch.float16).numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:12]


def check_host_text(bundle: ClipBundle, vocab: Vocabulary, cache: CacheSettings, hooks: Hooks) -> None:
    """Once per bundle over a host's text tower: keeps it if it matches the caches, renames its
    cache when there is nothing to match, turns it off (with a warning) when it differs."""
    if bundle.host_tower is None or bundle.text_problem or bundle.host_checked:
        return
    bundle.host_checked = True
    reference = _reference(bundle, vocab, cache)
    if reference is None and bundle.name in PUBLISHED_CACHE_MODELS:
        message = _unchecked(bundle)
        log.warning(message)
        bundle.disable_text(message)
        return
    hooks.use(bundle)
    features = bundle.text.encode_exact(vocab.labels[CHECK_TABLE][:CHECK_LABELS]).float()
    if reference is None:
        bundle.name = f"{bundle.name}-host-{fingerprint(features)}"
        log.warning(
            "No label cache to check the host's text encoder against; its tables are cached as %s.", bundle.name
        )
        return
    cosine = (features * reference.to(features.device, torch.float32)).sum(dim=-1)
    lowest = float(cosine.min()) if bool(torch.isfinite(cosine).all()) else float("nan")
    if not lowest >= MIN_COSINE:  # NaN too: a zero or broken projection
        message = _mismatch(bundle, lowest)
        log.warning(message)
        bundle.disable_text(message)
