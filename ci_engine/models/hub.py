"""Where model files come from: local caches first, the Hugging Face hub if allowed."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import OfflineError

_TRUTHY = {"1", "true", "yes", "on"}


def offline_env() -> bool:
    """True when the environment forbids network access to the hub."""
    return any(os.environ.get(k, "").lower() in _TRUTHY for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def downloads_allowed(allow: bool) -> bool:
    """Downloads happen only when asked for and not forbidden by the environment."""
    return allow and not offline_env()


def hub_cache_dir(cache_dir: str | os.PathLike | None) -> str:
    """The folder the hub client uses for ``cache_dir`` (its default when None)."""
    if cache_dir:
        return str(cache_dir)
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def cached_hub_file(repo_id: str, filename: str, cache_dir: str | os.PathLike | None) -> str | None:
    """Path of ``filename`` of ``repo_id`` if it is already in the hub cache."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
    return found if isinstance(found, str) and Path(found).is_file() else None


def download_hub_file(repo_id: str, filename: str, cache_dir: str | os.PathLike | None) -> str:
    """Downloads one file into the hub cache (with the hub's progress bar)."""
    from huggingface_hub import hf_hub_download

    return hf_hub_download(repo_id, filename, cache_dir=cache_dir)


def offline_error(model: str, looked: list[str], how: str) -> OfflineError:
    """The one message users see when a model is missing and cannot be downloaded."""
    reason = "downloads are off (HF_HUB_OFFLINE is set)" if offline_env() else "downloads are off"
    places = "\n".join(f"  - {p}" for p in looked)
    return OfflineError(f"Model '{model}' is not available locally and {reason}.\nLooked in:\n{places}\n{how}")
