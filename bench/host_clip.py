"""CLIP from ComfyUI against Load CLIP: memory held and text-encoding speed, same weights, one run.

    PYTHONPATH=path/to/ComfyUI:. python bench/host_clip.py            # ViT-L-14's shapes, random weights
    PYTHONPATH=path/to/ComfyUI:. python bench/host_clip.py --labels 256 --json figures.json

Run from the repository root with ComfyUI's Python (its venv holds torch, ComfyUI's requirements
and the pack's).
One random-init ViT-L-14 (QuickGELU, OpenAI's shapes) is saved three ways: an open_clip
checkpoint (Load CLIP), a clip_vision file (Load CLIP Vision) and a clip_l file with its text
projection (CLIPLoader). ComfyUI's own loaders read the last two, in fp32 (``--fp32-text-enc``),
the precision Load CLIP picks on a CPU, so both paths run the same numbers.

Memory: the process's resident set after each step, and the bytes ComfyUI's model management
counts for each patcher. Speed: label tables (texts alone) and one chain step ("prompt, label"
candidates), each with the fast paths (truncation, prefix reuse) and with the plain path.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCH = "ViT-L-14-quickgelu"
PREFIX = "a photo of a house by a river, oil painting"
log = logging.getLogger("bench.host_clip")


def rss_mb() -> float:
    """The process's current resident set, in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_pack():
    """The pack as ComfyUI loads it: its folder as a package (its modules import relatively)."""
    spec = importlib.util.spec_from_file_location("ci_pack", ROOT / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ci_pack"] = module
    spec.loader.exec_module(module)
    return module


def save_files(folder: Path) -> None:
    import open_clip
    import torch
    from safetensors.torch import save_file

    from ci_engine.testing.host_clip import hf_text_state, hf_vision_state

    torch.manual_seed(0)
    state = open_clip.create_model(ARCH).state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "vitl.safetensors"))
    save_file(hf_vision_state(state), str(folder / "clip_vision.safetensors"))
    save_file(hf_text_state(state), str(folder / "clip_l.safetensors"))


def timed(step, repeat: int = 1) -> float:
    step()  # warm-up: first-call costs (allocations, the fast paths' self-check)
    start = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - start) / repeat


def text_speeds(bundle, labels: list[str]) -> dict[str, float]:
    """Seconds for a table of ``labels`` and for one chain step over them, fast and plain."""
    text, out = bundle.text, {}
    text.verify()
    for path, fast in (("fast", True), ("plain", False)):
        text.truncate = text.prefix = fast
        out[f"table_{path}_s"] = timed(lambda: text.encode_texts(labels, memo=False))
        out[f"chain_step_{path}_s"] = timed(lambda: text.encode_candidates(PREFIX, labels))
    text.truncate = text.prefix = True
    return out


def measure(folder: Path, labels: list[str]) -> dict:
    import comfy.clip_vision
    import comfy.model_management as mm
    import comfy.sd

    load_pack()
    reuse = importlib.import_module("ci_pack.ci_comfy.host.reuse")
    models = importlib.import_module("ci_pack.ci_comfy.host.models")
    load_clip = importlib.import_module("ci_pack.ci_engine.models.clip").load_clip
    figures = {"rss_start_mb": rss_mb()}
    vision = comfy.clip_vision.load(str(folder / "clip_vision.safetensors"))
    clip = comfy.sd.load_clip([str(folder / "clip_l.safetensors")], clip_type=comfy.sd.CLIPType.STABLE_DIFFUSION)
    mm.load_models_gpu([vision.patcher, clip.patcher], force_full_load=True)
    figures["rss_comfyui_models_mb"] = rss_mb()
    reused = reuse.clip_from_comfy(vision, clip)
    reused.load()
    figures["rss_after_clip_from_comfyui_mb"] = rss_mb()
    bundle = load_clip(ARCH, checkpoint=folder / "vitl.safetensors", device="cpu")
    loaded = models.ManagedModel(bundle, *models.model_devices())
    loaded.load()
    figures["rss_after_load_clip_mb"] = rss_mb()
    figures["counted_comfyui_vision_mb"] = vision.patcher.model_size() / 2**20
    figures["counted_comfyui_text_mb"] = clip.patcher.model_size() / 2**20
    figures["counted_clip_from_comfyui_mb"] = reused.patcher.model_size() / 2**20
    figures["counted_load_clip_mb"] = loaded.patcher.model_size() / 2**20
    figures["clip_from_comfyui"] = text_speeds(reused.module, labels)
    figures["load_clip"] = text_speeds(loaded.module, labels)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=512, help="labels per table and per chain step")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if importlib.util.find_spec("comfy") is None:
        sys.exit("Put a ComfyUI checkout on PYTHONPATH and run with its Python.")
    from comfy.cli_args import args as comfy_args

    comfy_args.cpu = True
    comfy_args.fp32_text_enc = True
    from ci_engine.vocab import load_list, upstream_data_dir

    flavors = load_list(upstream_data_dir() / "flavors.txt")
    labels = flavors[:: max(1, len(flavors) // args.labels)][: args.labels]  # distinct, spread out
    with tempfile.TemporaryDirectory() as tmp:
        save_files(Path(tmp))
        figures = measure(Path(tmp), labels)
    figures |= {"labels": len(labels), "threads": __import__("torch").get_num_threads()}
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
