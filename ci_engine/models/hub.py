"""Where model files come from: local caches first, the Hugging Face hub if allowed.

A download starts with a short reachability check of the server (``unreachable``): without a
network the hub client would retry every file for about a minute before failing."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import DownloadError, OfflineError

_TRUTHY = {"1", "true", "yes", "on"}
REACH_TIMEOUT = 3.0  # seconds a reachability check waits for the server to answer
_REMEMBERED = 60.0  # seconds an answer is reused: one run asks once, a long-lived host again later
_answers: dict[str, tuple[float, str | None]] = {}
HOW_TO_WORK_OFFLINE = (
    "To work without a connection: run with --offline (or HF_HUB_OFFLINE=1) using models already in the "
    "hub cache, load CLIP from a file with --clip {arch} --clip-checkpoint FILE, and give a local caption "
    "model folder with --caption-model DIR."
)


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


def hub_endpoint() -> str:
    """The hub's address (``HF_ENDPOINT``, else https://huggingface.co)."""
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def cached_hub_file(
    repo_id: str, filename: str, cache_dir: str | os.PathLike | None, revision: str | None = None
) -> str | None:
    """Path of ``filename`` of ``repo_id`` (at ``revision``, None: main) if it is already in the hub cache."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir, revision=revision)
    return found if isinstance(found, str) and Path(found).is_file() else None


def download_hub_file(repo_id: str, filename: str, cache_dir: str | os.PathLike | None) -> str:
    """Downloads one file into the hub cache (with the hub's progress bar), after checking
    that the hub answers."""
    from huggingface_hub import hf_hub_download

    require_reachable(f"{repo_id}/{filename}")
    return hf_hub_download(repo_id, filename, cache_dir=cache_dir)


def _proxy_for(scheme: str) -> str:
    for key in (f"{scheme}_proxy", "all_proxy"):
        value = os.environ.get(key) or os.environ.get(key.upper())
        if value:
            return value
    return ""


def _connect(host: str, port: int, timeout: float) -> str | None:
    """Why a TCP connection to ``host:port`` fails within ``timeout`` seconds, or None when it opens.
    The lookup and connection run in a thread, so a resolver that hangs cannot hold the caller."""
    answer: list[str | None] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            answer.append(None)
        except OSError as exc:
            answer.append(str(exc) or type(exc).__name__)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return answer[0] if answer else f"no answer within {timeout:g} s"


def unreachable(url: str | None = None, timeout: float = REACH_TIMEOUT) -> str | None:
    """Why the server of ``url`` (None: the hub), or the proxy the environment names for it,
    cannot be reached, or None when it answers. An answer is remembered for a minute."""
    url = url or hub_endpoint()
    parts = urlsplit(url)
    proxy = _proxy_for(parts.scheme or "https")
    via = urlsplit(proxy) if proxy else parts
    host = via.hostname or ""
    port = via.port or (443 if via.scheme == "https" else 80)
    key = f"{host}:{port}"
    remembered = _answers.get(key)
    if remembered and time.monotonic() - remembered[0] < _REMEMBERED:
        return remembered[1]
    why = _connect(host, port, timeout) if host else f"'{url}' names no server"
    _answers[key] = (time.monotonic(), None if why is None else f"{key}: {why}")
    return _answers[key][1]


def download_error(what: str, reason: str, arch: str = "ARCH") -> DownloadError:
    """The one-line message users see when a download cannot be made (``arch``: the CLIP
    architecture that loads the missing weights from a file)."""
    reason = " ".join(str(reason).split()).rstrip(".")
    return DownloadError(f"Could not download {what}: {reason}. {HOW_TO_WORK_OFFLINE.format(arch=arch)}")


def require_reachable(what: str, url: str | None = None, arch: str = "ARCH") -> None:
    """A ``DownloadError`` at once when the server of ``url`` (None: the hub) does not answer,
    instead of the hub client's minute of retries."""
    why = unreachable(url)
    if why is not None:
        raise download_error(what, f"cannot reach {url or hub_endpoint()} ({why})", arch)


def offline_error(model: str, looked: list[str], how: str) -> OfflineError:
    """The one message users see when a model is missing and cannot be downloaded."""
    reason = "downloads are off (HF_HUB_OFFLINE is set)" if offline_env() else "downloads are off"
    places = "\n".join(f"  - {p}" for p in looked)
    return OfflineError(f"Model '{model}' is not available locally and {reason}.\nLooked in:\n{places}\n{how}")
