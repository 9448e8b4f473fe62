"""ComfyUI nodes (V3 schema): thin wrappers over ``comfy_host`` and ``ci_engine``."""

from __future__ import annotations

import json

import torch
from comfy_api.latest import ComfyExtension, io, ui
from typing_extensions import override

from . import comfy_host
from .ci_engine.errors import InputError
from .ci_engine.modes import PROMPT_MODE_NAMES
from .ci_engine.settings import Settings
from .ci_engine.vocab import MERGED_TABLES, parse_exclusions
from .comfy_host import ManagedModel
from .comfy_text import node_target
from .node_widgets import (
    CATEGORY,
    TABLE_TOGGLES,
    CIClip,
    caption_inputs,
    max_flavors_input,
    mode_input,
    precision_input,
    table_inputs,
    target_inputs,
)
from .nodes_caption import CaptionStyleNode, LoadCaptionModel
from .nodes_dataset import CaptionDataset

comfy_host.register_folders()


class LoadCLIP(io.ComfyNode):
    """Loads a CLIP model (a known name or a local checkpoint) under ComfyUI's model management."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        import open_clip

        return io.Schema(
            node_id="CI_LoadCLIP",
            display_name="Load CLIP (Interrogator)",
            category=CATEGORY,
            description="Loads a CLIP model for interrogation; label tables are built on first use and cached.",
            inputs=[
                io.Combo.Input(
                    "clip_name",
                    options=comfy_host.clip_choices(),
                    tooltip=(
                        "ARCH/PRETRAINED (downloaded on first use unless offline), or a checkpoint file "
                        "in models/clip_interrogator/clip."
                    ),
                ),
                io.Combo.Input(
                    "architecture",
                    options=["auto", *open_clip.list_models()],
                    default="auto",
                    tooltip=("For checkpoint files: auto reads the sidecar config (name.json beside the file)."),
                ),
                precision_input(),
            ],
            outputs=[CIClip.Output(display_name="clip", tooltip="CLIP with its label tables.")],
        )

    @classmethod
    def execute(cls, clip_name: str, architecture: str, precision: str) -> io.NodeOutput:
        """Loads the model; errors name the bad value."""
        return io.NodeOutput(comfy_host.load_managed_clip(clip_name, architecture, precision))


def _output_used(node: type[io.ComfyNode], index: int) -> bool:
    """Whether any node of the running prompt takes output ``index`` of this node (False when
    that is unknown: called outside ComfyUI's executor)."""
    hidden = node.hidden
    if hidden is None or not hidden.prompt or hidden.unique_id is None:
        return False
    links = (value for entry in hidden.prompt.values() for value in entry.get("inputs", {}).values())
    return any(
        isinstance(v, list) and len(v) == 2 and [str(v[0]), v[1]] == [str(hidden.unique_id), index] for v in links
    )


NEGATIVE_OUTPUT = 2  # Interrogate's outputs: prompt, caption, negative


class Interrogate(io.ComfyNode):
    """Image to prompt, one per image of the batch, in any prompt mode."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_Interrogate",
            display_name="Interrogate Image",
            category=CATEGORY,
            description="Image to Stable Diffusion prompt (clip-interrogator). One prompt per image of the batch.",
            is_output_node=True,
            hidden=[io.Hidden.prompt, io.Hidden.unique_id],  # to see whether the negative output is wired
            inputs=[
                io.Image.Input("image", tooltip="One or more images; each gets its own prompt."),
                CIClip.Input("clip", tooltip="From Load CLIP (Interrogator)."),
                mode_input(),
                max_flavors_input(),
                io.Boolean.Input(
                    "compat",
                    default=False,
                    tooltip=("Reproduce clip-interrogator 0.6.0's prompts exactly (all tables, no exclusions)."),
                ),
                *table_inputs(),
                *caption_inputs(),
                io.String.Input(
                    "exclude",
                    optional=True,
                    default="",
                    multiline=True,
                    tooltip=(
                        "Labels never to use, one per line or comma-separated; an artist name also removes "
                        "'by …' and 'inspired by …'."
                    ),
                ),
                io.Boolean.Input(
                    "with_negative",
                    optional=True,
                    default=False,
                    tooltip="Also chain a negative prompt (the negative output) from the same image features and "
                    "caption: one more chain per image, no second image pass.",
                ),
                *target_inputs(),
            ],
            outputs=[
                io.String.Output("prompt", display_name="prompt", is_output_list=True, tooltip="One prompt per image."),
                io.String.Output(
                    "caption_out",
                    display_name="caption",
                    is_output_list=True,
                    tooltip="The caption each prompt starts from.",
                ),
                io.String.Output(
                    "negative",
                    display_name="negative",
                    is_output_list=True,
                    tooltip="A negative prompt per image from the same image pass (with_negative on; else empty).",
                ),
            ],
        )

    @classmethod
    def execute(
        cls,
        image: torch.Tensor,
        clip: ManagedModel,
        mode: str,
        max_flavors: int,
        compat: bool,
        caption_model: ManagedModel | None = None,
        caption: str = "",
        exclude: str = "",
        with_negative: bool = False,
        target: str = "clip",
        target_clip: object = None,
        **toggles: bool,
    ) -> io.NodeOutput:
        """Prompts and captions, one per image; the prompts are also shown on the node."""
        if mode not in PROMPT_MODE_NAMES:  # ComfyUI does not check V3 combo values
            raise InputError(f"Unknown mode '{mode}': choose one of {', '.join(PROMPT_MODE_NAMES)}.")
        enabled = frozenset(table for name, table in TABLE_TOGGLES.items() if toggles.get(name, True))
        tables = frozenset(MERGED_TABLES) if compat else enabled
        exclusions = frozenset() if compat else parse_exclusions(exclude or "")
        count = None if max_flavors < 0 else max_flavors
        settings = Settings(compat=compat, max_flavors=count, enabled_tables=tables, exclusions=exclusions)
        if not with_negative and _output_used(cls, NEGATIVE_OUTPUT):
            raise InputError("The negative output is connected but with_negative is off: switch it on.")
        fit = node_target(target, target_clip, clip)
        results = comfy_host.interrogate(clip, caption_model, settings, mode, image, caption or "", with_negative, fit)
        prompts = [r.prompt for r in results]
        negatives = [r.negative or "" for r in results]
        return io.NodeOutput(prompts, [r.caption for r in results], negatives, ui=ui.PreviewText("\n\n".join(prompts)))


class NegativePrompt(io.ComfyNode):
    """The labels least like each image, chained into a negative prompt."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_NegativePrompt",
            display_name="Negative Prompt from Image",
            category=CATEGORY,
            description="Chains the labels least like the image into a negative prompt.",
            is_output_node=True,
            inputs=[
                io.Image.Input("image", tooltip="One or more images; each gets its own negative prompt."),
                CIClip.Input("clip", tooltip="From Load CLIP (Interrogator)."),
                io.Int.Input("max_flavors", default=32, min=1, max=256, tooltip="Labels to chain at most."),
                io.Boolean.Input("compat", default=False, tooltip="Reproduce clip-interrogator 0.6.0 exactly."),
            ],
            outputs=[
                io.String.Output(
                    "negative", display_name="negative", is_output_list=True, tooltip="One negative prompt per image."
                )
            ],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, clip: ManagedModel, max_flavors: int, compat: bool) -> io.NodeOutput:
        """One negative prompt per image, also shown on the node."""
        settings = Settings(compat=compat, max_flavors=max_flavors)
        results = comfy_host.interrogate(clip, None, settings, "negative", image)
        prompts = [r.prompt for r in results]
        return io.NodeOutput(prompts, ui=ui.PreviewText("\n\n".join(prompts)))


class Analyze(io.ComfyNode):
    """The best labels of every table with their scores, as JSON and a table on the node."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_Analyze",
            display_name="Analyze Image (Interrogator)",
            category=CATEGORY,
            description="The best-matching labels of every table, with their CLIP similarity.",
            is_output_node=True,
            inputs=[
                io.Image.Input("image", tooltip="One or more images; each gets its own analysis."),
                CIClip.Input("clip", tooltip="From Load CLIP (Interrogator)."),
                io.Int.Input("top_k", default=5, min=1, max=50, tooltip="Labels shown per table."),
            ],
            outputs=[
                io.String.Output(
                    "analysis",
                    display_name="analysis_json",
                    is_output_list=True,
                    tooltip='JSON per image: {"table": [[label, score], ...]}.',
                )
            ],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, clip: ManagedModel, top_k: int) -> io.NodeOutput:
        """One JSON analysis per image, also drawn as a table on the node."""
        results = comfy_host.interrogate(clip, None, Settings(max_flavors=top_k), "analyze", image)
        analyses = [json.dumps(r.analysis, ensure_ascii=False, allow_nan=False) for r in results]
        return io.NodeOutput(analyses, ui={"ci_analysis": analyses})


class InterrogatorExtension(ComfyExtension):
    """The pack's V3 extension: its node list."""

    @override
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        """The seven nodes."""
        return [LoadCLIP, LoadCaptionModel, CaptionStyleNode, Interrogate, NegativePrompt, Analyze, CaptionDataset]


async def comfy_entrypoint() -> InterrogatorExtension:
    """ComfyUI's V3 entry point."""
    return InterrogatorExtension()
