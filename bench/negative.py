"""Positive and negative prompts in one pass against the two nodes' work (Interrogate, then
NegativePrompt), random-weight models, best mode, one run side by side:

    python bench/negative.py           # about 2 minutes on 2 cores

Two CLIP shapes: the tiny one of bench/bench.py, and the same text tower behind ViT-B-32's
vision tower (224 px, 12 layers), where an image encode costs what it costs in a real model.

Both ways run in one process after a warm-up (tables built, first calls paid); each is timed
three times, alternating, and the fastest of each is kept.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from bench import TINY_64  # the same tiny CLIP as bench/bench.py (this folder is on sys.path)
from ci_engine import CacheSettings, Interrogator, Settings, load_caption_model, load_clip
from ci_engine.testing import save_blip, save_clip, synthetic_images

IMAGES = 4
SHAPES = {
    "tiny": TINY_64,
    "b32-vision": {**TINY_64, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32}},
}


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(config: dict, work: Path) -> dict:
    """Both ways on one CLIP shape; the negatives compared."""
    clip = load_clip("", checkpoint=save_clip(work / "clip", arch="BenchNeg", config=config), device="cpu")
    captioner = load_caption_model(str(save_blip(work / "blip")), device="cpu")
    ci = Interrogator(clip, captioner, Settings(), cache=CacheSettings(work / "embeds"))
    images = synthetic_images(IMAGES, seed=5)
    both = ci.run("best", images, with_negative=True)  # also the warm-up: tables, self-check
    same = [r.negative for r in both] == [r.prompt for r in ci.run("negative", images)]
    one_pass, two_nodes = [], []
    for _ in range(3):
        one_pass.append(timed(lambda: ci.run("best", images, with_negative=True)))
        two_nodes.append(timed(lambda: (ci.run("best", images), ci.run("negative", images))))
    result = {"one_pass_s": min(one_pass), "two_nodes_s": min(two_nodes), "negatives_identical": same}
    return {**result, "saving": 1 - result["one_pass_s"] / result["two_nodes_s"]}


def main() -> None:
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {IMAGES} images, best mode")
    for name, config in SHAPES.items():
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps({"shape": name, **measure(config, Path(tmp))}))


if __name__ == "__main__":
    main()
