"""The only module that holds our models under ComfyUI's model management.

Models live in a neutral container ``nn.Module`` under a ``ModelPatcher``, so the diffusion
model, the Unload button and ``/free`` can evict them; they are loaded with
``load_models_gpu([...], force_full_load=True)`` before every use. Nothing here keeps a
module-level reference to a model: ComfyUI's output cache owns them.
"""

from __future__ import annotations

import comfy.model_management as mm
import comfy.model_patcher
import folder_paths
import open_clip
import torch

from ...ci_engine.errors import InputError, ModelNotFoundError
from ...ci_engine.models import hub
from ...ci_engine.models.caption_style import CaptionStyle
from ...ci_engine.models.clip import load_clip
from ...ci_engine.models.registry import list_clip_models
from ...ci_engine.tags.style import TagStyle
from .folders import FOLDERS, clip_checkpoints, first_folder


class Container(torch.nn.Module):
    """Neutral holder: ModelPatcher writes ``.device`` on what it wraps, which a transformers
    model cannot take (its ``device`` is a read-only property)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        """``inner`` is the engine module (``ClipBundle``, ``Captioner`` or ``Tagger``)."""
        super().__init__()
        self.inner = inner


class ManagedModel:
    """An engine module (``ClipBundle``, ``Captioner`` or ``Tagger``) under ComfyUI's model management."""

    caption_style = CaptionStyle()  # a caption model's style: the Caption Style node sets it on a copy
    tag_style = TagStyle()  # a tagger's options: the Tag Style node sets them on a copy

    def __init__(
        self, inner: torch.nn.Module, load_device: torch.device, offload_device: torch.device, companions: tuple = ()
    ) -> None:
        """Puts ``inner`` on ``offload_device``; ``load()`` makes it resident on ``load_device``,
        with ``companions``: ComfyUI's own patchers of the weights ``inner`` calls (CLIP from ComfyUI)."""
        container = Container(inner).eval().requires_grad_(False).to(offload_device)
        self.patcher = comfy.model_patcher.ModelPatcher(
            container, load_device=load_device, offload_device=offload_device
        )
        self.companions = tuple(companions)

    @property
    def module(self) -> torch.nn.Module:
        """The engine module inside."""
        return self.patcher.model.inner

    def load(self) -> torch.nn.Module:
        """Makes the model resident on its load device (another model may have evicted it)."""
        self.patcher.size = 0  # re-measured: label tables may have been added since
        mm.load_models_gpu([self.patcher, *self.companions], force_full_load=True)
        return self.module


def check_model(model: object, kind: type | tuple[type, ...], name: str, loader: str) -> None:
    """A workflow (API JSON) can put any value on a model input: say which node it must come from."""
    if not isinstance(model, ManagedModel) or not isinstance(model.module, kind):
        raise InputError(f"The {name} input got {type(model).__name__}: connect the output of {loader} (Interrogator).")


def model_devices() -> tuple[torch.device, torch.device]:
    """(load device, offload device) as ComfyUI chooses them."""
    return mm.get_torch_device(), mm.unet_offload_device()


def precision_for(choice: str, load_device: torch.device) -> str:
    """A loader's precision: "auto" is ComfyUI's choice for ``load_device``."""
    if choice != "auto":
        return choice
    if mm.should_use_fp16(load_device):
        return "fp16"
    return "bf16" if mm.should_use_bf16(load_device) else "fp32"


def bf16_capable(load_device: torch.device) -> bool:
    """Whether ComfyUI would run a model in bf16 on ``load_device``."""
    return mm.should_use_bf16(load_device)


def downloads_allowed() -> bool:
    """Whether a model may be downloaded by name."""
    return hub.downloads_allowed(True)  # ComfyUI downloads by name unless HF_HUB_OFFLINE is set


def clip_name_problem(name: str | None) -> str | None:
    """Why Load CLIP cannot take ``name`` (None: it can, or it comes from a link)."""
    if name is None or name in clip_checkpoints() or name in list_clip_models():
        return None
    where = FOLDERS["clip_interrogator_clip"]
    return f"CLIP model '{name}' is neither a known name nor a file in {where}: put the file there and refresh (R)."


def architecture_problem(architecture: str | None) -> str | None:
    """Why ``architecture`` is not one Load CLIP can build (None: it is)."""
    if architecture is None or architecture == "auto" or architecture in open_clip.list_models():
        return None
    return f"Unknown CLIP architecture '{architecture}': pick one from the list, or auto."


def load_managed_clip(name: str, architecture: str, precision: str) -> ManagedModel:
    """``name`` is a checkpoint file in the registered clip folders, or ``ARCH/PRETRAINED``."""
    if architecture_problem(architecture):
        raise InputError(architecture_problem(architecture))
    if clip_name_problem(name):
        raise ModelNotFoundError(clip_name_problem(name))
    load_device, offload_device = model_devices()
    common = {"device": offload_device, "precision": precision_for(precision, load_device)}
    common["cache_dir"] = str(first_folder("clip_interrogator_hub"))
    if name in clip_checkpoints():
        arch = "" if architecture == "auto" else architecture
        bundle = load_clip(arch, checkpoint=folder_paths.get_full_path("clip_interrogator_clip", name), **common)
    else:
        bundle = load_clip(name, allow_download=downloads_allowed(), **common)
    return ManagedModel(bundle, load_device, offload_device)
