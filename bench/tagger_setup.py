"""The benchmark's model and images: wd-vit-tagger-v3's real architecture with random weights
in timm's hub layout (or a tiny tagger), and decoded images of realistic sizes."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

log = logging.getLogger("bench.tagger")


# wd-vit-tagger-v3's config.json (SmilingWolf/wd-vit-tagger-v3 @ 7f6b584): timm architecture,
# model_args and the input config
WD_VIT_ARCH = "vit_base_patch16_224"
WD_VIT_ARGS = {"img_size": 448, "class_token": False, "global_pool": "avg", "fc_norm": False, "act_layer": "gelu_tanh"}
WD_VIT_INPUT = {
    "input_size": (3, 448, 448),
    "fixed_input_size": False,
    "interpolation": "bicubic",
    "crop_pct": 1.0,
    "crop_mode": "center",
    "mean": (0.5, 0.5, 0.5),
    "std": (0.5, 0.5, 0.5),
}
WD_TAG_COUNTS = {9: 4, 0: 8106, 4: 2751}  # selected_tags.csv: rating, general, character rows (10,861)
RATINGS = ("general", "sensitive", "questionable", "explicit")
# what a random head is scaled to: logits about N(-5, 1.7) per image, so ~20 to 40 general tags
# pass 0.35 and a character rarely passes 0.85, as with a trained tagger
HEAD_BIAS, HEAD_SPREAD = -5.0, 1.7

# (width, height, mode): phone and SDXL-sized pictures, transparent PNGs, odd sizes
IMAGE_SHAPES = (
    *((768, 1024, "RGB"),) * 6,
    *((1024, 768, "RGB"),) * 2,
    (832, 1216, "RGB"),
    (1216, 832, "RGB"),
    (1024, 1024, "RGB"),
    (1024, 1024, "RGBA"),
    (640, 960, "RGBA"),
    (513, 1999, "RGB"),
    (1500, 377, "RGB"),
    (448, 448, "RGB"),
)
# ---------------------------------------------------------------- setup (parent process)


def tag_rows() -> tuple[tuple[str, int], ...]:
    """selected_tags.csv's rows for a tagger of v3's size: ratings, general tags, characters."""
    general = tuple((f"general_tag_{i}", 0) for i in range(WD_TAG_COUNTS[0]))
    characters = tuple((f"character_{i}_(series)", 4) for i in range(WD_TAG_COUNTS[4]))
    return (*((r, 9) for r in RATINGS), *general, *characters)


def scale_head(model, sample) -> None:
    """Random classifier weights scaled so that ``sample``'s logits spread as a trained tagger's."""
    import torch

    with torch.no_grad():
        features = model.forward_head(model.forward_features(sample[None]), pre_logits=True)[0]
        head = model.get_classifier()
        head.weight.normal_(0.0, HEAD_SPREAD / float(features.norm()))
        head.bias.fill_(HEAD_BIAS)


def save_wd_vit(folder: Path, sample_image, seed: int = 0) -> Path:
    """wd-vit-tagger-v3's architecture and size with random weights, in timm's hub layout."""
    import timm
    import torch
    from timm.models import save_for_hf

    from ci_engine.models.tagger import Tagger
    from ci_engine.tags.select import TagSet
    from ci_engine.testing.taggers import write_tags

    rows = tag_rows()
    torch.manual_seed(seed)
    model = timm.create_model(WD_VIT_ARCH, pretrained=False, num_classes=len(rows), **WD_VIT_ARGS).eval()
    model.pretrained_cfg = {**model.pretrained_cfg, **WD_VIT_INPUT, "num_classes": len(rows)}
    tagset = TagSet(tuple(n for n, _ in rows), tuple(c for _, c in rows))
    scale_head(model, Tagger(model, tagset, "bench", dict(model.pretrained_cfg)).pixels(sample_image))
    folder.mkdir(parents=True, exist_ok=True)
    save_for_hf(model, str(folder), model_args=dict(WD_VIT_ARGS), safe_serialization=True)
    write_tags(folder / "selected_tags.csv", rows)
    return folder


def make_images(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """``count`` PNGs of ``IMAGE_SHAPES`` (smooth colour fields and noise, transparent borders)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        width, height, mode = IMAGE_SHAPES[i % len(IMAGE_SHAPES)]
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        phase = rng.uniform(0, 6.3, 3)
        rgb = np.stack([128 + 100 * np.sin(x / (40 + 9 * c) + y / (70 + 5 * c) + phase[c]) for c in range(3)], -1)
        rgb += rng.normal(0, 12, rgb.shape)
        pixels = np.clip(rgb, 0, 255).astype(np.uint8)
        if mode == "RGBA":
            alpha = np.full((height, width, 1), 255, np.uint8)
            alpha[: height // 8], alpha[:, : width // 8] = 0, 0
            pixels = np.concatenate([pixels, alpha], -1)
        path = folder / f"{i:02d}.png"
        Image.fromarray(pixels, mode).save(path, compress_level=1)
        paths.append(path)
    return paths


def prepare(kind: str, work: Path, count: int) -> tuple[Path, Path]:
    """(tagger folder, image folder) for the run."""
    from PIL import Image

    images = work / "images"
    paths = make_images(images, count)
    if kind == "tiny":
        from ci_engine.testing.taggers import save_tagger

        return save_tagger(work / "tagger"), images
    started = time.perf_counter()
    with Image.open(paths[0]) as first:
        folder = save_wd_vit(work / "wd-vit-tagger-v3", first.convert("RGB"))
    size = (folder / "model.safetensors").stat().st_size
    log.info("Wrote %s (%.2f MB, %s) in %.1f s", folder, size / 1e6, param_count(folder), time.perf_counter() - started)
    return folder, images


def param_count(folder: Path) -> str:
    """The parameters in a folder's model.safetensors, as a phrase."""

    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        total = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
    return f"{total:,} parameters"
