"""Checks on CLIP weights files: a fingerprint of the whole file, what a load error means,
and whether the token table covers the tokenizer."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError
from ..text.tower import TextTower

_SHA256S: dict[tuple[str, int, int], str] = {}
# what torch and open_clip say when a checkpoint's tensors do not match the architecture
MISMATCH_MARKERS = ("size mismatch", "Missing key", "Unexpected key", "Error(s) in loading state_dict", "shape")


def file_sha256(path: Path) -> str:
    """The sha256 of a whole file, remembered by path, size and modification time, so each
    version of a file is read once per process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256S:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                digest.update(block)
        _SHA256S[key] = digest.hexdigest()
    return _SHA256S[key]


def weights_fingerprint(path: Path) -> str:
    """A short id of a weights file (from all of it), so caches of different files never mix."""
    return file_sha256(path)[:10]


def expected_sha256(url: str) -> str:
    """The sha256 (or its leading part) open_clip expects of a file from ``url``; "" if none.

    As open_clip checks its downloads: OpenAI's URLs carry it as the folder name, open_clip's
    own release files at the end of the file name.
    """
    parts = url.rstrip("/").split("/")
    if "openaipublic" in url and len(parts) > 1 and re.fullmatch(r"[0-9a-f]{64}", parts[-2]):
        return parts[-2]
    tail = Path(parts[-1]).stem.split("-")[-1]
    return tail if "mlfoundations" in url and re.fullmatch(r"[0-9a-f]{8,64}", tail) else ""


def load_error(exc: Exception, weights: str, arch: str) -> Exception | None:
    """The user-facing error for ``exc`` raised while loading ``weights`` as ``arch``; None
    when it is not about the file (let it through)."""
    if isinstance(exc, torch.OutOfMemoryError):
        return InputError(f"Not enough memory to load CLIP '{arch}': free memory, or choose a lower precision.")
    if type(exc).__name__ == "SafetensorError":
        return InputError(f"'{weights}' is not a readable .safetensors file ({exc}): download or convert it again.")
    if isinstance(exc, KeyError) or any(marker in str(exc) for marker in MISMATCH_MARKERS):
        return InputError(f"Weights '{weights}' do not fit CLIP architecture '{arch}': {exc}")
    return None


def check_token_table(model: nn.Module, tokenizer: object, name: str) -> None:
    """A token table smaller than the tokenizer's vocabulary would index past its end (an
    ``IndexError`` on the CPU, a device-side assert on CUDA): refuse it at load time."""
    table = getattr(TextTower(model).module, "token_embedding", None)
    vocab = getattr(tokenizer, "vocab_size", None) or len(getattr(tokenizer, "encoder", ()))
    if isinstance(table, nn.Embedding) and vocab and table.num_embeddings < vocab:
        raise InputError(
            f"CLIP '{name}' has {table.num_embeddings} token embeddings but its tokenizer has {vocab} tokens: "
            "the config's text_cfg.vocab_size does not match the tokenizer."
        )
