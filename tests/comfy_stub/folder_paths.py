"""Stand-in for ComfyUI's folder_paths (model folder registry)."""

from __future__ import annotations

import os

supported_pt_extensions = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}
models_dir = os.environ.get("CI_STUB_MODELS_DIR", os.path.join(os.getcwd(), "models"))
folder_names_and_paths: dict[str, tuple[list[str], set[str]]] = {}
input_directory = os.environ.get("CI_STUB_INPUT_DIR", os.path.join(os.getcwd(), "input"))


def get_input_directory() -> str:
    return input_directory


def set_input_directory(path: str) -> None:
    global input_directory
    input_directory = path


def add_model_folder_path(folder_name: str, full_folder_path: str, is_default: bool = False) -> None:
    if folder_name in folder_names_and_paths:
        paths, _ = folder_names_and_paths[folder_name]
        if full_folder_path in paths:
            if is_default and paths[0] != full_folder_path:
                paths.remove(full_folder_path)
                paths.insert(0, full_folder_path)
        elif is_default:
            paths.insert(0, full_folder_path)
        else:
            paths.append(full_folder_path)
    else:
        folder_names_and_paths[folder_name] = ([full_folder_path], set())


def get_folder_paths(folder_name: str) -> list[str]:
    return folder_names_and_paths[folder_name][0][:]


def _matches(name: str, extensions: set[str]) -> bool:
    return not extensions or os.path.splitext(name)[1].lower() in extensions


def get_filename_list(folder_name: str) -> list[str]:
    paths, extensions = folder_names_and_paths[folder_name]
    found = set()
    for base in paths:
        for root, _, files in os.walk(base, followlinks=True):
            for name in files:
                if _matches(name, extensions):
                    found.add(os.path.relpath(os.path.join(root, name), base).replace(os.sep, "/"))
    return sorted(found)


def get_full_path(folder_name: str, filename: str) -> str | None:
    filename = os.path.relpath(os.path.join("/", filename), "/")
    for base in folder_names_and_paths.get(folder_name, ([], set()))[0]:
        path = os.path.join(base, filename)
        if os.path.isfile(path):
            return path
    return None
