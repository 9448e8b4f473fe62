"""Caption sources by name: a caption model (transformers) or a booru tagger (timm), checked
and loaded through one door, so the command line and the nodes take either."""

from __future__ import annotations

import os

import torch

from ..errors import InputError
from .caption import check_caption_model, load_caption_model
from .captioner import Captioner
from .registry import CAPTION_MODELS, TAGGER_MODELS
from .tagger import Tagger
from .tagger_load import check_tagger, is_tagger, load_tagger


def caption_source_names() -> list[str]:
    """Every known caption model and tagger short name, caption models first."""
    return [*CAPTION_MODELS, *TAGGER_MODELS]


def check_caption_source(
    name: str, cache_dir: str | os.PathLike | None = None, allow_download: bool = True, style: str | None = None
) -> None:
    """Whether caption source ``name`` can be loaded and write caption ``style`` (None: any),
    checked without loading weights. Taggers write tags: any style but short is an error."""
    if not is_tagger(name):
        check_caption_model(name, cache_dir, allow_download, style)
        return
    if style not in (None, "short"):
        raise InputError(
            f"'{name}' is a tagger: it writes booru tags, not a '{style}' caption. Leave --caption-style out "
            "(tag options set what it writes), or use a caption model."
        )
    check_tagger(name, cache_dir, allow_download)


def load_caption_source(
    name: str,
    *,
    device: str | torch.device | None = None,
    precision: str = "auto",
    auto_precision: str = "auto",
    bf16_capable: bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    allow_download: bool = True,
) -> Captioner | Tagger:
    """A caption model or a tagger, by short name or local folder (see ``load_caption_model``
    and ``load_tagger``); a tagger runs in ``precision``, "auto" being ``auto_precision``."""
    if is_tagger(name):
        chosen = auto_precision if precision == "auto" else precision
        return load_tagger(name, device=device, precision=chosen, cache_dir=cache_dir, allow_download=allow_download)
    return load_caption_model(
        name,
        device=device,
        precision=precision,
        auto_precision=auto_precision,
        bf16_capable=bf16_capable,
        cache_dir=cache_dir,
        allow_download=allow_download,
    )
