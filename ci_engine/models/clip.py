"""Loading CLIP through open_clip: pretrained tags, local checkpoints, custom configs."""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import torch

from ..devices import resolve_device, resolve_dtype
from ..errors import InputError, ModelNotFoundError
from . import hub
from .bundle import ClipBundle
from .clip_names import (
    checkpoint_architecture,
    known_architectures,
    local_architecture,
    pretrained_cfg,
    register_private_config,
    sidecar_config,
    unknown_error,
)
from .weights import check_token_table, expected_sha256, file_sha256, load_error, weights_fingerprint

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
_HF_DEFAULT_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def _hub_weight_candidates(cfg: dict) -> tuple[str, list[str]]:
    repo, filename = os.path.split(cfg["hf_hub"])  # "org/repo/" names the default file
    if not filename:
        return repo, list(_HF_DEFAULT_WEIGHTS)
    stem, ext = os.path.splitext(filename)
    alternatives = [stem + ".safetensors"] if ext in (".bin", ".pth") else []
    return repo, alternatives + [filename]


def _local_weights(cfg: dict, cache_dir: str | None) -> tuple[str | None, list[str]]:
    """The cached weights file of a pretrained tag, and the places looked in."""
    looked = []
    if cfg.get("hf_hub"):
        repo, names = _hub_weight_candidates(cfg)
        looked.append(f"{hub.hub_cache_dir(cache_dir)} (hub repo {repo})")
        for name in names:
            found = hub.cached_hub_file(repo, name, cache_dir)
            if found:
                return found, looked
    if cfg.get("url"):
        folder = cache_dir or os.path.expanduser("~/.cache/clip")
        path = os.path.join(folder, os.path.basename(cfg["url"]))
        expected = expected_sha256(cfg["url"])
        if os.path.isfile(path) and not file_sha256(Path(path)).startswith(expected):
            log.warning("%s does not match open_clip's sha256 for it; not using it.", path)
            looked.append(f"{path} (present, but its sha256 does not match open_clip's: delete it)")
        else:
            looked.append(path)
            if os.path.isfile(path):
                return path, looked
    return None, looked


def _pretrained_source(name: str, cache_dir: str | None, allow_download: bool) -> tuple[str | None, dict]:
    """The local weights file of ``ARCH/TAG`` and its pretrained config; None for the file when
    it is to be downloaded, once downloads are allowed and the server answers."""
    arch, tag = name.split("/", 1)
    cfg = pretrained_cfg(arch, tag)
    path, looked = _local_weights(cfg, cache_dir)
    if path:
        return path, cfg
    local = local_architecture(arch, cfg)
    if not hub.downloads_allowed(allow_download):
        raise hub.offline_error(
            name,
            looked,
            "Run once with downloads allowed to fetch it, or place a checkpoint file locally and load it "
            f"as --clip {local} --clip-checkpoint FILE.",
        )
    hub.require_reachable(f"CLIP weights for '{name}'", None if cfg.get("hf_hub") else cfg.get("url"), local)
    return None, cfg


def resolve_pretrained_weights(name: str, cache_dir: str | None, allow_download: bool) -> tuple[str, dict]:
    """Local path of the weights for ``ARCH/TAG``, downloading them only if allowed."""
    import open_clip

    path, cfg = _pretrained_source(name, cache_dir, allow_download)
    if path:
        return path, cfg
    log.info("Downloading CLIP weights for %s", name)
    try:
        return open_clip.download_pretrained(cfg, cache_dir=cache_dir), cfg
    except Exception as exc:  # network errors come in many types; all mean the same to users
        local = local_architecture(name.split("/", 1)[0], cfg)
        raise hub.download_error(f"CLIP weights for '{name}'", str(exc), local) from exc


def preprocess_overrides(cfg: dict) -> dict:
    """The preprocessing settings a pretrained tag's config sets over its architecture's."""
    keys = ("mean", "std", "interpolation", "resize_mode")
    return {k: cfg[k] for k in keys if k in cfg}


def _hub_parts_available(arch: str, cache_dir: str | None, allow_download: bool) -> None:
    """A config whose text tower or tokenizer comes from the Hugging Face hub may only reach
    for it when downloads are allowed: offline it must already be in the hub cache."""
    import open_clip

    text_cfg = (open_clip.get_model_config(arch) or {}).get("text_cfg", {})
    for repo in filter(None, (text_cfg.get("hf_model_name"), text_cfg.get("hf_tokenizer_name"))):
        if hub.cached_hub_file(repo, "config.json", cache_dir):
            continue
        if not hub.downloads_allowed(allow_download):
            raise hub.offline_error(
                f"{arch} (its text part {repo})",
                [f"{hub.hub_cache_dir(cache_dir)} (hub repo {repo})"],
                "Run once with downloads allowed, or put that repository in the hub cache.",
            )
        hub.require_reachable(f"the text part of CLIP {arch} ({repo})")


def _create(arch: str, weights: str, device: torch.device, dtype: torch.dtype, allow_download: bool, **kwargs):
    import open_clip

    _hub_parts_available(arch, kwargs.get("cache_dir"), allow_download)

    precision = {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype, "fp32")
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=weights, precision=precision, device=device, **kwargs
        )
    except pickle.UnpicklingError as exc:
        raise InputError(
            f"Refusing to load '{weights}': it holds pickled objects, not plain tensors. "
            "Convert it to .safetensors from a trusted environment."
        ) from exc
    except Exception as exc:
        error = load_error(exc, weights, arch)
        if error is None:
            raise
        raise error from exc
    return model.eval(), preprocess


def _load_pretrained(name: str, config, dev, dtype, cache_dir, allow_download):
    weights, cfg = resolve_pretrained_weights(name, cache_dir, allow_download)
    arch = register_private_config(config) if config else name.split("/", 1)[0]
    model, preprocess = _create(
        arch,
        weights,
        dev,
        dtype,
        allow_download,
        cache_dir=cache_dir,
        force_quick_gelu=bool(cfg.get("quick_gelu")),  # open_clip 3 no longer forces it for OpenAI weights
        force_preprocess_cfg=preprocess_overrides(cfg),
    )
    return arch, name, model, preprocess


def _checkpoint_file(checkpoint: str | os.PathLike) -> Path:
    path = Path(checkpoint)
    if path.is_dir():
        raise InputError(f"CLIP checkpoint '{path}' is a folder: give the weights file inside it.")
    if not path.is_file():
        raise ModelNotFoundError(f"CLIP checkpoint '{path}' does not exist. Check the path.")
    if path.suffix not in CHECKPOINT_SUFFIXES:
        raise InputError(f"CLIP checkpoint '{path}' is not a {'/'.join(CHECKPOINT_SUFFIXES)} file.")
    return path


def _load_checkpoint(name: str, checkpoint, config, dev, dtype, cache_dir, allow_download):
    path = _checkpoint_file(checkpoint)
    arch, label = checkpoint_architecture(name, path, config)
    model, preprocess = _create(arch, str(path), dev, dtype, allow_download, cache_dir=cache_dir)
    return arch, f"{label}/{path.stem}-{weights_fingerprint(path)}", model, preprocess


def load_clip(
    name: str,
    *,
    checkpoint: str | os.PathLike | None = None,
    config: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    precision: str = "auto",
    cache_dir: str | None = None,
    allow_download: bool = True,
) -> ClipBundle:
    """Loads CLIP as ``ARCH/PRETRAINED``, or ``ARCH`` (may be empty) with a local checkpoint file.

    Args:
        name: ``ARCH/PRETRAINED`` (an open_clip tag), or ``ARCH`` or "" with ``checkpoint``.
        checkpoint: a local weights file; its architecture comes from ``name``, from
            ``config``, or from a sidecar ``name.json`` beside it.
        config: an open_clip model config JSON for a custom architecture.
        device: where the weights go ("auto" or None: CUDA, then MPS, then CPU).
        precision: "auto" (fp16 on CUDA, else fp32), "fp16", "bf16" or "fp32".
        cache_dir: the hub cache folder for downloads (None: the hub's default).
        allow_download: whether missing weights may be downloaded.

    Local checkpoints get a cache name with a fingerprint of the file, so two files never
    share label embeddings.
    """
    import open_clip

    dev = resolve_device(device)
    dtype = resolve_dtype(precision, dev)
    if checkpoint is not None:
        loaded = _load_checkpoint(name, checkpoint, config, dev, dtype, cache_dir, allow_download)
    elif "/" in name:
        loaded = _load_pretrained(name, config, dev, dtype, cache_dir, allow_download)
    else:
        raise InputError(f"CLIP name '{name}' needs weights: write ARCH/PRETRAINED, or give a checkpoint file.")
    arch, cache_name, model, preprocess = loaded
    tokenizer = open_clip.get_tokenizer(arch, cache_dir=cache_dir)
    check_token_table(model, tokenizer, cache_name)
    log.info("Loaded CLIP %s on %s (%s)", cache_name, dev, dtype)
    return ClipBundle(model, preprocess, tokenizer, cache_name)


def check_clip(
    name: str,
    *,
    checkpoint: str | os.PathLike | None = None,
    config: str | os.PathLike | None = None,
    cache_dir: str | None = None,
    allow_download: bool = True,
) -> None:
    """The arguments ``load_clip`` takes, checked without loading any weights: the name, the
    checkpoint file and config, and that the weights are at hand or can be downloaded."""
    if checkpoint is not None:
        arch, _ = checkpoint_architecture(name, _checkpoint_file(checkpoint), config, recognise=False)
    elif "/" in name:
        _pretrained_source(name, cache_dir, allow_download)
        arch = register_private_config(config) if config else name.split("/", 1)[0]
    else:
        raise InputError(f"CLIP name '{name}' needs weights: write ARCH/PRETRAINED, or give a checkpoint file.")
    _hub_parts_available(arch, cache_dir, allow_download)


def load_clip_tokenizer(
    name: str,
    *,
    checkpoint: str | os.PathLike | None = None,
    config: str | os.PathLike | None = None,
    cache_dir: str | None = None,
    allow_download: bool = True,
) -> Callable:
    """The tokenizer of the CLIP ``load_clip`` would load with these arguments, without loading
    any weights (CLIP's token count, for a prompt that needs no model)."""
    import open_clip

    config = config or (sidecar_config(Path(checkpoint)) if checkpoint is not None else None)
    arch = register_private_config(config) if config else name.split("/", 1)[0]
    if not arch:
        raise InputError("No CLIP architecture to count tokens with: give --clip ARCH or a config JSON.")
    if arch not in known_architectures():
        raise unknown_error("architecture", arch, known_architectures())
    _hub_parts_available(arch, cache_dir, allow_download)
    return open_clip.get_tokenizer(arch, cache_dir=cache_dir)
