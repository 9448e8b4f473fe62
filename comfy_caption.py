"""Caption models in ComfyUI: the folders they are found in, loading one under ComfyUI's model
management (through ``comfy_host``), and giving it a caption style."""

from __future__ import annotations

import copy
from pathlib import Path

import folder_paths

from .ci_engine.errors import ModelNotFoundError
from .ci_engine.models.caption import load_caption_model
from .ci_engine.models.caption_style import CaptionStyle
from .ci_engine.models.captioner import Captioner
from .ci_engine.models.registry import CAPTION_MODELS
from .comfy_host import (
    FOLDERS,
    ManagedModel,
    bf16_capable,
    check_model,
    downloads_allowed,
    first_folder,
    model_devices,
    precision_for,
)


def caption_folders() -> dict[str, Path]:
    """Local Hugging Face model folders (with a config.json) under the caption folders."""
    found: dict[str, Path] = {}
    for base in map(Path, folder_paths.get_folder_paths("clip_interrogator_caption")):
        if base.is_dir():
            for config in sorted(base.glob("*/config.json")):
                found.setdefault(config.parent.name, config.parent)
    return found


def caption_choices() -> list[str]:
    """Load Caption Model's menu: known names, then local folders."""
    return list(CAPTION_MODELS) + [name for name in caption_folders() if name not in CAPTION_MODELS]


def load_managed_captioner(name: str, precision: str) -> ManagedModel:
    """``name`` is a known caption model or a folder under the registered caption folders
    (looked up by name, never used as a path)."""
    load_device, offload_device = model_devices()
    folders = caption_folders()
    if name in CAPTION_MODELS:
        source = name
    elif name in folders:
        source = str(folders[name])
    else:
        where = FOLDERS["clip_interrogator_caption"]
        raise ModelNotFoundError(f"Caption model '{name}' is neither a known name nor a folder in {where}.")
    captioner = load_caption_model(
        source,
        device=offload_device,
        precision=precision,
        auto_precision=precision_for("auto", load_device),
        bf16_capable=bf16_capable(load_device),
        cache_dir=str(first_folder("clip_interrogator_hub")),
        allow_download=downloads_allowed(),
    )
    return ManagedModel(captioner, load_device, offload_device)


def styled(captioner: object, style: CaptionStyle) -> ManagedModel:
    """``captioner`` with ``style``: a copy that shares its model patcher, so the model stays
    one model in memory, loaded and evicted as one. A style it cannot write fails here."""
    check_model(captioner, Captioner, "caption_model", "Load Caption Model")
    captioner.module.check_style(style)
    copied = copy.copy(captioner)
    copied.caption_style = style
    return copied
