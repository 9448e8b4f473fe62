"""The image nodes: Interrogate Image, Negative Prompt from Image, Analyze Image."""

from __future__ import annotations

import json

import torch
from comfy_api.latest import io, ui

from ...ci_engine.errors import InputError
from ...ci_engine.modes import PROMPT_MODE_NAMES
from ...ci_engine.settings import Settings
from ...ci_engine.vocab import MERGED_TABLES, parse_exclusions
from ..host.captions import check_tagger
from ..host.compat import advanced, schema_extras
from ..host.models import ManagedModel
from ..host.run import Job, interrogate
from ..host.text import node_target
from .inputs import (
    CATEGORY,
    TABLE_TOGGLES,
    CICaptionModel,
    caption_inputs,
    clip_input,
    compat_input,
    exclude_input,
    max_flavors_input,
    mode_input,
    read_target,
    table_inputs,
    target_inputs,
)

NEGATIVE_OUTPUT = 2  # Interrogate's outputs: prompt, caption, negative


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


def _string_list(name: str, display: str, tooltip: str) -> io.String.Output:
    return io.String.Output(name, display_name=display, is_output_list=True, tooltip=tooltip)


def _settings(compat_on: bool, max_flavors: int, exclude: str, toggles: dict[str, bool]) -> Settings:
    enabled = frozenset(table for name, table in TABLE_TOGGLES.items() if toggles.get(name, True))
    return Settings(
        compat=compat_on,
        max_flavors=None if max_flavors < 0 else max_flavors,
        enabled_tables=frozenset(MERGED_TABLES) if compat_on else enabled,
        exclusions=frozenset() if compat_on else parse_exclusions(exclude or ""),
    )


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
                clip_input(),
                mode_input(),
                max_flavors_input(),
                compat_input(),
                *table_inputs(),
                *caption_inputs(),
                exclude_input(),
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
                _string_list("prompt", "prompt", "One prompt per image."),
                _string_list("caption_out", "caption", "The caption each prompt starts from."),
                _string_list("negative", "negative", "A negative prompt per image (with_negative on; else empty)."),
            ],
            **schema_extras(["clip interrogator", "image to prompt", "img2prompt", "describe image"]),
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
        target: str | dict = "clip",
        target_clip: object = None,
        **toggles: bool,
    ) -> io.NodeOutput:
        """Prompts and captions, one per image; the prompts are also shown on the node."""
        if mode not in PROMPT_MODE_NAMES:  # ComfyUI before 0.38 does not check V3 combo values
            raise InputError(f"Unknown mode '{mode}': choose one of {', '.join(PROMPT_MODE_NAMES)}.")
        settings = _settings(compat, max_flavors, exclude, toggles)
        if not with_negative and _output_used(cls, NEGATIVE_OUTPUT):
            raise InputError("The negative output is connected but with_negative is off: switch it on.")
        job = Job(clip, caption_model, settings, node_target(*read_target(target, target_clip), clip))
        results = interrogate(job, mode, image, caption or "", with_negative)
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
                clip_input(),
                io.Int.Input("max_flavors", default=32, min=1, max=256, tooltip="Labels to chain at most."),
                io.Boolean.Input(
                    "compat", default=False, tooltip="Reproduce clip-interrogator 0.6.0 exactly.", **advanced()
                ),
            ],
            outputs=[_string_list("negative", "negative", "One negative prompt per image.")],
            **schema_extras(["negative prompt from image", "clip interrogator negative"]),
        )

    @classmethod
    def execute(cls, image: torch.Tensor, clip: ManagedModel, max_flavors: int, compat: bool) -> io.NodeOutput:
        """One negative prompt per image, also shown on the node."""
        results = interrogate(Job(clip, None, Settings(compat=compat, max_flavors=max_flavors)), "negative", image)
        prompts = [r.prompt for r in results]
        return io.NodeOutput(prompts, ui=ui.PreviewText("\n\n".join(prompts)))


class Analyze(io.ComfyNode):
    """The best labels of every table with their scores, as JSON and a table on the node; a
    tagger's tags and scores first when one is connected."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_Analyze",
            display_name="Analyze Image (Interrogator)",
            category=CATEGORY,
            description="The best-matching labels of every table, with their CLIP similarity; with a tagger "
            "connected, its tags and their scores first.",
            is_output_node=True,
            inputs=[
                io.Image.Input("image", tooltip="One or more images; each gets its own analysis."),
                clip_input(),
                io.Int.Input("top_k", default=5, min=1, max=50, tooltip="Labels shown per table."),
                CICaptionModel.Input(
                    "caption_model",
                    optional=True,
                    tooltip="A tagger (from Load Caption Model, with or without Tag Style): its tags and their scores "
                    "head the table as 'tags' (Tag Style's thresholds and max_tags choose them). A caption model is "
                    "refused: Analyze shows no captions.",
                ),
            ],
            outputs=[
                _string_list(
                    "analysis", "analysis_json", 'JSON per image: {"table": [[label, score], ...]}, "tags" first.'
                )
            ],
            **schema_extras(["image labels", "clip scores", "analyze image"]),
        )

    @classmethod
    def execute(
        cls, image: torch.Tensor, clip: ManagedModel, top_k: int, caption_model: ManagedModel | None = None
    ) -> io.NodeOutput:
        """One JSON analysis per image, also drawn as a table on the node."""
        job = Job(clip, caption_model, Settings(max_flavors=top_k))  # checks what caption_model is
        if caption_model is not None:
            check_tagger(caption_model.module, "Analyze shows a tagger's tags, not captions: disconnect it")
        results = interrogate(job, "analyze", image)
        analyses = [json.dumps(r.analysis, ensure_ascii=False, allow_nan=False) for r in results]
        return io.NodeOutput(analyses, ui={"ci_analysis": analyses})
