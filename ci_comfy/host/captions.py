"""Caption models in ComfyUI: loading one from a name or a registered folder under ComfyUI's
model management, and giving it a caption style."""

from __future__ import annotations

import copy

from ...ci_engine.errors import ModelNotFoundError
from ...ci_engine.models.caption import load_caption_model
from ...ci_engine.models.caption_style import CaptionStyle
from ...ci_engine.models.captioner import Captioner
from ...ci_engine.models.registry import CAPTION_MODELS
from .folders import FOLDERS, caption_folders, first_folder
from .models import ManagedModel, bf16_capable, check_model, downloads_allowed, model_devices, precision_for


def caption_name_problem(name: str | None) -> str | None:
    """Why Load Caption Model cannot take ``name`` (None: it can, or it comes from a link)."""
    if name is None or name in CAPTION_MODELS or name in caption_folders():
        return None
    where = FOLDERS["clip_interrogator_caption"]
    return (
        f"Caption model '{name}' is neither a known name nor a folder in {where}: put the model folder there "
        "and refresh (R)."
    )


def load_managed_captioner(name: str, precision: str) -> ManagedModel:
    """``name`` is a known caption model or a folder under the registered caption folders
    (looked up by name, never used as a path)."""
    problem = caption_name_problem(name)
    if problem:
        raise ModelNotFoundError(problem)
    load_device, offload_device = model_devices()
    source = name if name in CAPTION_MODELS else str(caption_folders()[name])
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
