"""Booru taggers through timm's native loading, by short name (a pinned hub commit) or a
local folder in timm's hub layout: config.json, model.safetensors and selected_tags.csv."""

from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path

import torch

from ..devices import resolve_device, resolve_dtype
from ..errors import InputError, ModelNotFoundError
from ..tags.select import CATEGORIES, TagSet
from . import hub
from .registry import TAGGER_MODELS
from .tagger import Tagger

log = logging.getLogger(__name__)
FILES = ("config.json", "model.safetensors", "selected_tags.csv")
PICKLED = (".bin", ".pt", ".pth", ".ckpt")


def is_tagger(name: str) -> bool:
    """Whether ``name`` is a known tagger or a folder that holds one (a tag list, a timm
    config with an ``architecture``, or only ONNX weights)."""
    if name in TAGGER_MODELS:
        return True
    folder = Path(name)
    if not folder.is_dir():
        return False
    if (folder / "selected_tags.csv").is_file() or (folder / "model.onnx").is_file():
        return True
    return "architecture" in _read_config(folder, strict=False)


def _read_config(folder: Path, strict: bool = True) -> dict:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return config if isinstance(config, dict) else {}
    except (OSError, ValueError) as exc:
        if strict:
            raise InputError(
                f"Tagger folder '{folder}' has no readable config.json: it needs timm's hub layout "
                "(config.json, model.safetensors, selected_tags.csv), as timm's save_for_hf writes it."
            ) from exc
        return {}


def check_weights(folder: Path) -> None:
    """The folder holds model.safetensors; ONNX-only or pickled weights are refused by name."""
    if (folder / "model.safetensors").is_file():
        return
    if (folder / "model.onnx").is_file():
        raise InputError(
            f"Tagger folder '{folder}' has only model.onnx: this pack runs taggers through timm and needs "
            "model.safetensors (the timm release of the same tagger, e.g. SmilingWolf/wd-vit-tagger-v3, has it)."
        )
    pickled = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLED)
    found = f"only pickled weights ({', '.join(pickled)}), which could run code when loaded" if pickled else ""
    found = found or "no weights"
    raise InputError(
        f"Tagger folder '{folder}' has {found}: it needs model.safetensors. Convert the weights in a trusted "
        "environment (timm.models.save_for_hf(model, folder, safe_serialization=True))."
    )


def read_tagset(path: Path, classes: int) -> TagSet:
    """selected_tags.csv (tag_id,name,category,count): one row per model output, categories
    9 (rating), 0 (general) and 4 (character) only."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise InputError(f"Cannot read {path}: a tagger folder needs its selected_tags.csv.") from exc
    if not rows or not {"name", "category"} <= set(rows[0]):
        raise InputError(f"{path} is not a tag list: it needs the header tag_id,name,category,count and a row per tag.")
    for line, row in enumerate(rows, start=2):
        if str(row["category"]).strip() not in {str(c) for c in CATEGORIES}:
            raise InputError(
                f"{path} line {line}: tag '{row['name']}' has category {row['category']!r}; known categories "
                "are 9 (rating), 0 (general) and 4 (character)."
            )
    if len(rows) != classes:
        raise InputError(
            f"{path} lists {len(rows)} tags but the model has {classes} outputs: use the selected_tags.csv "
            "that came with these weights."
        )
    return TagSet(tuple(r["name"] for r in rows), tuple(int(r["category"]) for r in rows))


def check_tagger_folder(folder: Path) -> tuple[dict, TagSet]:
    """(config, tags) of a tagger folder, checked without loading weights."""
    check_weights(folder)
    config = _read_config(folder)
    classes = config.get("num_classes")
    if not config.get("architecture") or not isinstance(classes, int):
        raise InputError(
            f"{folder / 'config.json'} is not a timm model config: it needs 'architecture' and 'num_classes' "
            "(timm.models.save_for_hf writes them)."
        )
    return config, read_tagset(folder / "selected_tags.csv", classes)


def tagger_folder(name: str, cache_dir: str | os.PathLike | None = None, allow_download: bool = True) -> Path:
    """The local folder of tagger ``name``: the folder itself, or the hub snapshot of a known
    name at its pinned commit (downloaded when allowed)."""
    if name not in TAGGER_MODELS:
        if Path(name).is_dir():
            return Path(name)
        raise ModelNotFoundError(f"Unknown tagger '{name}': use one of {', '.join(TAGGER_MODELS)}, or a tagger folder.")
    spec = TAGGER_MODELS[name]
    paths = [hub.cached_hub_file(spec.hub_id, f, cache_dir, spec.revision) for f in FILES]
    if all(paths):
        return Path(paths[0]).parent
    if not hub.downloads_allowed(allow_download):
        raise hub.offline_error(
            name,
            [f"{hub.hub_cache_dir(cache_dir)} (hub repo {spec.hub_id})"],
            f"Run once with downloads allowed, or download {spec.hub_id} into a folder and pass that folder.",
        )
    return Path(_download(spec.hub_id, spec.revision, cache_dir)[0]).parent


def _download(repo: str, revision: str, cache_dir) -> list[str]:
    from huggingface_hub import hf_hub_download

    hub.require_reachable(f"tagger {repo}")
    try:
        return [hf_hub_download(repo, f, revision=revision, cache_dir=cache_dir) for f in FILES]
    except OSError as exc:
        raise hub.download_error(f"tagger {repo}", str(exc)) from exc


def check_tagger(name: str, cache_dir: str | os.PathLike | None = None, allow_download: bool = True) -> None:
    """Whether tagger ``name`` can be loaded, checked without loading it: a local folder's
    files; a known name in the hub cache, or downloads allowed and the hub answering."""
    if name in TAGGER_MODELS:
        spec = TAGGER_MODELS[name]
        if all(hub.cached_hub_file(spec.hub_id, f, cache_dir, spec.revision) for f in FILES):
            return
        if not hub.downloads_allowed(allow_download):
            tagger_folder(name, cache_dir, allow_download)  # raises the offline error
        hub.require_reachable(f"tagger '{name}' ({spec.hub_id})")
        return
    check_tagger_folder(tagger_folder(name))


def load_tagger(
    name: str,
    *,
    device: str | torch.device | None = None,
    precision: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    allow_download: bool = True,
) -> Tagger:
    """Loads a tagger by short name (``TAGGER_MODELS``) or timm hub-layout folder: the
    architecture from config.json through timm, the weights from model.safetensors only."""
    import timm
    from safetensors.torch import load_file

    folder = tagger_folder(name, cache_dir, allow_download)
    config, tagset = check_tagger_folder(folder)
    model = timm.create_model(f"local-dir:{folder}", pretrained=False)
    try:
        model.load_state_dict(load_file(str(folder / "model.safetensors"), device="cpu"))
    except RuntimeError as exc:
        raise InputError(f"{folder / 'model.safetensors'} does not fit the model config.json describes: {exc}") from exc
    dev = resolve_device(device)
    model = model.eval().to(dev, resolve_dtype(precision, dev))
    log.info("Loaded tagger %s on %s (%d tags)", name, dev, len(tagset.names))
    return Tagger(model, tagset, Path(name).name or name, dict(model.pretrained_cfg))
