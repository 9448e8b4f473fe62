"""Known models and published embedding caches, as data."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_CLIP = "ViT-L-14/openai"
DEFAULT_CAPTION = "blip-large"


@dataclass(frozen=True)
class CaptionSpec:
    """A caption model upstream knows by a short name."""

    hub_id: str
    family: str  # "blip", "blip2" or "git": picks the transformers class
    size: str  # download size, shown to users choosing a model


CAPTION_MODELS: dict[str, CaptionSpec] = {
    "blip-base": CaptionSpec("Salesforce/blip-image-captioning-base", "blip", "990MB"),
    "blip-large": CaptionSpec("Salesforce/blip-image-captioning-large", "blip", "1.9GB"),
    "blip2-2.7b": CaptionSpec("Salesforce/blip2-opt-2.7b", "blip2", "15.5GB"),
    "blip2-flan-t5-xl": CaptionSpec("Salesforce/blip2-flan-t5-xl", "blip2", "15.8GB"),
    "git-large-coco": CaptionSpec("microsoft/git-large-coco", "git", "1.6GB"),
}

# Upstream publishes label embeddings for these CLIP models (same file names and keys).
CACHE_REPO = "pharma/ci-preprocess"
PUBLISHED_CACHE_MODELS = (
    "ViT-L-14/openai",
    "ViT-H-14/laion2b_s32b_b79k",
    "ViT-bigG-14/laion2b_s39b_b160k",
    "RN50/openai",
)

# The CLIP models most users pick, listed first in menus.
FEATURED_CLIP_MODELS = PUBLISHED_CACHE_MODELS + ("ViT-B-32/openai", "ViT-B-16/openai")


def list_clip_models() -> list[str]:
    """Every ``ARCH/PRETRAINED`` name open_clip knows, featured ones first."""
    import open_clip

    known = ["/".join(pair) for pair in open_clip.list_pretrained()]
    featured = [name for name in FEATURED_CLIP_MODELS if name in known]
    return featured + [name for name in known if name not in featured]


def safe_name(text: str) -> str:
    """``text`` with every character outside ``[A-Za-z0-9._-]`` as "_": safe in any file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def sanitized_model_name(name: str) -> str:
    """The model part of a cache file name: upstream's spelling ("/" and "@" as "_") for
    the names it publishes, and nothing outside ``[A-Za-z0-9._-]`` for any name."""
    return safe_name(name.replace("/", "_").replace("@", "_"))
