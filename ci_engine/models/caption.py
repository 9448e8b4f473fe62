"""Caption models through transformers: BLIP, BLIP-2, GIT, by name or local folder."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from ..devices import resolve_device, resolve_dtype
from ..errors import DownloadError, InputError, ModelNotFoundError
from . import hub
from .registry import CAPTION_MODELS

log = logging.getLogger(__name__)

FAMILIES = {"blip": "blip", "blip-2": "blip2", "git": "git"}  # config model_type -> family


class Captioner(nn.Module):
    """A caption model and its processor; generation as upstream 0.6.0 (greedy by default)."""

    def __init__(self, model: nn.Module, processor: Callable, family: str, name: str) -> None:
        """``family`` is "blip", "blip2" or "git"; ``name`` is what the user asked for."""
        super().__init__()
        self.model = model
        self.processor = processor
        self.family = family
        self.name = name

    @property
    def device(self) -> torch.device:
        """Where the caption model's weights are now."""
        return next(self.model.parameters()).device

    @torch.no_grad()
    def generate(self, images: Sequence[Image.Image], max_length: int = 32) -> list[str]:
        """One caption per image, all images in one ``generate`` call."""
        inputs = self.processor(images=list(images), return_tensors="pt").to(self.device)
        if self.family != "git":  # upstream casts BLIP inputs to the model dtype, not GIT's
            inputs = inputs.to(next(self.model.parameters()).dtype)
        tokens = self.model.generate(**inputs, max_new_tokens=max_length)
        return [text.strip() for text in self.processor.batch_decode(tokens, skip_special_tokens=True)]


_ARTIFACTS = re.compile(r"\b(?:arafed|araffe|araffed|arafe|arafad|araffes)\b\s*", re.IGNORECASE)
_REPEATS = re.compile(r"\b(\w+)(?:\s+\1\b)+", re.IGNORECASE)


def clean_caption(text: str) -> str:
    """Removes BLIP's invented words ("arafed", "araffe") and runs of a repeated word."""
    text = _ARTIFACTS.sub("", text)
    text = _REPEATS.sub(r"\1", text)
    return " ".join(text.split())


def _family_of_folder(folder: Path) -> str:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        model_type = config.get("model_type", "")
    except (OSError, ValueError, AttributeError) as exc:
        raise InputError(f"'{folder}' is not a Hugging Face model folder (no readable config.json).") from exc
    if config.get("auto_map"):  # code shipped with the weights: never run (no trust_remote_code)
        raise InputError(
            f"Caption model in '{folder}' needs its own code (config.json has auto_map), which this pack never "
            "runs. Use a checkpoint converted for transformers' built-in classes."
        )
    if model_type not in FAMILIES:
        raise InputError(f"Caption model in '{folder}' is '{model_type}'; supported: {', '.join(FAMILIES)}.")
    return FAMILIES[model_type]


def _model_class(family: str):
    import transformers

    return {
        "blip": transformers.BlipForConditionalGeneration,
        "blip2": transformers.Blip2ForConditionalGeneration,
        "git": transformers.AutoModelForCausalLM,
    }[family]


def _dtype_kwarg(dtype: torch.dtype) -> dict:
    import transformers
    from packaging.version import Version

    # transformers 4.56 renamed torch_dtype to dtype and 5.x warns on the old name
    key = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
    return {key: dtype}


def _check_safe_weights(folder: Path) -> None:
    """A local folder must hold safetensors weights: pickled ones could run code when loaded."""
    if any(folder.glob("*.safetensors")):
        return
    pickled = sorted(p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt"))
    found = f"only pickled weights ({', '.join(pickled)})" if pickled else "no weights file"
    raise InputError(
        f"Caption model folder '{folder}' has {found}. Convert the model to safetensors in a trusted "
        "environment (model.save_pretrained(folder, safe_serialization=True)) and use that folder."
    )


def resolve_caption_source(name: str) -> tuple[str, str, str | None]:
    """(source, family, hub revision) for a short name; a local HF-format folder has no revision."""
    if name in CAPTION_MODELS:
        spec = CAPTION_MODELS[name]
        return spec.hub_id, spec.family, spec.revision
    folder = Path(name)
    if folder.is_dir():
        family = _family_of_folder(folder)
        _check_safe_weights(folder)
        return str(folder), family, None
    raise ModelNotFoundError(
        f"Unknown caption model '{name}': use one of {', '.join(CAPTION_MODELS)}, or a local model folder."
    )


def caption_precision(family: str, precision: str, auto: str = "auto") -> str:
    """The precision a caption model runs in: upstream always runs GIT in fp32; otherwise
    ``auto`` means ``auto`` (the host's choice, or the device's default)."""
    if precision != "auto":
        return precision
    return "fp32" if family == "git" else auto


def load_caption_model(
    name: str,
    *,
    device: str | torch.device | None = None,
    precision: str = "auto",
    auto_precision: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    allow_download: bool = True,
) -> Captioner:
    """Loads a caption model by short name (from the hub cache, downloading if allowed) or folder.

    Args:
        name: a short name from ``CAPTION_MODELS`` or a local Hugging Face model folder.
        device: where the weights go ("auto" or None: CUDA, then MPS, then CPU).
        precision: "auto", "fp16", "bf16" or "fp32".
        auto_precision: what "auto" means for families without a fixed rule (a host's choice).
        cache_dir: the hub cache folder for downloads (None: the hub's default).
        allow_download: whether a missing model may be downloaded.
    """
    from transformers import AutoProcessor

    source, family, revision = resolve_caption_source(name)
    local = revision is None
    dev = resolve_device(device)
    dtype = resolve_dtype(caption_precision(family, precision, auto_precision), dev)
    offline = local or not hub.downloads_allowed(allow_download)
    common = {"cache_dir": cache_dir, "local_files_only": offline, "trust_remote_code": False}
    if revision:
        common["revision"] = revision  # the pinned commit, also when found in the cache offline
    try:
        safe = {"use_safetensors": True} if local else {}  # hub names: safetensors first, else weights_only
        model = _model_class(family).from_pretrained(source, **common, **safe, **_dtype_kwarg(dtype))
        processor = AutoProcessor.from_pretrained(source, **common)
    except OSError as exc:
        raise _load_error(name, source, local, offline, cache_dir, exc) from exc
    log.info("Loaded caption model %s on %s (%s)", name, dev, dtype)
    return Captioner(model.eval().to(dev), processor, family, name)


def _load_error(name: str, source: str, local: bool, offline: bool, cache_dir, exc: OSError) -> Exception:
    if local:
        return ModelNotFoundError(f"Caption model folder '{source}' is incomplete: {exc}")
    if offline:
        return hub.offline_error(
            name,
            [f"{hub.hub_cache_dir(cache_dir)} (hub repo {source})"],
            f"Run once with downloads allowed, or download {source} into a folder and pass that folder.",
        )
    return DownloadError(
        f"Could not download caption model '{name}' ({source}): {exc}. Check the connection and retry."
    )
