"""CLIP from the models ComfyUI already holds: a CLIP_VISION image tower and, optionally, the
matching text encoder inside a CLIP (a checkpoint's or a CLIPLoader's).

The weights stay in ComfyUI's own models, under their own ModelPatchers: the pack's patcher
holds only the label tables and loads ComfyUI's patchers with it before every use. The image
tower is recognised by its shapes (``ci_engine.models.towers``); the text encoder is the one
of the same model among the CLIP's encoders (clip_g for bigG, clip_h for H, the full OpenAI L).
It is fed token ids directly, never through ``clip.tokenize`` (which parses prompt weights),
and no clip option is changed.
"""

from __future__ import annotations

import comfy.model_management as mm
import torch

from ...ci_engine.errors import InputError
from ...ci_engine.models.host import HostClip, host_bundle
from ...ci_engine.models.towers import KnownTower, find_tower, text_matches
from ...ci_engine.text.hf_layout import HostTextTower, is_text_model, text_shape
from .models import ManagedModel


def _vision_model(clip_vision: object) -> torch.nn.Module:
    """The CLIP image model inside a CLIP_VISION, or an error for other encoders."""
    model = getattr(clip_vision, "model", None)
    vision = getattr(model, "vision_model", None)
    embeddings = getattr(vision, "embeddings", None)
    if vision is None or getattr(embeddings, "class_embedding", None) is None:
        kind = type(model).__name__ if model is not None else type(clip_vision).__name__
        raise InputError(
            f"The clip_vision input holds {kind}, not a CLIP image encoder (SigLIP and DINO are not CLIP): "
            "load a CLIP vision file such as CLIP-ViT-H-14-laion2B-s32B-b79K with Load CLIP Vision."
        )
    if not isinstance(getattr(model, "visual_projection", None), torch.nn.Linear):
        raise InputError("This CLIP vision model has no projection to CLIP's feature space: it cannot rank labels.")
    return model


def vision_shapes(model: torch.nn.Module) -> tuple[int, int, int]:
    """(width, layers, projection dim) of a ComfyUI CLIP image model."""
    vision = model.vision_model
    return (
        vision.embeddings.patch_embedding.out_channels,
        len(vision.encoder.layers),
        model.visual_projection.out_features,
    )


def _text_models(clip: object) -> list[tuple[str, torch.nn.Module]]:
    """Every CLIP text model (with a projection) inside a ComfyUI CLIP, by its module path."""
    root = getattr(clip, "cond_stage_model", None)
    if root is None:
        raise InputError(f"The clip input holds {type(clip).__name__}: connect a CLIP from a checkpoint or CLIPLoader.")
    return [(name or "text", m) for name, m in root.named_modules() if is_text_model(m)]


def find_text_model(clip: object | None, tower: KnownTower) -> tuple[torch.nn.Module | None, str]:
    """The text model of ``tower`` inside ``clip``, or None and why there is none."""
    if clip is None:
        return None, f"No CLIP (text encoder) is connected. For {tower.name}, connect {tower.text_files}."
    found = _text_models(clip)
    for _, model in found:
        if text_matches(tower, *text_shape(model)):
            return model, ""
    held = ", ".join(f"{name} (width {text_shape(m)[0]}, {text_shape(m)[1]} layers)" for name, m in found) or "none"
    return None, (
        f"The connected CLIP holds no text encoder of {tower.name} (width {tower.text[0]}, {tower.text[1]} layers; "
        f"it holds {held}). Connect {tower.text_files}."
    )


def _heads(model: torch.nn.Module) -> int:
    attn = model.text_model.encoder.layers[0].self_attn
    return getattr(attn, "heads", None) or attn.num_heads


def host_text_tower(model: torch.nn.Module, dtype: torch.dtype) -> HostTextTower:
    """An open_clip-shaped view of ComfyUI's CLIPTextModel: its own forward is the plain path."""

    def forward(tokens: torch.Tensor) -> torch.Tensor:
        return model(input_tokens=tokens, dtype=torch.float32)[2]  # as ComfyUI runs it: fp32 activations

    return HostTextTower(model, _heads(model), forward, dtype)


def clip_from_comfy(clip_vision: object, clip: object | None) -> ManagedModel:
    """The pack's CLIP over ComfyUI's CLIP_VISION (and the CLIP's matching text encoder)."""
    vision = _vision_model(clip_vision)
    tower = find_tower(vision_shapes(vision))
    text_model, why = find_text_model(clip, tower)
    load_device = getattr(clip_vision, "load_device", None) or mm.text_encoder_device()
    dtype = _compute_dtype(vision, load_device)
    image = HostClip(vision, lambda pixels: vision(pixel_values=pixels)[2], dtype)
    text = host_text_tower(text_model, dtype) if text_model is not None else None
    bundle = host_bundle(tower, image, text, why)
    companions = (clip_vision.patcher, *([clip.patcher] if text is not None else []))
    return ManagedModel(bundle, load_device, mm.text_encoder_offload_device(), companions)


def _compute_dtype(vision: torch.nn.Module, load_device: torch.device) -> torch.dtype:
    """What the host's towers compute in: ComfyUI's manual casts run its fp16 text encoders and
    CLIP vision models in fp32 on the CPU; on an accelerator, fp16 (bf16 where stored so), as
    Load CLIP's "auto" does."""
    if torch.device(load_device).type == "cpu":
        return torch.float32
    stored = vision.visual_projection.weight.dtype
    return torch.bfloat16 if stored == torch.bfloat16 else torch.float16
