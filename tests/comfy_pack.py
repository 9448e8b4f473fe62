"""The node pack loaded the way ComfyUI loads it, for the node tests: against a stand-in of
ComfyUI's modules (tests/comfy_stub) or, when COMFYUI_DIR is set, against the real ComfyUI.

A pytest plugin (``conftest.py`` names it): its fixtures serve every test module, and the
pack is loaded once per session, as ComfyUI loads it once per process."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
REAL = os.environ.get("COMFYUI_DIR")


def _import_comfy():
    """ComfyUI's modules: pytest's ``pythonpath`` puts the stand-in (tests/comfy_stub) on the
    path; ``-o pythonpath=$COMFYUI_DIR`` puts a real ComfyUI there instead."""
    if REAL:
        from comfy.cli_args import args

        args.cpu = True  # no GPU here; ComfyUI picks its device when model_management is imported
    import comfy.model_management
    import comfy.utils
    import folder_paths

    return comfy.model_management, comfy.utils, folder_paths


def load_pack_like_comfyui(path: Path):
    """ComfyUI's load_custom_node: the folder's __init__.py as a module named by its path."""
    name = str(path).replace(".", "_x_")
    spec = importlib.util.spec_from_file_location(name, path / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def comfy(tmp_path_factory, model_dir):
    mm, utils, folder_paths = _import_comfy()
    models = tmp_path_factory.mktemp("comfy_models")
    shutil.copytree(model_dir / "clip", models / "clip_interrogator" / "clip")
    shutil.copytree(model_dir / "blip", models / "clip_interrogator" / "caption" / "tiny-blip")
    folder_paths.models_dir = str(models)
    (models.parent / "input").mkdir(exist_ok=True)
    folder_paths.set_input_directory(str(models.parent / "input"))  # dataset folders live here
    for name in list(folder_paths.folder_names_and_paths):
        if name.startswith("clip_interrogator"):
            del folder_paths.folder_names_and_paths[name]
    pack = load_pack_like_comfyui(ROOT)
    nodes = {cls.GET_SCHEMA().node_id: cls for cls in asyncio.run(list_nodes(pack))}
    yield type("Comfy", (), {"mm": mm, "utils": utils, "folder_paths": folder_paths, "pack": pack, "nodes": nodes})
    mm.unload_all_models()


async def list_nodes(pack) -> list:
    """The node list as the host reads it: 0.38 (the stand-in) calls on_load first, 0.3.6x never."""
    extension = await pack.comfy_entrypoint()
    if not REAL:
        await extension.on_load()
    return await extension.get_node_list()


@pytest.fixture
def image_batch(images):
    import numpy as np

    def to_tensor(image):
        return torch.from_numpy(np.asarray(image.resize((32, 32))).astype("float32") / 255.0)

    return torch.stack([to_tensor(image) for image in images[:3]])


def execute(comfy, node_id, **inputs):
    return comfy.nodes[node_id].execute(**inputs)


def load_clip(comfy):
    return execute(comfy, "CI_LoadCLIP", clip_name="TinyCLIP.safetensors", architecture="auto", precision="auto").args[
        0
    ]


def interrogate_inputs(**overrides):
    toggles = {name: True for name in ("artists", "mediums", "movements", "trending", "flavors")}
    return {"mode": "fast", "max_flavors": 32, "compat": False, **toggles, **overrides}


def our_patchers(comfy):
    return [m for m in comfy.mm.current_loaded_models if type(m.model.model).__name__ == "Container"]


def pack_module(comfy, name: str):
    """The pack's own copy of a module (ComfyUI loads the pack as a package of its own)."""
    return importlib.import_module(f"{comfy.pack.__name__}.{name}")


def validate(comfy, monkeypatch, node_id: str, **inputs) -> list[dict]:
    """The errors ComfyUI's prompt validation gives node "1" with these widget values; a link
    ``["2", 0]`` reaches a Load CLIP of the tiny checkpoint."""
    import execution

    import nodes

    for name in (node_id, "CI_LoadCLIP"):
        monkeypatch.setitem(nodes.NODE_CLASS_MAPPINGS, name, comfy.nodes[name])
    clip = {"clip_name": "TinyCLIP.safetensors", "architecture": "auto", "precision": "auto"}
    prompt = {"1": {"class_type": node_id, "inputs": inputs}, "2": {"class_type": "CI_LoadCLIP", "inputs": clip}}
    return asyncio.run(execution.validate_inputs("test", prompt, "1", {}))[1]
