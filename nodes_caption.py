"""Caption model nodes (V3 schema): load one, and choose the kind of caption it writes."""

from __future__ import annotations

from comfy_api.latest import io

from . import comfy_caption
from .ci_engine.models.caption_style import MAX_TOKENS, STYLES, CaptionStyle
from .comfy_host import ManagedModel
from .node_widgets import CATEGORY, CICaptionModel, precision_input


class LoadCaptionModel(io.ComfyNode):
    """Loads a caption model (a known name or a local folder) under ComfyUI's model management."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_LoadCaptionModel",
            display_name="Load Caption Model (Interrogator)",
            category=CATEGORY,
            description="Loads a caption model: BLIP, BLIP-2, GIT, Florence-2, JoyCaption/LLaVA, Qwen-VL, SmolVLM2.",
            inputs=[
                io.Combo.Input(
                    "model_name",
                    options=comfy_caption.caption_choices(),
                    default="blip-large",
                    tooltip=(
                        "A caption model (downloaded on first use unless offline), or a Hugging Face model "
                        "folder in models/clip_interrogator/caption."
                    ),
                ),
                precision_input(),
            ],
            outputs=[CICaptionModel.Output(display_name="caption_model", tooltip="The caption model.")],
        )

    @classmethod
    def execute(cls, model_name: str, precision: str) -> io.NodeOutput:
        """Loads the model; errors name the bad value."""
        return io.NodeOutput(comfy_caption.load_managed_captioner(model_name, precision))


class CaptionStyleNode(io.ComfyNode):
    """Sets what a caption model writes: short, detailed, tags or a custom instruction."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_CaptionStyle",
            display_name="Caption Style (Interrogator)",
            category=CATEGORY,
            description="What the caption model writes, and how it decodes. The model itself is shared, not copied.",
            inputs=[
                CICaptionModel.Input("caption_model", tooltip="From Load Caption Model (Interrogator)."),
                io.Combo.Input(
                    "style",
                    options=list(STYLES),
                    default="detailed",
                    tooltip="short: one sentence (BLIP's kind); detailed: a paragraph, for T5/LLM text encoders "
                    "(Flux, SD3.5); tags: comma-separated tags; custom: your instruction. BLIP and GIT write "
                    "short only; Florence-2 short and detailed; chat models all four.",
                ),
                io.String.Input(
                    "instruction",
                    default="",
                    multiline=True,
                    tooltip="For style custom: what the model should write, e.g. 'Describe the clothing in detail.'",
                ),
                io.Int.Input(
                    "max_new_tokens",
                    default=0,
                    min=0,
                    max=MAX_TOKENS,
                    tooltip="Tokens a caption may take; 0: the style's default (short 32, tags 160, detailed 320).",
                ),
                io.Boolean.Input(
                    "sampling", default=False, tooltip="Off: greedy decoding, the same caption every run."
                ),
                io.Int.Input(  # not named "seed": the frontend would randomize it, re-captioning every run
                    "sampling_seed",
                    default=0,
                    min=0,
                    max=0xFFFFFFFFFFFFFFFF,
                    tooltip="With sampling on: the same seed gives the same captions for the same images; "
                    "change it for other captions.",
                ),
                io.Float.Input("temperature", default=0.7, min=0.05, max=2.0, step=0.05, tooltip="With sampling on."),
            ],
            outputs=[CICaptionModel.Output(display_name="caption_model", tooltip="The caption model, with the style.")],
        )

    @classmethod
    def execute(
        cls,
        caption_model: ManagedModel,
        style: str,
        instruction: str,
        max_new_tokens: int,
        sampling: bool,
        sampling_seed: int,
        temperature: float,
    ) -> io.NodeOutput:
        """The same model with the style; a style the model cannot write fails here."""
        chosen = CaptionStyle(
            style=style,
            instruction=instruction if style == "custom" else "",
            max_new_tokens=max_new_tokens or None,
            sample=sampling,
            seed=sampling_seed,
            temperature=temperature,
        )
        return io.NodeOutput(comfy_caption.styled(caption_model, chosen))
