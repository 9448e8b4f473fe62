"""Label-embedding cache files in upstream's format.

``{model name with '/' and '@' replaced by '_'}_{table}.safetensors`` holding ``embeds``
(fp16, one row per label) and ``hash`` (sha256 of the comma-joined labels, as int8
character codes), so upstream's published caches work here and ours work there.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from .atomic import write_atomic
from .errors import InputError
from .models import hub
from .models.registry import CACHE_REPO, PUBLISHED_CACHE_MODELS, sanitized_model_name

log = logging.getLogger(__name__)

NORM_TOLERANCE = 0.01  # fp16 rounding moves a unit row's norm by well under 1e-2


@dataclass(frozen=True)
class CacheSettings:
    """Where label embeddings are cached, and whether published ones may be downloaded."""

    folder: Path | None
    download: bool = False
    hub_cache_dir: str | None = None


def labels_hash(labels: list[str]) -> str:
    """Upstream's hash of a label list: sha256 of the comma-joined labels, in hex."""
    return hashlib.sha256(",".join(labels).encode()).hexdigest()


def hash_tensor(digest: str) -> torch.Tensor:
    """A hex digest as upstream stores it: int8 character codes."""
    return torch.tensor([ord(c) for c in digest], dtype=torch.int8)


def cache_file_name(model_name: str, key: str) -> str:
    """Upstream's file name for table ``key`` of model ``model_name``."""
    return f"{sanitized_model_name(model_name)}_{key}.safetensors"


def cache_path(folder: Path, model_name: str, key: str) -> Path:
    """The cache file of table ``key`` of ``model_name`` in ``folder``, never outside it."""
    path = folder / cache_file_name(model_name, key)
    if path.resolve().parent != folder.resolve():
        raise InputError(f"Cache file name '{path.name}' would leave the cache folder {folder}.")
    return path


def embeddings_problem(embeds: torch.Tensor) -> str | None:
    """Why ``embeds`` are not usable label embeddings, or None.

    Every row is a normalised feature in fp16 (upstream's format), so its norm is 1 up to
    rounding: NaN, inf, zero rows, integer or float64 values all fail this.
    """
    if embeds.dtype != torch.float16:
        return f"values are {embeds.dtype}, not float16"
    norms = embeds.float().norm(dim=-1)
    if not bool(torch.isfinite(norms).all()):
        return "some values are NaN or infinite"
    worst = float((norms - 1).abs().max()) if norms.numel() else 0.0
    return None if worst <= NORM_TOLERANCE else f"rows are not normalised (norm off by {worst:.3g})"


def read_cache(path: Path, labels: list[str], dim: int) -> torch.Tensor | None:
    """The cached fp16 embeddings if the file is whole and matches these labels; else None."""
    from safetensors.torch import load_file

    if not path.is_file():
        return None
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # truncated or foreign files raise many types; all mean "recompute"
        log.info("Ignoring unreadable embedding cache %s (%s); recomputing it.", path, exc)
        return None
    embeds, digest = tensors.get("embeds"), tensors.get("hash")
    if embeds is None or digest is None or not torch.equal(digest, hash_tensor(labels_hash(labels))):
        log.info("Embedding cache %s is for other labels; recomputing it.", path)
        return None
    if tuple(embeds.shape) != (len(labels), dim):
        expected = (len(labels), dim)
        log.warning("Embedding cache %s has shape %s, not %s; recomputing it.", path, tuple(embeds.shape), expected)
        return None
    problem = embeddings_problem(embeds)
    if problem:
        log.warning("Embedding cache %s is damaged (%s); recomputing it.", path, problem)
        return None
    return embeds


def write_cache(path: Path, embeds: torch.Tensor, labels: list[str]) -> None:
    """Writes atomically and durably (``atomic.write_atomic``), with the usual permissions."""
    from safetensors.torch import save

    data = save(
        {"embeds": embeds.detach().to("cpu", torch.float16).contiguous(), "hash": hash_tensor(labels_hash(labels))}
    )
    write_atomic(path, data)


def published_cache(model_name: str, key: str, cache_dir: str | None, allow_download: bool) -> Path | None:
    """Upstream's published cache for this model and table, from the hub cache or downloaded."""
    if model_name not in PUBLISHED_CACHE_MODELS:
        return None
    name = cache_file_name(model_name, key)
    found = hub.cached_hub_file(CACHE_REPO, name, cache_dir)
    if found or not hub.downloads_allowed(allow_download):
        return Path(found) if found else None
    why = hub.unreachable()
    if why is not None:
        log.warning("Could not download %s (cannot reach the hub: %s); computing it locally.", name, why)
        return None
    try:
        return Path(hub.download_hub_file(CACHE_REPO, name, cache_dir))
    except Exception as exc:  # any failure just means: compute the table here
        log.warning("Could not download %s (%s); computing it locally.", name, exc)
        return None


def cached_table(cache: CacheSettings, model_name: str, key: str, labels: list[str], dim: int) -> torch.Tensor | None:
    """Table ``key`` of ``model_name``: the cache folder's file, else the published one (found
    or downloaded as ``cache`` allows); None when neither holds these labels."""
    if cache.folder is not None:
        found = read_cache(cache_path(cache.folder, model_name, key), labels, dim)
        if found is not None:
            return found
    published = published_cache(model_name, key, cache.hub_cache_dir, cache.download)
    return read_cache(published, labels, dim) if published else None
