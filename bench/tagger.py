"""Booru tagger throughput: 16 images in one call against one image per call, same model,
same images, same machine, one run.

    python bench/tagger.py                  # wd-vit-tagger-v3's real architecture, random weights
    python bench/tagger.py --kind tiny      # a tiny tagger: a smoke run of a few seconds
    python bench/tagger.py --threads 1 --json figures.json
    python bench/tagger.py --device cuda

Three patterns tag the same decoded images (preprocessing is timed, decoding is not):
- **batch 16**: one ``Tagger.tag`` call on all the images (16 a forward pass);
- **one image per call**: a ``Tagger.tag`` call per image, the model loaded once (how the
  popular ComfyUI WD14 pack tags a batch: image by image);
- **one image per call, model reloaded**: the tagger loaded from disk before each image, as
  that pack does (it builds a new ONNX session for every image; here ``load_tagger`` is the load).

Each pattern runs in a fresh process (its peak RSS is its own), warms up once with its own
call shape, then is timed once; a second pass times the stages apart (preprocessing, forward
pass, tag selection, loading).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
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
PATTERNS = {
    "batch": "batch 16 (one call)",
    "single": "one image per call",
    "reload": "one image per call, model reloaded",
}


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
    import math

    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        total = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
    return f"{total:,} parameters"


def run_worker(task: dict) -> dict:
    """One pattern in a fresh process; its figures."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [sys.executable, __file__, "--worker"],
        input=json.dumps(task),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker failed: {task['pattern']}\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    log.info("%s: %s", task["pattern"], json.dumps(result))
    return result


# ---------------------------------------------------------------- one pattern (worker process)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decoded_images(folder: str) -> list:
    """The images, decoded (as a node or the dataset reader hands them over)."""
    from PIL import Image

    images = []
    for path in sorted(Path(folder).glob("*.png")):
        with Image.open(path) as image:
            image.load()
            images.append(image.copy())
    return images


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def timed(fn, device: str) -> tuple[float, object]:
    """(seconds, result) of ``fn()``, queued GPU work included."""
    sync(device)
    started = time.perf_counter()
    result = fn()
    sync(device)
    return time.perf_counter() - started, result


def tag_pattern(pattern: str, tagger, images: list, load, device: str) -> tuple[float, list, float, object]:
    """(seconds, tags, seconds of those spent loading, the tagger now) of tagging ``images`` in
    ``pattern``; ``load()`` loads the tagger afresh (the reload pattern)."""
    from ci_engine.tags.style import TagStyle

    style = TagStyle()
    if pattern == "batch":
        seconds, tags = timed(lambda: tagger.tag(images, style), device)
        return seconds, tags, 0.0, tagger
    tags, total, loading = [], 0.0, 0.0
    for image in images:
        if pattern == "reload":
            seconds, tagger = timed(load, device)
            loading += seconds
            total += seconds
        seconds, one = timed(lambda image=image, tagger=tagger: tagger.tag([image], style), device)
        total += seconds
        tags += one
    return total, tags, loading, tagger


def stages(tagger, images: list, per_pass: int, device: str) -> dict:
    """Seconds of each stage over all ``images``, ``per_pass`` images a forward pass."""
    import torch

    from ci_engine.tags.select import select_tags
    from ci_engine.tags.style import TagStyle

    prep, pixels = timed(lambda: [tagger.pixels(image) for image in images], device)

    def forward():
        out = []
        with torch.no_grad():
            for start in range(0, len(pixels), per_pass):
                batch = torch.stack(pixels[start : start + per_pass]).to(tagger.device, tagger.dtype)
                out.append(torch.sigmoid(tagger.model(batch).float()).cpu())
        return torch.cat(out)

    forward_s, scores = timed(forward, device)
    select_s, _ = timed(lambda: [select_tags(row.numpy(), tagger.tagset, TagStyle()) for row in scores], device)
    return {"preprocess_s": prep, "forward_s": forward_s, "select_s": select_s}


def worker(task: dict) -> dict:
    """Loads, warms up once with the pattern's own call, times it, then times its stages apart."""
    import torch

    from ci_engine.models.tagger_load import load_tagger

    if task["threads"]:
        torch.set_num_threads(task["threads"])
    images = decoded_images(task["images"])
    load = lambda: load_tagger(task["tagger_dir"], device=task["device"], allow_download=False)  # noqa: E731
    pattern, device = task["pattern"], task["device"]
    tagger = load()
    tag_pattern(pattern, tagger, images if pattern == "batch" else images[:1], load, device)  # warm-up
    seconds, tags, loading, tagger = tag_pattern(pattern, tagger, images, load, device)
    per_pass = 16 if pattern == "batch" else 1
    result = {
        "pattern": pattern,
        "images": len(images),
        "seconds": seconds,
        "images_per_s": len(images) / seconds,
        "load_s": loading,
        "tags_per_image": sum(len(t) for t in tags) / len(images),
        "threads": torch.get_num_threads(),
        "dtype": str(tagger.dtype).replace("torch.", ""),
        **stages(tagger, images, per_pass, device),
    }
    if device.startswith("cuda"):
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    result["peak_rss_mb"] = peak_rss_mb()
    return result


# ---------------------------------------------------------------- report


def machine(device: str) -> str:
    import timm
    import torch

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    gpu = f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda}), " if device.startswith("cuda") else ""
    return (
        f"{gpu}{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, "
        f"timm {timm.__version__}"
    )


def print_table(rows: list[dict]) -> None:
    batch = next(r for r in rows if r["pattern"] == "batch")
    print(f"\n{batch['images']} images, {batch['threads']} torch threads, {batch['dtype']}\n")
    print("| pattern | images/s | seconds | batch 16 is faster by | tags per image | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = batch["images_per_s"] / r["images_per_s"]
        print(
            f"| {PATTERNS[r['pattern']]} | {r['images_per_s']:.2f} | {r['seconds']:.2f} | {ratio:.2f}x | "
            f"{r['tags_per_image']:.1f} | {r['peak_rss_mb']:.0f} |"
        )
    print("\nWhere the time goes (seconds for all the images, timed apart after the run):\n")
    print("| pattern | preprocessing | forward passes | tag selection | loading |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {PATTERNS[r['pattern']]} | {r['preprocess_s']:.2f} | {r['forward_s']:.2f} | {r['select_s']:.3f} | "
            f"{r['load_s']:.2f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("wd-vit", "tiny"), default="wd-vit", help="the tagger measured")
    parser.add_argument("--images", type=int, default=16, help="images tagged by each pattern (default 16)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--patterns", default=",".join(PATTERNS), help="a subset, for quick checks")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(sys.stdin.read()))))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    info = machine(args.device)
    print(f"Machine: {info}; tagger: {args.kind}")
    patterns = args.patterns.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        tagger_dir, images = prepare(args.kind, Path(tmp), args.images)
        base = {"tagger_dir": str(tagger_dir), "images": str(images), "device": args.device, "threads": args.threads}
        rows = [run_worker({**base, "pattern": p}) for p in ("batch", *(p for p in patterns if p != "batch"))]
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "kind": args.kind, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
