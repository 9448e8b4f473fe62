"""The only module that talks to ComfyUI's device and VRAM management.

Models live in a neutral container ``nn.Module`` under a ``ModelPatcher``, so the
diffusion model, the Unload button and ``/free`` can evict them; they are loaded with
``load_models_gpu([...], force_full_load=True)`` before every use. Nothing here keeps a
module-level reference to a model: ComfyUI's output cache owns them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

import comfy.model_management as mm
import comfy.model_patcher
import comfy.utils
import folder_paths
import open_clip
import torch
from PIL import Image

from .ci_engine import CacheSettings, Captioner, ClipBundle, Hooks, Interrogator, Result, Settings
from .ci_engine.dataset.files import find_images
from .ci_engine.dataset.local import run_local
from .ci_engine.dataset.manifest import Manifest
from .ci_engine.dataset.work import DatasetHooks, DatasetOptions, Summary
from .ci_engine.errors import InputError, ModelNotFoundError
from .ci_engine.models import hub
from .ci_engine.models.caption_style import CaptionStyle
from .ci_engine.models.clip import CHECKPOINT_SUFFIXES, load_clip
from .ci_engine.models.registry import list_clip_models
from .ci_engine.target import Target
from .ci_engine.vocab import build_vocabulary

log = logging.getLogger(__name__)

# folder_paths names -> subfolder of models/ (users may add paths in extra_model_paths.yaml)
FOLDERS = {
    "clip_interrogator_clip": "clip_interrogator/clip",
    "clip_interrogator_caption": "clip_interrogator/caption",
    "clip_interrogator_embeds": "clip_interrogator/embeds",
    "clip_interrogator_hub": "clip_interrogator/hub",
}


def register_folders() -> None:
    """Registers the pack's model folders, keeping paths extra_model_paths.yaml already added."""
    for name, sub in FOLDERS.items():
        path = os.path.join(folder_paths.models_dir, *sub.split("/"))
        if name in folder_paths.folder_names_and_paths:
            folder_paths.add_model_folder_path(name, path)
        else:
            extensions = set(CHECKPOINT_SUFFIXES) if name.endswith("_clip") else set()
            folder_paths.folder_names_and_paths[name] = ([path], extensions)


def first_folder(name: str) -> Path:
    """The first registered path of folder ``name`` (where the pack writes)."""
    return Path(folder_paths.get_folder_paths(name)[0])


def clip_checkpoints() -> list[str]:
    """Checkpoint files in the registered CLIP folders, as ComfyUI lists them."""
    return [f for f in folder_paths.get_filename_list("clip_interrogator_clip") if f.endswith(CHECKPOINT_SUFFIXES)]


def clip_choices() -> list[str]:
    """Load CLIP's menu: local checkpoints first, then every open_clip tag."""
    return clip_checkpoints() + list_clip_models()


class Container(torch.nn.Module):
    """Neutral holder: ModelPatcher writes ``.device`` on what it wraps, which a transformers
    model cannot take (its ``device`` is a read-only property)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        """``inner`` is the engine module (``ClipBundle`` or ``Captioner``)."""
        super().__init__()
        self.inner = inner


class ManagedModel:
    """An engine module (``ClipBundle`` or ``Captioner``) under ComfyUI's model management."""

    caption_style = CaptionStyle()  # a caption model's style: the Caption Style node sets it on a copy

    def __init__(self, inner: torch.nn.Module, load_device: torch.device, offload_device: torch.device) -> None:
        """Puts ``inner`` on ``offload_device``; ``load()`` makes it resident on ``load_device``."""
        container = Container(inner).eval().requires_grad_(False).to(offload_device)
        self.patcher = comfy.model_patcher.ModelPatcher(
            container, load_device=load_device, offload_device=offload_device
        )

    @property
    def module(self) -> torch.nn.Module:
        """The engine module inside."""
        return self.patcher.model.inner

    def load(self) -> torch.nn.Module:
        """Makes the model resident on its load device (another model may have evicted it)."""
        self.patcher.size = 0  # re-measured: label tables may have been added since
        mm.load_models_gpu([self.patcher], force_full_load=True)
        return self.module


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


def load_managed_clip(name: str, architecture: str, precision: str) -> ManagedModel:
    """``name`` is a checkpoint file in the registered clip folders, or ``ARCH/PRETRAINED``."""
    load_device, offload_device = model_devices()
    common = {"device": offload_device, "precision": precision_for(precision, load_device)}
    common["cache_dir"] = str(first_folder("clip_interrogator_hub"))
    if architecture != "auto" and architecture not in open_clip.list_models():
        raise InputError(f"Unknown CLIP architecture '{architecture}': pick one from the list, or auto.")
    if name in clip_checkpoints():
        arch = "" if architecture == "auto" else architecture
        bundle = load_clip(arch, checkpoint=folder_paths.get_full_path("clip_interrogator_clip", name), **common)
    elif name in list_clip_models():
        bundle = load_clip(name, allow_download=downloads_allowed(), **common)
    else:
        where = FOLDERS["clip_interrogator_clip"]
        raise ModelNotFoundError(f"CLIP model '{name}' is neither a known name nor a file in {where}.")
    return ManagedModel(bundle, load_device, offload_device)


class ComfyHooks(Hooks):
    """Loads our models through ComfyUI before use, drives the node's progress bar, and
    raises ComfyUI's interrupt exception when the user presses Cancel."""

    def __init__(self, *managed: ManagedModel | None) -> None:
        """``managed``: the models this run uses (None entries are skipped)."""
        self._managed = {id(m.module): m for m in managed if m is not None}
        self._bar = comfy.utils.ProgressBar(1)

    def use(self, module: torch.nn.Module) -> None:
        """Loads ``module``'s model through ComfyUI before the engine runs it."""
        self._managed[id(module)].load()

    def progress(self, stage: str, done: int, total: int) -> None:
        """Moves the node's progress bar."""
        self._bar.update_absolute(done, total)

    def check_cancel(self) -> None:
        """Raises ComfyUI's interrupt exception after Cancel."""
        mm.throw_exception_if_processing_interrupted()


def embeds_cache() -> CacheSettings:
    """The pack's label-embedding cache folder, with published caches when online."""
    return CacheSettings(
        first_folder("clip_interrogator_embeds"),
        download=downloads_allowed(),
        hub_cache_dir=str(first_folder("clip_interrogator_hub")),
    )


def tensor_to_images(batch: torch.Tensor) -> list[Image.Image]:
    """ComfyUI IMAGE (B, H, W, C floats in 0..1) to RGB images, recovering 8-bit values exactly."""
    if batch.ndim == 3:
        batch = batch.unsqueeze(0)
    if batch.ndim != 4 or batch.shape[-1] not in (1, 3, 4):
        raise InputError(f"Expected an image batch shaped (B, H, W, C), got {tuple(batch.shape)}.")
    if 0 in batch.shape[:3]:
        raise InputError(f"The image batch is empty or has a zero-sized side: {tuple(batch.shape)}.")
    return [_to_image(image) for image in batch]  # one at a time: one float copy, not a batch's


def _to_image(image: torch.Tensor) -> Image.Image:
    pixels = image[..., :3] if image.shape[-1] >= 3 else image.expand(*image.shape[:2], 3)
    pixels = pixels.detach().float().cpu().nan_to_num(0.0).clamp(0, 1)
    return Image.fromarray((pixels * 255).round().to(torch.uint8).numpy())


def interrogate(
    clip: ManagedModel,
    captioner: ManagedModel | None,
    settings: Settings,
    mode: str,
    image: torch.Tensor,
    caption: str = "",
    with_negative: bool = False,
    target: Target | None = None,
) -> list[Result]:
    """Runs ``mode`` on a ComfyUI image batch with ComfyUI managing both models.

    A non-blank ``caption`` is used for every image instead of the caption model;
    ``with_negative`` adds each image's negative prompt from the same pass; ``target`` fits the
    prompts to a token budget (None: CLIP's window).
    """
    _check_models(clip, captioner)
    settings = _styled(settings, captioner)
    images = tensor_to_images(image)
    captions = [caption] if caption.strip() else None
    vocab = build_vocabulary(compat=settings.compat)
    try:
        return _run(clip, captioner, settings, vocab, mode, images, captions, with_negative, target)
    except torch.OutOfMemoryError:
        # as core's upscale node does: free what ComfyUI can, then once more with half the work
        mm.soft_empty_cache()
        smaller = replace(settings, text_batch_size=max(1, settings.text_batch_size // 2))
        log.warning("Out of memory; retrying with text_batch_size %d.", smaller.text_batch_size)
        try:
            return _run(clip, captioner, smaller, vocab, mode, images, captions, with_negative, target)
        except torch.OutOfMemoryError as exc:
            raise InputError(
                f"Out of memory even with text_batch_size {smaller.text_batch_size}: use fewer images per "
                "batch, a lower precision, or unload other models first."
            ) from exc


def _check_models(clip: object, captioner: object) -> None:
    check_model(clip, ClipBundle, "clip", "Load CLIP")
    if captioner is not None:
        check_model(captioner, Captioner, "caption_model", "Load Caption Model")


def check_model(model: object, kind: type, name: str, loader: str) -> None:
    """A workflow (API JSON) can put any value on a model input: say which node it must come from."""
    if not isinstance(model, ManagedModel) or not isinstance(model.module, kind):
        raise InputError(f"The {name} input got {type(model).__name__}: connect the output of {loader} (Interrogator).")


def _styled(settings: Settings, captioner: ManagedModel | None) -> Settings:
    """``settings`` with the caption model's style (from a Caption Style node, else short)."""
    return settings if captioner is None else replace(settings, caption_style=captioner.caption_style)


def _run(clip, captioner, settings, vocab, mode, images, captions, with_negative=False, target=None) -> list[Result]:
    bundle: ClipBundle = clip.module
    caption_module: Captioner | None = captioner.module if captioner is not None else None
    hooks = ComfyHooks(clip, captioner)
    ci = Interrogator(bundle, caption_module, settings, vocab=vocab, cache=embeds_cache(), hooks=hooks, target=target)
    return ci.run(mode, images, captions, with_negative)


MANIFEST = "interrogator_manifest.jsonl"


def caption_dataset(
    clip: ManagedModel,
    captioner: ManagedModel | None,
    settings: Settings,
    options: DatasetOptions,
    root: Path,
    recursive: bool,
    target: Target | None = None,
) -> Summary:
    """Captions the dataset folder ``root`` (checked to be under a dataset root) with ComfyUI
    managing the models; the manifest is ``root/interrogator_manifest.jsonl``."""
    _check_models(clip, captioner)
    settings = _styled(settings, captioner)
    hooks = ComfyHooks(clip, captioner)
    vocab = build_vocabulary(compat=settings.compat)
    caption_module = captioner.module if captioner is not None else None
    ci = Interrogator(clip.module, caption_module, settings, vocab, embeds_cache(), DatasetHooks(hooks), target)
    images = find_images(root, recursive)
    return run_local(ci, images, root, Manifest(root / MANIFEST), options, hooks)
