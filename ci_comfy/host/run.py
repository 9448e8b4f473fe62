"""The image nodes' and Caption Dataset's work: the engine run with ComfyUI managing both
models, and a second try with half the text batch after an out-of-memory error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import torch

from ...ci_engine import CacheSettings, Captioner, ClipBundle, Interrogator, Result, Settings
from ...ci_engine.dataset.files import find_images
from ...ci_engine.dataset.local import run_local
from ...ci_engine.dataset.manifest import Manifest
from ...ci_engine.dataset.work import DatasetHooks, DatasetOptions, Summary
from ...ci_engine.errors import InputError
from ...ci_engine.hooks import Hooks
from ...ci_engine.models.tagger import Tagger
from ...ci_engine.target import Target
from ...ci_engine.vocab import build_vocabulary
from . import compat
from .folders import first_folder
from .images import tensor_to_images
from .models import ManagedModel, check_model, downloads_allowed
from .progress import ComfyHooks

log = logging.getLogger(__name__)
MANIFEST = "interrogator_manifest.jsonl"
T = TypeVar("T")


@dataclass(frozen=True)
class Job:
    """The models and settings of one node run (``captioner``: a caption model or a tagger;
    ``target``: a token budget, None for CLIP's window)."""

    clip: ManagedModel
    captioner: ManagedModel | None
    settings: Settings
    target: Target | None = None

    def __post_init__(self) -> None:
        check_model(self.clip, ClipBundle, "clip", "Load CLIP")
        if self.captioner is not None:
            check_model(self.captioner, (Captioner, Tagger), "caption_model", "Load Caption Model")
            # the source's styles (from a Caption Style or Tag Style node, else the defaults) join the settings
            styles = {"caption_style": self.captioner.caption_style, "tag_style": self.captioner.tag_style}
            object.__setattr__(self, "settings", replace(self.settings, **styles))

    def interrogator(self, hooks: Hooks, settings: Settings | None = None) -> Interrogator:
        """The engine's interrogator over these models, with the pack's label cache."""
        settings = settings or self.settings
        caption_module = self.captioner.module if self.captioner is not None else None
        vocab = build_vocabulary(compat=settings.compat)
        return Interrogator(self.clip.module, caption_module, settings, vocab, embeds_cache(), hooks, self.target)

    def hooks(self) -> ComfyHooks:
        """Hooks that load this job's models and drive the running node's progress bar."""
        return ComfyHooks(self.clip, self.captioner)


def embeds_cache() -> CacheSettings:
    """The pack's label-embedding cache folder, with published caches when online."""
    return CacheSettings(
        first_folder("clip_interrogator_embeds"),
        download=downloads_allowed(),
        hub_cache_dir=str(first_folder("clip_interrogator_hub")),
    )


def interrogate(
    job: Job, mode: str, image: torch.Tensor, caption: str = "", with_negative: bool = False
) -> list[Result]:
    """Runs ``mode`` on a ComfyUI image batch. A non-blank ``caption`` is used for every image
    instead of the caption model; ``with_negative`` adds each image's negative prompt from the
    same pass."""
    images = tensor_to_images(image)
    captions = [caption] if caption.strip() else None

    def attempt(settings: Settings) -> list[Result]:
        return job.interrogator(job.hooks(), settings).run(mode, images, captions, with_negative)

    return retry_out_of_memory(job, attempt)


def retry_out_of_memory(job: Job, attempt: Callable[[Settings], T]) -> T:
    """``attempt(settings)``; after an out-of-memory error (as the host recognises them), once
    more with half the text batch once ComfyUI has freed what it holds on the device."""
    try:
        return attempt(job.settings)
    except Exception as exc:
        if not compat.is_oom(exc):
            raise
    compat.free_device_memory(job.clip.patcher.load_device)  # outside the handler: the error's frames are gone
    smaller = replace(job.settings, text_batch_size=max(1, job.settings.text_batch_size // 2))
    log.warning("Out of memory; retrying with text_batch_size %d.", smaller.text_batch_size)
    try:
        return attempt(smaller)
    except Exception as exc:
        if not compat.is_oom(exc):
            raise
        raise InputError(
            f"Out of memory even with text_batch_size {smaller.text_batch_size}: use fewer images per batch, "
            "a lower precision, or unload other models first."
        ) from exc


def caption_dataset(job: Job, options: DatasetOptions, root: Path, recursive: bool) -> Summary:
    """Captions the dataset folder ``root`` (checked to be under a dataset root); the manifest
    is ``root/interrogator_manifest.jsonl``."""
    hooks = job.hooks()
    ci = job.interrogator(DatasetHooks(hooks))
    return run_local(ci, find_images(root, recursive), root, Manifest(root / MANIFEST), options, hooks)
