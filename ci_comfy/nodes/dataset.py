"""Caption Dataset (Interrogator): a sidecar ``.txt`` beside every image of a folder."""

from __future__ import annotations

from comfy_api.latest import io, ui

from ...ci_engine.dataset.files import ON_EXISTING, resolve_in_roots
from ...ci_engine.dataset.work import DatasetOptions
from ...ci_engine.settings import Settings
from ..host import compat, folders
from ..host.models import ManagedModel
from ..host.run import Job, caption_dataset
from ..host.text import node_target
from .inputs import CATEGORY, caption_inputs, clip_input, max_flavors_input, mode_input, read_target, target_inputs

NODE_BATCH = 4  # images per step: Cancel is honoured between images, sidecars land batch by batch


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
                    options=folders.dataset_choices(),
                    tooltip="A folder under ComfyUI's input folder, or under a clip_interrogator_datasets path "
                    "of extra_model_paths.yaml. Nothing outside them is read or written.",
                ),
                clip_input(),
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
            **compat.schema_extras(["lora captions", "batch caption folder", "caption dataset"]),
        )

    @classmethod
    def validate_inputs(cls, folder: str | None = None) -> bool | str:
        """The pack's message for a folder that is gone (named here, the input skips ComfyUI's
        "Value not in list")."""
        if folder is None or folder in folders.dataset_choices():
            return True
        return f"Dataset folder '{folder}' is not under ComfyUI's input folder (or a clip_interrogator_datasets path)."

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
        target: str | dict = "clip",
        target_clip: object = None,
    ) -> io.NodeOutput:
        """Runs the folder; the summary is also shown on the node."""
        settings = Settings(max_flavors=None if max_flavors < 0 else max_flavors)
        fixed = caption if caption.strip() else None
        options = DatasetOptions(mode, prefix, suffix, on_existing, fixed, NODE_BATCH)
        root = resolve_in_roots(folder, folders.dataset_roots())
        job = Job(clip, caption_model, settings, node_target(*read_target(target, target_clip), clip))
        summary = caption_dataset(job, options, root, recursive)
        text = summary.line() + "".join(f"\nfailed: {error}" for error in summary.errors[:20])
        return io.NodeOutput(text, ui=ui.PreviewText(text))
