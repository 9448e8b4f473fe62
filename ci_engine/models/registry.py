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
    revision: str  # the hub commit downloads are pinned to: a repository's later pushes never reach users


# Revisions: commits of each repository recorded by other projects' pinned registries (no hub
# access here to read them afresh); bump one deliberately, after checking what changed.
CAPTION_MODELS: dict[str, CaptionSpec] = {
    "blip-base": CaptionSpec(
        "Salesforce/blip-image-captioning-base", "blip", "990MB", "82a37760796d32b1411fe092ab5d4e227313294b"
    ),
    "blip-large": CaptionSpec(
        "Salesforce/blip-image-captioning-large", "blip", "1.9GB", "353689b859fcf0523410b1806dace5fb46ecdf41"
    ),
    "blip2-2.7b": CaptionSpec(
        "Salesforce/blip2-opt-2.7b", "blip2", "15.5GB", "59a1ef6c1e5117b3f65523d1c6066825bcf315e3"
    ),
    "blip2-flan-t5-xl": CaptionSpec(
        "Salesforce/blip2-flan-t5-xl", "blip2", "15.8GB", "0eb0d3b46c14c1f8c7680bca2693baafdb90bb28"
    ),
    "git-large-coco": CaptionSpec(
        "microsoft/git-large-coco", "git", "1.6GB", "b644b0b41274649f87de8846fa15f9a22dad7583"
    ),
}

# Upstream publishes label embeddings for these CLIP models (same file names and keys).
CACHE_REPO = "pharma/ci-preprocess"
# Not pinned: no commit of CACHE_REPO is on record anywhere this project could read, so its
# files come from "main". What they hold is checked instead: the label hash must match our
# lists, and values that are not finite float16/float32 are refused (cache.embeddings_problem).
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
