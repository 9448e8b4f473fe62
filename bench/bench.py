"""Side-by-side benchmark: clip-interrogator 0.6.0 vs this engine, same random weights,
same vocabulary, same cache files, same machine, one run.

    python bench/bench.py                 # tiny and ViT-B-32-shaped text towers
    python bench/bench.py --shapes tiny   # quicker
    python bench/bench.py --device cuda   # both engines on the GPU, in fp16 (see workers.py)

Each measurement is a fresh process (so peak RSS and peak GPU memory are its own); compat prompts are compared.
On CUDA every mode has at least one warm-up image, so that CUDA's start-up is never timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from ci_engine.testing import B32_TEXT_CONFIG, save_blip, save_clip, synthetic_images

ROOT = Path(__file__).resolve().parent.parent

# The baseline shape: a 64-wide, 2-layer text tower.
TINY_64 = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
SHAPES = {
    # upstream's default sizes
    "tiny": {
        "config": TINY_64,
        "chunk_size": 2048,
        "intermediate": 2048,
        "max_flavors": {"fast": 32, "classic": 3, "negative": 32, "best": 32},
        "images": 4,
        "warmup": {"fast": 1, "classic": 1, "negative": 1, "best": 1},
        "precompute_labels": None,
    },
    # ViT-B-32's text tower: upstream needs ~50 ms a text here, so a shorter chain, one image,
    # and 1,000 labels for the precompute figure (both engines then load the full tables from
    # caches this engine computes first)
    "b32": {
        "config": B32_TEXT_CONFIG,
        "chunk_size": 2048,
        "intermediate": 128,
        "max_flavors": {"fast": 32, "classic": 3, "negative": 8, "best": 8},
        "images": 1,
        "warmup": {"fast": 1, "classic": 1, "negative": 0, "best": 0},
        "precompute_labels": 1000,
    },
}
MODES = ("fast", "classic", "negative", "best")
TASKS = ("precompute", *MODES, "contention")


def run_worker(task: dict) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "workers.py")],
        input=json.dumps(task),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker failed: {task['engine']} {task['kind']}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare_shape(name: str, spec: dict, work: Path, device: str) -> dict:
    from ci_engine.models.weights import weights_fingerprint
    from ci_engine.vocab import load_list, upstream_data_dir

    folder = work / name
    checkpoint = save_clip(folder / "clip", arch=f"Bench{name}", config=spec["config"])
    blip = save_blip(folder / "blip")
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(synthetic_images(spec["images"] + max(spec["warmup"].values()), seed=7)):
        image.save(images / f"{i:02d}.png")
    vocab_dir = upstream_data_dir()
    flavors = load_list(Path(vocab_dir) / "flavors.txt")
    return {
        "arch": f"Bench{name}",
        "checkpoint": str(checkpoint),
        "clip_config": str(checkpoint.with_suffix(".json")),
        "blip": str(blip),
        "images": str(images),
        "vocab_dir": str(vocab_dir),
        "cache_name": f"Bench{name}/Bench{name}-{weights_fingerprint(checkpoint)}",
        "chunk_size": spec["chunk_size"],
        "intermediate": spec["intermediate"],
        "timed": spec["images"],
        "cache_dir": str(folder / "cache"),
        "labels": flavors[: spec["precompute_labels"] or len(flavors)],
        "device": device,
    }


def measure_shape(name: str, spec: dict, work: Path, tasks: list[str], device: str = "cpu") -> list[dict]:
    if device == "cuda":  # the b32 shape times its long modes without a warm-up image on the CPU
        spec = {**spec, "warmup": {mode: max(1, n) for mode, n in spec["warmup"].items()}}
    base = prepare_shape(name, spec, work, device)
    rows = []
    if "precompute" in tasks:
        fresh = {e: str(work / name / f"precompute-{e}") for e in ("upstream", "ours")}
        results = {e: run_worker({**base, "engine": e, "kind": "precompute", "cache_dir": fresh[e]}) for e in fresh}
        rows.append(row(f"precompute {len(base['labels'])} labels", results, None))
    run_worker({**base, "engine": "ours", "kind": "setup", "max_flavors": 32})
    for mode in (m for m in MODES if m in tasks):
        rows.append(measure_mode(base, spec, mode, f"{mode} (per image)"))
    if "contention" in tasks:
        busy = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)  # another job on one core
        try:
            rows.append(measure_mode(base, spec, "best", "best, one core busy (per image)"))
        finally:
            busy.kill()
            busy.wait()
    return rows


def measure_mode(base: dict, spec: dict, mode: str, title: str) -> dict:
    """Both engines on one mode, one after the other; compat prompts compared."""
    task = {**base, "kind": mode, "max_flavors": spec["max_flavors"][mode], "warmup": spec["warmup"][mode]}
    results = {e: run_worker({**task, "engine": e}) for e in ("upstream", "ours")}
    return row(title, results, results["upstream"]["prompts"] == results["ours"]["prompts"])


def row(task: str, results: dict, identical) -> dict:
    up, ours = results["upstream"], results["ours"]
    figures = {
        "task": task,
        "upstream_s": up["seconds"],
        "ours_s": ours["seconds"],
        "ratio": up["seconds"] / ours["seconds"],
        "upstream_rss_mb": up["peak_rss_mb"],
        "ours_rss_mb": ours["peak_rss_mb"],
        "identical": identical,
    }
    if "peak_gpu_mb" in up:
        figures.update(upstream_gpu_mb=up["peak_gpu_mb"], ours_gpu_mb=ours["peak_gpu_mb"])
    print(json.dumps(figures), file=sys.stderr, flush=True)  # each row as it comes, for a run cut short
    return figures


def machine(device: str) -> str:
    import torch

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    gpu = f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda}), " if device == "cuda" else ""
    return f"{gpu}{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"


def print_table(shape: str, rows: list[dict]) -> None:
    gpu = bool(rows) and "ours_gpu_mb" in rows[0]
    print(f"\n### {shape}\n")
    print(
        "| task | upstream 0.6.0 (s) | this engine (s) | speed-up | upstream peak RSS (MiB) | ours peak RSS (MiB) | "
        + ("upstream peak GPU (MiB) | ours peak GPU (MiB) | " if gpu else "")
        + "same prompts |"
    )
    print("|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if gpu else "") + "---|")
    for r in rows:
        same = "n/a" if r["identical"] is None else ("yes" if r["identical"] else "NO")
        memory = f"{r['upstream_gpu_mb']:.0f} | {r['ours_gpu_mb']:.0f} | " if gpu else ""
        print(
            f"| {r['task']} | {r['upstream_s']:.3f} | {r['ours_s']:.3f} | {r['ratio']:.1f}x | "
            f"{r['upstream_rss_mb']:.0f} | {r['ours_rss_mb']:.0f} | {memory}{same} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="tiny,b32")
    parser.add_argument("--tasks", default=",".join(TASKS), help="a subset, for quick checks")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where both engines run")
    args = parser.parse_args()
    info = machine(args.device)
    print(f"Machine: {info}")
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes.split(","):
            figures[shape] = measure_shape(shape, SHAPES[shape], Path(tmp), args.tasks.split(","), args.device)
            print_table(shape, figures[shape])
            if args.json:  # after each shape, so a run cut short keeps what it measured
                args.json.write_text(json.dumps({"device": args.device, "machine": info, **figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
