"""Caption model families, as data: which transformers class loads each, how it is asked for
a caption, and which caption styles it can write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .caption_style import STYLES


@dataclass(frozen=True)
class Family:
    """One kind of caption model.

    ``asking``: "plain" (the image alone, as upstream's BLIP/GIT), "task" (Florence-2's task
    tokens) or "chat" (an instruction through the processor's chat template).
    """

    name: str
    label: str  # what users read in messages and tables
    model_class: str  # a transformers class name: native classes only, never remote code
    asking: str
    styles: tuple[str, ...]
    batch: int = 16  # images per generate call
    cast_inputs: bool = True  # upstream feeds GIT fp32 pixels; every other family gets the model dtype
    tasks: tuple[tuple[str, str], ...] = ()  # style -> task token, for asking="task"
    prefers_bf16: bool = False  # a language model inside: "auto" precision is bf16 where the GPU has it


_CHAT = {
    "model_class": "AutoModelForImageTextToText",
    "asking": "chat",
    "styles": STYLES,  # chat models write every style
    "batch": 4,
    "prefers_bf16": True,
}
FAMILIES: dict[str, Family] = {
    "blip": Family("blip", "BLIP", "BlipForConditionalGeneration", "plain", ("short",)),
    "blip2": Family("blip2", "BLIP-2", "Blip2ForConditionalGeneration", "plain", ("short",)),
    "git": Family("git", "GIT", "AutoModelForCausalLM", "plain", ("short",), cast_inputs=False),
    "florence2": Family(
        "florence2",
        "Florence-2",
        "Florence2ForConditionalGeneration",
        "task",
        ("short", "detailed"),
        tasks=(("short", "<CAPTION>"), ("detailed", "<MORE_DETAILED_CAPTION>")),
    ),
    "llava": Family("llava", "LLaVA", **_CHAT),
    "qwen2.5-vl": Family("qwen2.5-vl", "Qwen2.5-VL", **_CHAT),
    "qwen3-vl": Family("qwen3-vl", "Qwen3-VL", **_CHAT),
    "smolvlm": Family("smolvlm", "SmolVLM2", **_CHAT),
    "image-text-to-text": Family("image-text-to-text", "image-text-to-text chat model", **_CHAT),
}
# config.json model_type -> family; other image-text-to-text chat models fall to the generic one
MODEL_TYPES = {
    "blip": "blip",
    "blip-2": "blip2",
    "git": "git",
    "florence2": "florence2",
    "llava": "llava",
    "qwen2_5_vl": "qwen2.5-vl",
    "qwen3_vl": "qwen3-vl",
    "smolvlm": "smolvlm",
}


def family_of_model_type(model_type: str, where: str) -> Family:
    """The family of a config's ``model_type``; an ``InputError`` naming it and what is supported."""
    if model_type in MODEL_TYPES:
        return FAMILIES[MODEL_TYPES[model_type]]
    if model_type in image_text_to_text_types():
        return FAMILIES["image-text-to-text"]
    raise InputError(
        f"Caption model in '{where}' has model_type '{model_type}', which is not an image-to-text model "
        f"transformers loads natively; supported: {', '.join(MODEL_TYPES)}, and any chat model of "
        "AutoModelForImageTextToText."
    )


def image_text_to_text_types() -> frozenset[str]:
    """The model types transformers' AutoModelForImageTextToText loads (none on old versions)."""
    try:
        from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
    except ImportError:
        return frozenset()
    return frozenset(MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES) - set(MODEL_TYPES)


def check_style(family: Family, style: str, model: str) -> None:
    """A style the family cannot write is an error, never a silent fallback."""
    if style in family.styles:
        return
    able = sorted(label for label, fam in _labels() if style in fam.styles)
    shown = Path(model).name or model  # a folder by its name, as the loader's menu shows it
    raise InputError(
        f"Caption style '{style}' is not something {shown} ({family.label}) can write: it supports "
        f"{', '.join(family.styles)}. For '{style}', use a {', '.join(able)} model."
    )


def _labels() -> list[tuple[str, Family]]:
    return [(fam.label, fam) for fam in FAMILIES.values() if fam.name != "image-text-to-text"]
