"""Caption model nodes: load one (a caption model or a booru tagger), and choose the kind of
caption it writes."""

from __future__ import annotations

from comfy_api.latest import io

from ...ci_engine.models.caption_style import MAX_TOKENS, STYLES, CaptionStyle
from ..host import captions, compat, folders
from ..host.models import ManagedModel
from .inputs import CATEGORY, CICaptionModel, precision_input

STYLE_TOOLTIP = (
    "short: one sentence (BLIP's kind); detailed: a paragraph, for T5/LLM text encoders (Flux, SD3.5); tags: "
    "comma-separated tags; custom: your instruction. BLIP and GIT write short only; Florence-2 short and "
    "detailed; chat models all four."
)
SAMPLING_TOOLTIP = "Off: greedy decoding, the same caption every run. On: sampled at the temperature."


class LoadCaptionModel(io.ComfyNode):
    """Loads a caption model or a tagger (a known name or a local folder) under ComfyUI's model management."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_LoadCaptionModel",
            display_name="Load Caption Model (Interrogator)",
            category=CATEGORY,
            description=(
                "Loads a caption model (BLIP, BLIP-2, GIT, Florence-2, JoyCaption/LLaVA, Qwen-VL, SmolVLM2) or a "
                "booru tagger (SmilingWolf's WD v3: ViT, SwinV2, ConvNeXt, EVA02), whose tags take the caption's place."
            ),
            inputs=[
                io.Combo.Input(
                    "model_name",
                    options=folders.caption_choices(),
                    default="blip-large",
                    tooltip=(
                        "A caption model or a WD v3 tagger (wd-*-tagger-v3; downloaded on first use unless "
                        "offline), or a folder in models/clip_interrogator/caption: a Hugging Face caption model, "
                        "or a tagger in timm's layout (config.json, model.safetensors, selected_tags.csv). "
                        "Set a caption model's style with Caption Style, a tagger's options with Tag Style."
                    ),
                ),
                precision_input(),
            ],
            outputs=[CICaptionModel.Output(display_name="caption_model", tooltip="The caption model.")],
            **compat.schema_extras(
                ["blip", "florence", "joycaption", "qwen vl", "smolvlm", "captioner", "wd tagger", "booru tagger"]
            ),
        )

    @classmethod
    def validate_inputs(cls, model_name: str | None = None) -> bool | str:
        """The pack's message for a folder that is gone (named here, the input skips ComfyUI's
        "Value not in list")."""
        return captions.caption_name_problem(model_name) or True

    @classmethod
    def execute(cls, model_name: str, precision: str) -> io.NodeOutput:
        """Loads the model; errors name the bad value."""
        return io.NodeOutput(captions.load_managed_captioner(model_name, precision))


def _instruction_input() -> io.String.Input:
    return io.String.Input(
        "instruction",
        default="",
        multiline=True,
        tooltip="For style custom: what the model should write, e.g. 'Describe the clothing in detail.'",
    )


def _sampling_inputs() -> list[io.Input]:
    return [
        io.Int.Input(  # not named "seed": the frontend would randomize it, re-captioning every run
            "sampling_seed",
            default=0,
            min=0,
            max=0xFFFFFFFFFFFFFFFF,
            tooltip="With sampling on: the same seed gives the same captions for the same images; change it for "
            "other captions.",
            **compat.advanced(),
        ),
        io.Float.Input(
            "temperature", default=0.7, min=0.05, max=2.0, step=0.05, tooltip="With sampling on.", **compat.advanced()
        ),
    ]


def style_inputs() -> list[io.Input]:
    """style, instruction, max_new_tokens, sampling, sampling_seed, temperature: with
    ``DynamicCombo`` the instruction shows only for custom, the sampling fields only when on."""
    tokens = io.Int.Input(
        "max_new_tokens",
        default=0,
        min=0,
        max=MAX_TOKENS,
        tooltip="Tokens a caption may take; 0: the style's default (short 32, tags 160, detailed 320).",
        **compat.advanced(),
    )
    if compat.has_dynamic_combo():
        option = io.DynamicCombo.Option
        styles = [option(key, [_instruction_input()] if key == "custom" else []) for key in STYLES]
        sampling = [option("off", []), option("on", _sampling_inputs())]
        return [
            io.DynamicCombo.Input("style", options=styles, tooltip=STYLE_TOOLTIP),
            tokens,
            io.DynamicCombo.Input("sampling", options=sampling, tooltip=SAMPLING_TOOLTIP),
        ]
    style = io.Combo.Input("style", options=list(STYLES), default="detailed", tooltip=STYLE_TOOLTIP)
    sampling = io.Boolean.Input("sampling", default=False, tooltip=SAMPLING_TOOLTIP)
    return [style, _instruction_input(), tokens, sampling, *_sampling_inputs()]


def read_style(style: str | dict, sampling: bool | dict, **flat: object) -> CaptionStyle:
    """The chosen style from either form of ``style_inputs`` (a ``DynamicCombo`` arrives as a
    dict holding its choice under its own name, the choice's inputs beside it)."""
    values = dict(flat)
    if isinstance(style, dict):
        values.update(style)
        style = style["style"]
    if isinstance(sampling, dict):
        values.update(sampling)
        sampling = sampling["sampling"] == "on"
    return CaptionStyle(
        style=style,
        instruction=str(values.get("instruction", "")) if style == "custom" else "",
        max_new_tokens=int(values.get("max_new_tokens") or 0) or None,
        sample=bool(sampling),
        seed=int(values.get("sampling_seed", 0)),
        temperature=float(values.get("temperature", 0.7)),
    )


class CaptionStyleNode(io.ComfyNode):
    """Sets what a caption model writes: short, detailed, tags or a custom instruction."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_CaptionStyle",
            display_name="Caption Style (Interrogator)",
            category=CATEGORY,
            description=(
                "What the caption model writes, and how it decodes. The model itself is shared, not copied. "
                "For a tagger use Tag Style."
            ),
            inputs=[
                CICaptionModel.Input(
                    "caption_model", tooltip="A caption model from Load Caption Model (Interrogator); not a tagger."
                ),
                *style_inputs(),
            ],
            outputs=[CICaptionModel.Output(display_name="caption_model", tooltip="The caption model, with the style.")],
            **compat.schema_extras(["detailed caption", "caption prompt", "caption instruction"]),
        )

    @classmethod
    def execute(
        cls, caption_model: ManagedModel, style: str | dict, sampling: bool | dict = False, **flat: object
    ) -> io.NodeOutput:
        """The same model with the style; a style the model cannot write fails here."""
        return io.NodeOutput(captions.styled(caption_model, read_style(style, sampling, **flat)))
