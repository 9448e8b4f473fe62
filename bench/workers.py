"""One timed task in a fresh process: upstream clip-interrogator 0.6.0 or this engine.

Run by bench.py as ``python bench/workers.py`` with the task as JSON on stdin; prints one JSON line. Each task runs in
its own process so that peak RSS (and peak GPU memory) is the task's own. Needs the project installed
(``pip install -e .``). On CUDA both engines run in fp16 as upstream runs itself there: upstream's CLIP
with fp16 weights under its own ``torch.cuda.amp.autocast()`` and its BLIP in fp16, ours at ``precision="fp16"``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import types
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
PRECISION = {"cpu": "fp32", "cuda": "fp16"}  # what each engine's own "auto" picks there


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync(task: dict) -> None:
    """Waits for queued GPU work, so that a timer read after it counts that work."""
    if task["device"] == "cuda":
        import torch

        torch.cuda.synchronize()


def load_images(folder: str):
    from PIL import Image

    return [Image.open(p).convert("RGB") for p in sorted(Path(folder).glob("*.png"))]


def upstream_models(task):
    """The models as upstream's own loaders make them: open_clip's precision and device, BLIP in the same dtype."""
    import open_clip
    import torch
    from transformers import AutoProcessor, BlipForConditionalGeneration

    device, precision = task["device"], PRECISION[task["device"]]
    open_clip.add_model_config(task["clip_config"])
    model, _, preprocess = open_clip.create_model_and_transforms(
        task["arch"], pretrained=task["checkpoint"], precision=precision, device=device
    )
    dtype = torch.float16 if precision == "fp16" else torch.float32
    blip = BlipForConditionalGeneration.from_pretrained(task["blip"], dtype=dtype).eval().to(device)
    return model.eval(), preprocess, blip, AutoProcessor.from_pretrained(task["blip"])


def upstream_config(task, cache: str):
    from clip_interrogator import Config

    c = Config(
        device=task["device"],
        cache_path=cache,
        download_cache=False,
        quiet=True,
        chunk_size=task["chunk_size"],
        flavor_intermediate_count=task["intermediate"],
    )
    c.data_path = task["vocab_dir"]
    c.clip_model_name, c.caption_model_name = task["cache_name"], "blip-large"
    return c


def run_upstream(task):
    import open_clip
    from clip_interrogator import Interrogator, LabelTable

    model, preprocess, blip, processor = upstream_models(task)
    if task["kind"] == "precompute":
        config = upstream_config(task, task["cache_dir"])
        tokenize = open_clip.get_tokenizer(task["arch"])
        ci = types.SimpleNamespace(clip_model=model, config=config, tokenize=tokenize)
        sync(task)
        start = time.perf_counter()
        LabelTable(task["labels"], "bench", ci)
        sync(task)
        return {"seconds": time.perf_counter() - start}
    c = upstream_config(task, task["cache_dir"])
    c.clip_model, c.clip_preprocess, c.caption_model, c.caption_processor = model, preprocess, blip, processor
    ci = Interrogator(c)
    method = {
        "fast": ci.interrogate_fast,
        "classic": ci.interrogate_classic,
        "negative": ci.interrogate_negative,
        "best": ci.interrogate,
    }[task["kind"]]
    kwargs = {"max_flavors": task["max_flavors"]}
    return time_images(lambda image: method(image, **kwargs), task)


def time_images(run_one, task: dict):
    """The last ``timed`` images are timed, after ``warmup`` untimed images before them."""
    images, warmup, timed = load_images(task["images"]), task["warmup"], task["timed"]
    for image in images[len(images) - timed - warmup : len(images) - timed]:
        run_one(image)
    sync(task)
    start = time.perf_counter()
    prompts = [run_one(image) for image in images[-timed:]]
    sync(task)
    return {"seconds": (time.perf_counter() - start) / len(prompts), "prompts": prompts}


def run_ours(task):
    from ci_engine import CacheSettings, Hooks, Interrogator, Settings, build_vocabulary, load_caption_model, load_clip
    from ci_engine.tables import ensure_tables
    from ci_engine.vocab import Vocabulary

    device, precision = task["device"], PRECISION[task["device"]]
    clip = load_clip("", checkpoint=task["checkpoint"], device=device, precision=precision)
    assert clip.name == task["cache_name"], (clip.name, task["cache_name"])
    if task["kind"] == "precompute":
        vocab = Vocabulary({"bench": task["labels"]}, {"bench": "bench"})  # a name upstream never uses
        sync(task)
        start = time.perf_counter()
        ensure_tables(clip, vocab, ["bench"], CacheSettings(Path(task["cache_dir"])), Hooks())
        sync(task)
        return {"seconds": time.perf_counter() - start}
    settings = Settings(
        compat=True,
        max_flavors=task["max_flavors"],
        chunk_size=task["chunk_size"],
        flavor_intermediate_count=task["intermediate"],
    )
    vocab = build_vocabulary(compat=True, upstream_dir=task["vocab_dir"])
    ci = Interrogator(
        clip,
        load_caption_model(task["blip"], device=device, precision=precision),
        settings,
        vocab=vocab,
        cache=CacheSettings(Path(task["cache_dir"])),
    )
    ci.prepare("best")
    ci.prepare("negative")
    if task["kind"] == "setup":  # computes and caches the tables both engines then load
        return {"seconds": 0.0}
    return time_images(lambda image: ci.run(task["kind"], [image])[0].prompt, task)


if __name__ == "__main__":
    task = {"device": "cpu", **json.loads(sys.stdin.read())}
    result = (run_upstream if task["engine"] == "upstream" else run_ours)(task)
    result["peak_rss_mb"] = peak_rss_mb()
    if task["device"] == "cuda":
        import torch

        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(result))
