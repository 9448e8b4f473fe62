"""``python -m ci_engine demo``: the whole job run offline, with tiny random-weight models built
once into the user's cache and reused after, so the tool can be tried without the hub.

The models are random, so the words are too: the demo shows the pipeline (caption model, label
tables, ranking, chaining), not real prompts."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import InputError
from ..hooks import Hooks
from ..images import load_image
from ..interrogator import Interrogator, Result
from ..models.caption import load_caption_model
from ..models.clip import load_clip
from ..settings import Settings
from ..tables import CacheSettings
from ..vocab import build_vocabulary
from . import save_blip, save_clip, synthetic_images, write_vocab_subset

DEMO_IMAGES = 3
READY = "READY"  # written last: a folder without it was never finished
# Every 30th flavor and 20th artist of upstream's lists, and the chain drawing on the best 256
# of them: the first run's label tables take a few seconds on a small CPU, not half a minute.
DEMO_SETTINGS = Settings(flavor_intermediate_count=256)
MODE = "best"


def demo_dir() -> Path:
    """Where the demo keeps its models: ``$XDG_CACHE_HOME/ci_engine/demo`` (``~/.cache`` by default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ci_engine" / "demo"


def demo_models(folder: Path) -> Path:
    """``folder/models``: a tiny CLIP, a tiny BLIP, a sample of the label lists and a few
    synthetic images, built on the first call and reused after. They are built in a temporary
    folder and renamed into place, so an interrupted build is never mistaken for a finished one."""
    target = folder / "models"
    if (target / READY).is_file():
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=folder))
    except OSError as exc:
        raise _unwritable(folder, exc) from exc
    try:
        _build(building)
        if target.exists():  # left by an older or interrupted build
            shutil.rmtree(target)
        building.rename(target)
    except OSError as exc:
        if not (target / READY).is_file():  # not another demo that finished first
            raise _unwritable(folder, exc) from exc
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def _build(building: Path) -> None:
    logging.disable(logging.WARNING)  # open_clip warns that the weights are random: they are meant to be
    try:
        save_clip(building / "clip")
        save_blip(building / "blip")
    finally:
        logging.disable(logging.NOTSET)
    write_vocab_subset(building / "vocab")
    (building / "images").mkdir()
    for i, image in enumerate(synthetic_images(DEMO_IMAGES, seed=1)):
        image.save(building / "images" / f"demo{i}.png")
    (building / READY).write_text("tiny random-weight models for `python -m ci_engine demo`\n")


def _unwritable(folder: Path, exc: OSError) -> InputError:
    return InputError(f"The demo cannot write its models to {folder} ({exc}): set XDG_CACHE_HOME to a writable folder.")


def demo_images(folder: Path) -> list[Path]:
    """The synthetic images the demo interrogates when given none."""
    return sorted((demo_models(folder) / "images").glob("*.png"))


def run_demo(images: list[Path], folder: Path, hooks: Hooks | None = None) -> list[Result]:
    """Interrogates ``images`` in best mode with the demo's models (label tables cached in
    ``folder/embeds``), offline and on the CPU."""
    models = demo_models(folder)
    clip = load_clip("", checkpoint=models / "clip" / "TinyCLIP.safetensors", device="cpu", allow_download=False)
    captioner = load_caption_model(str(models / "blip"), device="cpu", allow_download=False)
    vocab = build_vocabulary(compat=False, upstream_dir=models / "vocab")
    cache = CacheSettings(folder / "embeds")
    ci = Interrogator(clip, captioner, DEMO_SETTINGS, vocab=vocab, cache=cache, hooks=hooks)
    results = ci.run(MODE, [load_image(path) for path in images])
    for path, result in zip(images, results):
        result.image = str(path)
    return results
