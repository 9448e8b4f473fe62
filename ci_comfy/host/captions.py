"""Caption sources in ComfyUI (caption models and booru taggers): loading one from a name or
a registered folder under ComfyUI's model management, and giving it a caption or tag style."""

from __future__ import annotations

import copy

from ...ci_engine.errors import InputError, ModelNotFoundError
from ...ci_engine.models.caption_style import CaptionStyle
from ...ci_engine.models.captioner import Captioner
from ...ci_engine.models.sources import caption_source_names, load_caption_source
from ...ci_engine.models.tagger import Tagger
from ...ci_engine.tags.style import TagStyle
from .folders import FOLDERS, caption_folders, first_folder
from .models import ManagedModel, bf16_capable, check_model, downloads_allowed, model_devices, precision_for


def caption_name_problem(name: str | None) -> str | None:
    """Why Load Caption Model cannot take ``name`` (None: it can, or it comes from a link)."""
    if name is None or name in caption_source_names() or name in caption_folders():
        return None
    where = FOLDERS["clip_interrogator_caption"]
    return (
        f"Caption model '{name}' is neither a known name nor a folder in {where}: put the model folder there "
        "and refresh (R)."
    )


def load_managed_captioner(name: str, precision: str) -> ManagedModel:
    """``name`` is a known caption model or tagger, or a folder under the registered caption
    folders (looked up by name, never used as a path); "auto" precision is ComfyUI's choice."""
    problem = caption_name_problem(name)
    if problem:
        raise ModelNotFoundError(problem)
    load_device, offload_device = model_devices()
    source = name if name in caption_source_names() else str(caption_folders()[name])
    captioner = load_caption_source(
        source,
        device=offload_device,
        precision=precision,
        auto_precision=precision_for("auto", load_device),
        bf16_capable=bf16_capable(load_device),
        cache_dir=str(first_folder("clip_interrogator_hub")),
        allow_download=downloads_allowed(),
    )
    return ManagedModel(captioner, load_device, offload_device)


SOURCES = (Captioner, Tagger)  # what Load Caption Model gives


def styled(captioner: object, style: CaptionStyle) -> ManagedModel:
    """``captioner`` with ``style``: a copy that shares its model patcher, so the model stays
    one model in memory, loaded and evicted as one. A style it cannot write fails here, and so
    does a tagger (it takes Tag Style's options)."""
    check_model(captioner, SOURCES, "caption_model", "Load Caption Model")
    if isinstance(captioner.module, Tagger):
        raise InputError(
            f"'{captioner.module.name}' is a tagger: it writes booru tags, not captions, so Caption Style does not "
            "apply. Use Tag Style (Interrogator) for its thresholds, rating and spelling, or load a caption model."
        )
    captioner.module.check_style(style)
    copied = copy.copy(captioner)
    copied.caption_style = style
    return copied


def tag_styled(tagger: object, style: TagStyle) -> ManagedModel:
    """``tagger`` with ``style``: a copy sharing its model patcher, as ``styled``. A caption
    model fails here (it takes Caption Style's options)."""
    check_model(tagger, SOURCES, "caption_model", "Load Caption Model")
    check_tagger(tagger.module, "Tag Style sets a tagger's options: use Caption Style (Interrogator) for it")
    copied = copy.copy(tagger)
    copied.tag_style = style
    return copied


def check_tagger(module: object, why: str) -> None:
    """An ``InputError`` when ``module`` is a caption model: ``why`` says what to do instead."""
    if not isinstance(module, Tagger):
        raise InputError(
            f"'{module.name}' is a caption model, not a tagger. {why}, or load a tagger (e.g. wd-vit-tagger-v3)."
        )
