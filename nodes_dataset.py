"""Caption Dataset (Interrogator): a sidecar ``.txt`` beside every image of a folder."""

from __future__ import annotations

from pathlib import Path

import folder_paths
from comfy_api.latest import io, ui

from . import comfy_host
from .ci_engine.dataset.files import ON_EXISTING, list_folders, resolve_in_roots
from .ci_engine.dataset.work import DatasetOptions
from .ci_engine.settings import Settings
from .comfy_host import ManagedModel
from .comfy_text import node_target
from .node_widgets import CATEGORY, CIClip, caption_inputs, max_flavors_input, mode_input, target_inputs

NODE_BATCH = 4  # images per step: Cancel is honoured between images, sidecars land batch by batch
DATASETS = "clip_interrogator_datasets"  # extra_model_paths.yaml key for more dataset roots


def dataset_roots() -> list[Path]:
    """Where datasets may be: ComfyUI's input folder and any registered dataset roots."""
    roots = [Path(folder_paths.get_input_directory())]
    if DATASETS in folder_paths.folder_names_and_paths:
        roots += [Path(p) for p in folder_paths.get_folder_paths(DATASETS)]
    return [root for root in roots if root.is_dir()]


def folder_choices() -> list[str]:
    """The node's menu: the folders under the dataset roots."""
    return list_folders(dataset_roots()) or ["(no folder in ComfyUI's input folder)"]


class CaptionDataset(io.ComfyNode):
    """Captions every image of a folder under ComfyUI's input folder (or a registered dataset
    root) into sidecar ``.txt`` files, resuming where an earlier run stopped."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_CaptionDataset",
            display_name="Caption Dataset (Interrogator)",
            category=CATEGORY,
            description="Writes name.txt beside every image of a folder (LoRA / fine-tune captions), with a manifest.",
            is_output_node=True,
            inputs=[
                io.Combo.Input(
                    "folder",
                    options=folder_choices(),
                    tooltip="A folder under ComfyUI's input folder, or under a clip_interrogator_datasets path "
                    "of extra_model_paths.yaml. Nothing outside them is read or written.",
                ),
                CIClip.Input("clip", tooltip="From Load CLIP (Interrogator)."),
                mode_input(),
                max_flavors_input(),
                io.String.Input("prefix", default="", tooltip="Text before every prompt, e.g. trigger words."),
                io.String.Input("suffix", default="", tooltip="Text after every prompt."),
                io.Combo.Input(
                    "on_existing",
                    options=list(ON_EXISTING),
                    default="skip",
                    tooltip="A sidecar that is already there: keep it, replace it, or add the prompt after it. "
                    "Images this manifest already shows done with the same settings are always skipped.",
                ),
                io.Boolean.Input("recursive", default=True, tooltip="Subfolders too."),
                *caption_inputs(),
                *target_inputs(),
            ],
            outputs=[io.String.Output("summary", display_name="summary", tooltip="Counts and the manifest path.")],
        )

    @classmethod
    def execute(
        cls,
        folder: str,
        clip: ManagedModel,
        mode: str,
        max_flavors: int,
        prefix: str,
        suffix: str,
        on_existing: str,
        recursive: bool,
        caption_model: ManagedModel | None = None,
        caption: str = "",
        target: str = "clip",
        target_clip: object = None,
    ) -> io.NodeOutput:
        """Runs the folder; the summary is also shown on the node."""
        settings = Settings(max_flavors=None if max_flavors < 0 else max_flavors)
        fixed = caption if caption.strip() else None
        options = DatasetOptions(mode, prefix, suffix, on_existing, fixed, NODE_BATCH)
        root = resolve_in_roots(folder, dataset_roots())
        fit = node_target(target, target_clip, clip)
        summary = comfy_host.caption_dataset(clip, caption_model, settings, options, root, recursive, fit)
        text = summary.line() + "".join(f"\nfailed: {error}" for error in summary.errors[:20])
        return io.NodeOutput(text, ui=ui.PreviewText(text))
