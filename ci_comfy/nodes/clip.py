"""Load CLIP (Interrogator): a known open_clip name or a checkpoint file of the pack's folder."""

from __future__ import annotations

import open_clip
from comfy_api.latest import io

from ..host import compat, folders, models, reuse
from .inputs import CATEGORY, CIClip, precision_input


class LoadCLIP(io.ComfyNode):
    """Loads a CLIP model (a known name or a local checkpoint) under ComfyUI's model management."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_LoadCLIP",
            display_name="Load CLIP (Interrogator)",
            category=CATEGORY,
            description="Loads a CLIP model for interrogation; label tables are built on first use and cached.",
            inputs=[
                io.Combo.Input(
                    "clip_name",
                    options=folders.clip_choices(),
                    tooltip=(
                        "ARCH/PRETRAINED (downloaded on first use unless offline), or a checkpoint file "
                        "in models/clip_interrogator/clip."
                    ),
                ),
                io.Combo.Input(
                    "architecture",
                    options=["auto", *open_clip.list_models()],
                    default="auto",
                    tooltip="For checkpoint files: auto reads the sidecar config (name.json beside the file).",
                ),
                precision_input(),
            ],
            outputs=[CIClip.Output(display_name="clip", tooltip="CLIP with its label tables.")],
            **compat.schema_extras(["clip interrogator", "open_clip", "load clip model"]),
        )

    @classmethod
    def validate_inputs(cls, clip_name: str | None = None) -> bool | str:
        """The pack's message for a name the folder no longer holds (named here, the input skips
        ComfyUI's "Value not in list"; the fixed architecture list keeps the host's check)."""
        return models.clip_name_problem(clip_name) or True

    @classmethod
    def execute(cls, clip_name: str, architecture: str, precision: str) -> io.NodeOutput:
        """Loads the model; errors name the bad value."""
        return io.NodeOutput(models.load_managed_clip(clip_name, architecture, precision))


class ClipFromComfy(io.ComfyNode):
    """The pack's CLIP over ComfyUI's own CLIP vision model (and the matching text encoder of a
    CLIP): no second download, no second copy of the weights."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_ClipFromComfy",
            display_name="CLIP from ComfyUI (Interrogator)",
            category=CATEGORY,
            description=(
                "Interrogates with a CLIP vision model ComfyUI already holds (ViT-L, ViT-H or ViT-bigG), and with "
                "the matching text encoder of a CLIP when one is connected. Without it, fast, classic and analyze "
                "use the published label caches; best and negative need the text encoder."
            ),
            inputs=[
                io.ClipVision.Input("clip_vision", tooltip="From Load CLIP Vision: an IP-Adapter or Revision encoder."),
                io.Clip.Input(
                    "clip",
                    optional=True,
                    tooltip=(
                        "Optional: a CLIP holding the same model's text encoder (an SDXL checkpoint's for bigG, "
                        "SD2's for H, the full OpenAI clip-vit-large-patch14 for L)."
                    ),
                ),
            ],
            outputs=[CIClip.Output(display_name="clip", tooltip="CLIP for the Interrogator nodes.")],
            **compat.schema_extras(["clip vision interrogator", "reuse clip", "ip-adapter clip"]),
        )

    @classmethod
    def execute(cls, clip_vision: object, clip: object | None = None) -> io.NodeOutput:
        """Recognises the tower; the text encoder's safety net runs on first use."""
        return io.NodeOutput(reuse.clip_from_comfy(clip_vision, clip))
