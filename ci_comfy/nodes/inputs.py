"""Inputs and wire types the pack's nodes share (V3 schema), defined once.

Newer ComfyUI hides ``advanced`` inputs until asked and shows a ``DynamicCombo``'s inputs only
for its choice; older hosts get the same inputs, all shown (``..host.compat`` tells which).
"""

from __future__ import annotations

from comfy_api.latest import io

from ...ci_engine.devices import PRECISIONS
from ...ci_engine.modes import PROMPT_MODE_NAMES
from ..host import compat

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
TARGETS = ["clip", "128", "256", "512"]
TARGET_TOOLTIP = (
    "clip: one 77-token window (SD1.5, SDXL; the default). A number: a token budget for a T5/LLM text encoder "
    "(Flux, SD3.5, Qwen-Image); the caption stays whole, CLIP still chooses the labels."
)


def clip_input() -> io.Input:
    """The pack's CLIP, from Load CLIP (Interrogator)."""
    return CIClip.Input("clip", tooltip="From Load CLIP (Interrogator).")


def precision_input() -> io.Combo.Input:
    """The precision a loader runs its model in."""
    return io.Combo.Input(
        "precision",
        options=["auto", *PRECISIONS],
        default="auto",
        tooltip="auto: ComfyUI's choice for your GPU (fp16/bf16), fp32 on CPU.",
    )


def compat_input() -> io.Boolean.Input:
    """Upstream's exact prompts (an advanced input)."""
    return io.Boolean.Input(
        "compat",
        default=False,
        tooltip="Reproduce clip-interrogator 0.6.0's prompts exactly (all tables, no exclusions).",
        **compat.advanced(),
    )


def table_inputs() -> list[io.Boolean.Input]:
    """One switch per label table (advanced inputs)."""
    return [
        io.Boolean.Input(
            name, default=True, tooltip=f"Rank the {name} labels (ignored in compat).", **compat.advanced()
        )
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
            "caption_model",
            optional=True,
            tooltip="From Load Caption Model: a caption model, or a WD tagger whose tags take the caption's place. "
            "Not needed when a caption text is given.",
        ),
        io.String.Input(
            "caption",
            optional=True,
            default="",
            multiline=True,
            tooltip="Use this caption instead of a caption model (leave empty to caption each image).",
        ),
    ]


def exclude_input() -> io.String.Input:
    """Labels never to use (an advanced input)."""
    return io.String.Input(
        "exclude",
        optional=True,
        default="",
        multiline=True,
        tooltip="Labels never to use, one per line or comma-separated; an artist name also removes 'by …' and "
        "'inspired by …'.",
        **compat.advanced(),
    )


def _target_clip_input() -> io.Input:
    return io.Clip.Input(
        "target_clip",
        optional=True,
        tooltip="The CLIP that will encode the prompt: the budget is counted with its own tokenizer (T5/LLM "
        "stream). Without it, CLIP's count is used as an estimate.",
    )


def target_inputs() -> list[io.Input]:
    """The text encoder the prompt is for and, for a token budget, that encoder to count with.
    With ``DynamicCombo`` the encoder input shows only for a budget."""
    if compat.has_dynamic_combo():
        options = [io.DynamicCombo.Option(key, [] if key == "clip" else [_target_clip_input()]) for key in TARGETS]
        return [io.DynamicCombo.Input("target", options=options, optional=True, tooltip=TARGET_TOOLTIP)]
    combo = io.Combo.Input("target", options=TARGETS, default="clip", optional=True, tooltip=TARGET_TOOLTIP)
    return [combo, _target_clip_input()]


def read_target(target: str | dict = "clip", target_clip: object = None) -> tuple[str, object]:
    """(choice, encoder) from either form of ``target_inputs``: a ``DynamicCombo`` arrives as a
    dict holding its choice under its own name and the choice's inputs beside it."""
    if isinstance(target, dict):
        return target.get("target", "clip"), target.get("target_clip")
    return target, target_clip
