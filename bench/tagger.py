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

from tagger_setup import prepare  # bench/ is the script's folder, so on sys.path

log = logging.getLogger("bench.tagger")

PATTERNS = {
    "batch": "batch 16 (one call)",
    "single": "one image per call",
    "reload": "one image per call, model reloaded",
}


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
