"""Dataset captioning throughput, side by side in one run, tiny random-weight models:

- the dataset run (decode ahead in threads, write sidecars and the manifest) against the
  engine on the same images decoded beforehand, in fast and best mode;
- peak RSS of the dataset run at 1,000 images against 100;
- Ray Data with 1 and 2 actors (a local Ray with 2 CPUs).

    python bench/dataset.py            # about 10 minutes on 2 cores
    python bench/dataset.py --quick    # fewer images

Each figure is a fresh process (so peak RSS is its own); label tables are built beforehand.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import TINY_64  # the same tiny CLIP as bench/bench.py (this folder is on sys.path)
from ci_engine import CacheSettings, Hooks, Interrogator, Settings, load_caption_model, load_clip
from ci_engine.dataset.files import find_images
from ci_engine.dataset.loader import decode
from ci_engine.dataset.local import run_local
from ci_engine.dataset.manifest import Manifest
from ci_engine.dataset.work import DatasetHooks, DatasetOptions, ModelRecipe
from ci_engine.images import load_image

SIDES = (256, 640)  # image sides: decoding costs what it costs in real datasets
BATCH = 16


def worker(task: dict) -> dict:
    """One measurement in this process; its result as a dict."""
    count, seconds = {"engine": run_engine, "dataset": run_dataset, "ray": run_ray}[task["kind"]](task)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"images": count, "seconds": seconds, "per_s": count / seconds, "peak_rss_mb": rss}


def build(task: dict, with_caption_model: bool = True) -> Interrogator:
    """The tiny models, label tables from the prepared cache, progress quiet."""
    clip = load_clip("", checkpoint=task["checkpoint"], device="cpu")
    captioner = load_caption_model(task["blip"], device="cpu") if with_caption_model else None
    settings = Settings(max_flavors=task["max_flavors"])
    cache = CacheSettings(Path(task["embeds"]))
    return Interrogator(clip, captioner, settings, cache=cache, hooks=DatasetHooks(Hooks()))


def warmed(task: dict) -> Interrogator:
    """Built and run once on two other images: tables, self-check and first calls are paid."""
    ci = build(task)
    ci.run(task["mode"], [load_image(p) for p in sorted(Path(task["warmup"]).rglob("*.png"))[:2]])
    return ci


def run_engine(task: dict) -> tuple[int, float]:
    """The engine on images decoded beforehand (decoding not timed), in batches of BATCH."""
    ci = warmed(task)
    images = [image for _, image, _ in map(decode, find_images(Path(task["folder"]))) if image is not None]
    start = time.perf_counter()
    for i in range(0, len(images), BATCH):
        ci.run(task["mode"], images[i : i + BATCH])
    return len(images), time.perf_counter() - start


def run_dataset(task: dict) -> tuple[int, float]:
    """The whole dataset run: find, decode ahead, interrogate, write sidecars and manifest."""
    ci, root = warmed(task), Path(task["folder"])
    start = time.perf_counter()
    options = DatasetOptions(task["mode"], batch_size=BATCH)
    summary = run_local(ci, find_images(root), root, Manifest(root / "m.jsonl"), options, Hooks())
    return summary.written, time.perf_counter() - start


def run_ray(task: dict) -> tuple[int, float]:
    """Ray Data with ``actors`` actors; the time includes starting them and loading models."""
    import ray

    from ci_engine.dataset.ray_run import run_on_ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    recipe = ModelRecipe(functools.partial(build, task), task["blip"])
    root, options = Path(task["folder"]), DatasetOptions(task["mode"], batch_size=BATCH)
    start = time.perf_counter()
    manifest = str(root / "manifest")
    summary = run_on_ray(recipe, find_images(root), root, manifest, options, Hooks(), None, task["actors"])
    return summary.written, time.perf_counter() - start


def measure(task: dict, work: Path) -> dict:
    """A fresh copy of the images, then the worker in its own process."""
    folder = work / f"run-{time.monotonic_ns()}"
    shutil.copytree(task["source"], folder)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONHASHSEED": "0"}
    command = [sys.executable, __file__, "--worker", json.dumps({**task, "folder": str(folder)})]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    shutil.rmtree(folder)
    if out.returncode != 0:
        raise RuntimeError(f"{task['kind']} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(work: Path, counts: dict[str, int]) -> dict:
    from ci_engine.testing import make_dataset, save_blip, save_clip

    base = {"checkpoint": str(save_clip(work / "clip", arch="BenchTiny", config=TINY_64)), "embeds": str(work / "e")}
    base["blip"] = str(save_blip(work / "blip"))
    base["warmup"] = str(work / "warm")
    make_dataset(work / "warm", 2, bad=0, seed=9)
    for name, count in counts.items():
        make_dataset(work / name, count, bad=3, sides=SIDES)
        base[f"source_{name}"] = str(work / name)
    return base


def run_all(quick: bool) -> list[dict]:
    counts = {"fast": 100 if quick else 400, "best": 24 if quick else 64, "rss_small": 100, "rss_large": 1000}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = prepare(work, counts)
        for mode, max_flavors in (("fast", 32), ("best", 32)):
            task = {**base, "mode": mode, "max_flavors": max_flavors, "source": base[f"source_{mode}"]}
            engine, dataset = measure({**task, "kind": "engine"}, work), measure({**task, "kind": "dataset"}, work)
            rows.append(
                {"figure": f"{mode}: dataset run / engine on decoded images", "engine": engine, "dataset": dataset}
            )
        task = {**base, "mode": "fast", "max_flavors": 32}
        small = measure({**task, "kind": "dataset", "source": base["source_rss_small"]}, work)
        large = measure({**task, "kind": "dataset", "source": base["source_rss_large"]}, work)
        rows.append({"figure": "peak RSS, 1,000 images / 100 images (fast)", "small": small, "large": large})
        for actors in (1, 2):  # two sizes: the difference is the steady rate, without start-up
            ray_task = {**task, "kind": "ray", "actors": actors}
            small = measure({**ray_task, "source": base["source_rss_small"]}, work)
            large = measure({**ray_task, "source": base["source_fast"]}, work)
            rate = (large["images"] - small["images"]) / (large["seconds"] - small["seconds"])
            rows.append(
                {"figure": f"Ray, {actors} actor(s), fast", "small": small, "large": large, "steady_per_s": rate}
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    for row in run_all(args.quick):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
