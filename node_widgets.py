"""Widgets and wire types the pack's nodes share (V3 schema inputs), defined once."""

from __future__ import annotations

from comfy_api.latest import io

from .ci_engine.devices import PRECISIONS
from .ci_engine.modes import PROMPT_MODE_NAMES

CATEGORY = "CLIP Interrogator"
CIClip = io.Custom("CI_CLIP")
CICaptionModel = io.Custom("CI_CAPTION_MODEL")
# widget name -> one of MERGED_TABLES; saved workflows keep widget values by position, so
# this order stays as released
TABLE_TOGGLES = {
    "artists": "artists",
    "mediums": "mediums",
    "movements": "movements",
    "trending": "trendings",
    "flavors": "flavors",
}


def precision_input() -> io.Combo.Input:
    """The precision a loader runs its model in."""
    return io.Combo.Input(
        "precision",
        options=["auto", *PRECISIONS],
        default="auto",
        tooltip="auto: ComfyUI's choice for your GPU (fp16/bf16), fp32 on CPU.",
    )


def table_inputs() -> list[io.Boolean.Input]:
    """One switch per label table."""
    return [
        io.Boolean.Input(name, default=True, tooltip=f"Rank the {name} labels (ignored in compat).")
        for name in TABLE_TOGGLES
    ]


def mode_input() -> io.Combo.Input:
    """The prompt mode."""
    return io.Combo.Input(
        "mode",
        options=list(PROMPT_MODE_NAMES),
        default="best",
        tooltip=(
            "best: caption + greedily chained labels (slowest, closest); classic: caption, medium, "
            "artist, trending, movement, flavors; fast: caption + top labels; negative: labels least "
            "like the image; caption: the caption alone."
        ),
    )


def max_flavors_input() -> io.Int.Input:
    """How many labels a prompt gets; -1 is the mode's default."""
    return io.Int.Input(
        "max_flavors",
        default=-1,
        min=-1,
        max=256,
        tooltip="Labels to add at most; -1: the mode's own default (as upstream: 32, classic 3).",
    )


def caption_inputs() -> list[io.Input]:
    """A caption model, or one caption text for every image."""
    return [
        CICaptionModel.Input(
            "caption_model", optional=True, tooltip="From Load Caption Model; not needed when a caption text is given."
        ),
        io.String.Input(
            "caption",
            optional=True,
            default="",
            multiline=True,
            tooltip="Use this caption instead of a caption model (leave empty to caption each image).",
        ),
    ]


TARGETS = ["clip", "128", "256", "512"]


def target_inputs() -> list[io.Input]:
    """The text encoder the prompt is for, and optionally that encoder, to count with."""
    return [
        io.Combo.Input(
            "target",
            options=TARGETS,
            default="clip",
            optional=True,
            tooltip="clip: one 77-token window (SD1.5, SDXL; the default). A number: a token budget for a T5/LLM "
            "text encoder (Flux, SD3.5, Qwen-Image); the caption stays whole, CLIP still chooses the labels.",
        ),
        io.Clip.Input(
            "target_clip",
            optional=True,
            tooltip="The CLIP that will encode the prompt: the budget is counted with its own tokenizer (T5/LLM "
            "stream). Without it, CLIP's count is used as an estimate.",
        ),
    ]
