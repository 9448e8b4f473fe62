"""The pack's folders in ComfyUI: registering them, the names they hold (the loaders' menus),
and turning a name from a workflow into a path inside them (never a raw path)."""

from __future__ import annotations

import os
from pathlib import Path

import folder_paths

from ...ci_engine.dataset.files import list_folders
from ...ci_engine.models.clip import CHECKPOINT_SUFFIXES
from ...ci_engine.models.registry import list_clip_models
from ...ci_engine.models.sources import caption_source_names
from ...ci_engine.models.tagger_load import is_tagger

# folder_paths names -> subfolder of models/ (users may add paths in extra_model_paths.yaml)
FOLDERS = {
    "clip_interrogator_clip": "clip_interrogator/clip",
    "clip_interrogator_caption": "clip_interrogator/caption",
    "clip_interrogator_embeds": "clip_interrogator/embeds",
    "clip_interrogator_hub": "clip_interrogator/hub",
}
DATASETS = "clip_interrogator_datasets"  # extra_model_paths.yaml key for more dataset roots
NO_DATASET = "(no folder in ComfyUI's input folder)"


def register_folders() -> None:
    """Registers the pack's model folders, keeping paths extra_model_paths.yaml already added
    (idempotent: called from the extension's on_load, or when the node list is read)."""
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


def caption_folders() -> dict[str, Path]:
    """Local model folders under the caption folders: Hugging Face caption models (with a
    config.json) and taggers (``is_tagger``: a tag list, a timm config, or ONNX weights, which
    the loader then refuses by name)."""
    found: dict[str, Path] = {}
    for base in map(Path, folder_paths.get_folder_paths("clip_interrogator_caption")):
        if base.is_dir():
            for folder in sorted(p for p in base.iterdir() if p.is_dir()):
                if (folder / "config.json").is_file() or is_tagger(str(folder)):
                    found.setdefault(folder.name, folder)
    return found


def caption_choices() -> list[str]:
    """Load Caption Model's menu: known caption models and taggers, then local folders."""
    known = caption_source_names()
    return known + [name for name in caption_folders() if name not in known]


def dataset_roots() -> list[Path]:
    """Where datasets may be: ComfyUI's input folder and any registered dataset roots."""
    roots = [Path(folder_paths.get_input_directory())]
    if DATASETS in folder_paths.folder_names_and_paths:
        roots += [Path(p) for p in folder_paths.get_folder_paths(DATASETS)]
    return [root for root in roots if root.is_dir()]


def dataset_choices() -> list[str]:
    """Caption Dataset's menu: the folders under the dataset roots."""
    return list_folders(dataset_roots()) or [NO_DATASET]
