"""Caption models through transformers' native classes, by short name or local folder."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch

from ..devices import resolve_device, resolve_dtype
from ..errors import InputError, ModelNotFoundError
from . import hub
from .caption_families import FAMILIES, Family, check_style, family_of_model_type
from .captioner import Captioner
from .registry import CAPTION_MODELS, TAGGER_MODELS

log = logging.getLogger(__name__)


def _family_of_folder(folder: Path) -> Family:
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
    return family_of_model_type(str(model_type), str(folder))


def _model_class(family: Family) -> type:
    import transformers

    found = getattr(transformers, family.model_class, None)
    if found is None:
        raise InputError(
            f"{family.label} models need a newer transformers than {transformers.__version__} (it has no "
            f"{family.model_class}): pip install -U transformers."
        )
    return found


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


def resolve_caption_source(name: str) -> tuple[str, Family, str | None]:
    """(source, family, hub revision) for a short name; a local HF-format folder has no revision."""
    if name in CAPTION_MODELS:
        spec = CAPTION_MODELS[name]
        return spec.hub_id, FAMILIES[spec.family], spec.revision
    folder = Path(name)
    if folder.is_dir():
        family = _family_of_folder(folder)
        _check_safe_weights(folder)
        return str(folder), family, None
    raise ModelNotFoundError(
        f"Unknown caption model '{name}': use one of {', '.join(CAPTION_MODELS)}, a booru tagger "
        f"({', '.join(TAGGER_MODELS)}), or a local model folder."
    )


def check_caption_model(
    name: str, cache_dir: str | os.PathLike | None = None, allow_download: bool = True, style: str | None = None
) -> Family:
    """The family of caption model ``name``, checked without loading any weights: a known name
    or a usable folder that can write caption ``style`` (None: any); a name not in the hub
    cache needs downloads allowed and the hub answering."""
    source, family, revision = resolve_caption_source(name)
    if style is not None:
        check_style(family, style, name)
    if revision is None or hub.cached_hub_file(source, "config.json", cache_dir, revision):
        return family
    if not hub.downloads_allowed(allow_download):
        raise _offline_error(name, source, cache_dir)
    hub.require_reachable(f"caption model '{name}' ({source})")
    return family


def caption_precision(family: Family, precision: str, auto: str = "auto", bf16_capable: bool = False) -> str:
    """The precision a caption model runs in. Upstream always runs GIT in fp32; language-model
    families run in bf16 where the device computes in it (fp16 overflows in their long
    activations); otherwise ``auto`` (the host's choice, or the device's default)."""
    if precision != "auto":
        return precision
    if family.name == "git":
        return "fp32"
    return "bf16" if family.prefers_bf16 and bf16_capable else auto


def cuda_bf16(device: torch.device) -> bool:
    """Whether ``device`` is a GPU that computes in bf16."""
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def load_caption_model(
    name: str,
    *,
    device: str | torch.device | None = None,
    precision: str = "auto",
    auto_precision: str = "auto",
    bf16_capable: bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    allow_download: bool = True,
) -> Captioner:
    """Loads a caption model by short name (from the hub cache, downloading if allowed) or folder.

    Args:
        name: a short name from ``CAPTION_MODELS`` or a local Hugging Face model folder.
        device: where the weights go ("auto" or None: CUDA, then MPS, then CPU).
        precision: "auto", "fp16", "bf16" or "fp32".
        auto_precision: what "auto" means for families without a fixed rule (a host's choice).
        bf16_capable: whether the device the model will run on computes in bf16 (None: ask torch
            about ``device``); "auto" then runs language-model families in bf16.
        cache_dir: the hub cache folder for downloads (None: the hub's default).
        allow_download: whether a missing model may be downloaded.
    """
    check_caption_model(name, cache_dir, allow_download)
    source, family, revision = resolve_caption_source(name)
    local = revision is None
    dev = resolve_device(device)
    capable = cuda_bf16(dev) if bf16_capable is None else bf16_capable
    dtype = resolve_dtype(caption_precision(family, precision, auto_precision, capable), dev)
    offline = local or not hub.downloads_allowed(allow_download)
    common = {"cache_dir": cache_dir, "local_files_only": offline, "trust_remote_code": False}
    if revision:
        common["revision"] = revision  # the pinned commit, also when found in the cache offline
    try:
        model, processor = _from_pretrained(source, family, common, local, dtype, name)
    except OSError as exc:
        raise _load_error(name, source, local, offline, cache_dir, exc) from exc
    log.info("Loaded caption model %s on %s (%s)", name, dev, dtype)
    system = CAPTION_MODELS[name].system if name in CAPTION_MODELS else ""
    return Captioner(model.eval().to(dev), processor, family, name, system=system)


def _from_pretrained(source: str, family: Family, common: dict, local: bool, dtype: torch.dtype, name: str):
    """(model, processor) through transformers' native classes; the processor first, as it is
    cheap and says whether a chat model can be asked at all."""
    from transformers import AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(source, **common)
        _check_processor(processor, family, name)
        safe = {"use_safetensors": True} if local else {}  # hub names: safetensors first, else weights_only
        return _model_class(family).from_pretrained(source, **common, **safe, **_dtype_kwarg(dtype)), processor
    except ValueError as exc:  # a model type this transformers does not know
        raise InputError(f"Caption model '{name}' could not be loaded by this transformers: {exc}") from exc


def _check_processor(processor: object, family: Family, name: str) -> None:
    """A chat model is asked through its processor's chat template: one without cannot be asked."""
    if family.asking == "chat" and not getattr(processor, "chat_template", None):
        raise InputError(
            f"Caption model '{name}' ({family.label}) has no chat template in its processor files "
            "(chat_template.jinja or processor_config.json), so it cannot be given an instruction. "
            "Use a model folder saved with its processor (processor.save_pretrained)."
        )


def _load_error(name: str, source: str, local: bool, offline: bool, cache_dir, exc: OSError) -> Exception:
    if local:
        return ModelNotFoundError(f"Caption model folder '{source}' is incomplete: {exc}")
    if offline:
        return _offline_error(name, source, cache_dir)
    return hub.download_error(f"caption model '{name}' ({source})", str(exc))


def _offline_error(name: str, source: str, cache_dir) -> Exception:
    return hub.offline_error(
        name,
        [f"{hub.hub_cache_dir(cache_dir)} (hub repo {source})"],
        f"Run once with downloads allowed, or download {source} into a folder and pass that folder.",
    )
