"""Known models and published embedding caches, as data."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_CLIP = "ViT-L-14/openai"
DEFAULT_CAPTION = "blip-large"


@dataclass(frozen=True)
class CaptionSpec:
    """A caption model known by a short name."""

    hub_id: str
    family: str  # a key of caption_families.FAMILIES: picks the transformers class and how it is asked
    size: str  # download size, shown to users choosing a model
    revision: str  # the hub commit downloads are pinned to: a repository's later pushes never reach users
    params: float  # billions of parameters, vision tower included: fp16 needs about 2 GB per billion
    system: str = ""  # a system prompt the model was trained with (chat models)


def _spec(hub_id: str, family: str, size: str, params: float, revision: str, system: str = "") -> CaptionSpec:
    return CaptionSpec(hub_id, family, size, revision, params, system)


# Revisions: commits of each repository recorded by other projects' pinned registries and hub
# caches (no hub access here to read them afresh); bump one deliberately, after checking what
# changed. Parameter counts: the hub's metadata, or the fp32 download size / 4 (BLIP, GIT);
# JoyCaption's is Llama 3.1 8B + its SigLIP tower, an estimate.
CAPTION_MODELS: dict[str, CaptionSpec] = {
    "blip-base": _spec(
        "Salesforce/blip-image-captioning-base", "blip", "990MB", 0.247, "82a37760796d32b1411fe092ab5d4e227313294b"
    ),
    "blip-large": _spec(
        "Salesforce/blip-image-captioning-large", "blip", "1.9GB", 0.47, "353689b859fcf0523410b1806dace5fb46ecdf41"
    ),
    "blip2-2.7b": _spec(
        "Salesforce/blip2-opt-2.7b", "blip2", "15.5GB", 3.87, "59a1ef6c1e5117b3f65523d1c6066825bcf315e3"
    ),
    "blip2-flan-t5-xl": _spec(
        "Salesforce/blip2-flan-t5-xl", "blip2", "15.8GB", 3.94, "0eb0d3b46c14c1f8c7680bca2693baafdb90bb28"
    ),
    "git-large-coco": _spec(
        "microsoft/git-large-coco", "git", "1.6GB", 0.39, "b644b0b41274649f87de8846fa15f9a22dad7583"
    ),
    "florence-2-base": _spec(
        "florence-community/Florence-2-base", "florence2", "0.46GB", 0.232, "00921df66db728a9ceb750f5eca43e5c203a2051"
    ),
    "florence-2-large": _spec(
        "florence-community/Florence-2-large", "florence2", "1.6GB", 0.777, "4271c66b88cdbc05735372ec13b2360108de5317"
    ),
    "joycaption-beta-one": _spec(
        "fancyfeast/llama-joycaption-beta-one-hf-llava",
        "llava",
        "17GB",
        8.5,
        "ebf414ea497a020da0f82df3913e5b6cb8e9663a",
        "You are a helpful image captioner.",
    ),
    "llava-1.5-7b": _spec(
        "llava-hf/llava-1.5-7b-hf", "llava", "14.1GB", 7.06, "b234b804b114d9e37bb655e11cbbb5f5e971b7a9"
    ),
    "qwen2.5-vl-3b": _spec(
        "Qwen/Qwen2.5-VL-3B-Instruct", "qwen2.5-vl", "7.5GB", 3.75, "66285546d2b821cf421d4f5eb2576359d3770cd3"
    ),
    "qwen2.5-vl-7b": _spec(
        "Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl", "16.6GB", 8.29, "cc594898137f460bfe9f0759e9844b3ce807cfb5"
    ),
    "qwen3-vl-2b": _spec(
        "Qwen/Qwen3-VL-2B-Instruct", "qwen3-vl", "4.3GB", 2.13, "89644892e4d85e24eaac8bacfd4f463576704203"
    ),
    "qwen3-vl-4b": _spec(
        "Qwen/Qwen3-VL-4B-Instruct", "qwen3-vl", "8.9GB", 4.44, "ebb281ec70b05090aa6165b016eac8ec08e71b17"
    ),
    "qwen3-vl-8b": _spec(
        "Qwen/Qwen3-VL-8B-Instruct", "qwen3-vl", "17.5GB", 8.77, "0c351dd01ed87e9c1b53cbc748cba10e6187ff3b"
    ),
    "smolvlm2-256m": _spec(
        "HuggingFaceTB/SmolVLM2-256M-Video-Instruct",
        "smolvlm",
        "1.0GB",
        0.256,
        "067788b187b95ebe7b2e040b3e4299e342e5b8fd",
    ),
    "smolvlm2-500m": _spec(
        "HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
        "smolvlm",
        "2.0GB",
        0.507,
        "7b375e1b73b11138ff12fe22c8f2822d8fe03467",
    ),
    "smolvlm2-2.2b": _spec(
        "HuggingFaceTB/SmolVLM2-2.2B-Instruct", "smolvlm", "9.0GB", 2.25, "482adb537c021c86670beed01cd58990d01e72e4"
    ),
}


@dataclass(frozen=True)
class TaggerSpec:
    """A booru tagger known by a short name: a timm model in the hub layout (config.json,
    model.safetensors, selected_tags.csv)."""

    hub_id: str
    size: str  # model.safetensors download size
    revision: str  # the hub commit downloads are pinned to
    params: float  # billions of parameters: fp16 needs about 2 GB per billion, plus activations
    note: str = ""  # what could not be checked


# SmilingWolf's v3 taggers: each repository's main-branch commit as pinned by several other
# projects' registries (no hub access here to read them afresh). Parameter counts and sizes:
# the published ONNX exports' figures (the safetensors hold the same weights in fp32).
TAGGER_MODELS: dict[str, TaggerSpec] = {
    "wd-vit-tagger-v3": TaggerSpec(
        "SmilingWolf/wd-vit-tagger-v3", "378MB", "7f6b584d0bd3f55c4531f14ba3d4761b2bccdc0f", 0.095
    ),
    "wd-swinv2-tagger-v3": TaggerSpec(
        "SmilingWolf/wd-swinv2-tagger-v3", "392MB", "627aef95638667ddcaa3ac8ae625e88ea5b02f51", 0.098
    ),
    "wd-convnext-tagger-v3": TaggerSpec(
        "SmilingWolf/wd-convnext-tagger-v3", "395MB", "d39e46de298d27340111b64965e20b8185c407e6", 0.099
    ),
    "wd-vit-large-tagger-v3": TaggerSpec(
        "SmilingWolf/wd-vit-large-tagger-v3",
        "1.26GB",
        "ae469aa2e4706a3af08d3673cf73a11d1add314c",
        0.315,
        "commit from registries only (no hub-cache path seen); config.json's text not read",
    ),
    "wd-eva02-large-tagger-v3": TaggerSpec(
        "SmilingWolf/wd-eva02-large-tagger-v3", "1.26GB", "b25b82a03f7282e41aa2f257a52c7583b710bd1c", 0.315
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
    the names it publishes, nothing outside ``[A-Za-z0-9._-]`` for any name, and no leading
    dot (a hidden file; "../x" would give ".._x")."""
    safe = safe_name(name.replace("/", "_").replace("@", "_"))
    return "_" * (len(safe) - len(safe.lstrip("."))) + safe.lstrip(".")
