"""Command line: ``python -m ci_engine IMAGE_OR_FOLDER... --mode best``.

Parses arguments, reads the images, runs the interrogator and prints; nothing else in
``ci_engine`` imports this module.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from .errors import InputError, InterrogatorError
from .hooks import Hooks
from .images import check_image, expand_inputs, load_image
from .interrogator import IMAGE_BATCH, Interrogator, Result
from .models.bundle import ClipBundle
from .models.caption import Captioner, load_caption_model
from .models.clip import load_clip
from .models.registry import CAPTION_MODELS, DEFAULT_CAPTION, DEFAULT_CLIP, list_clip_models
from .modes import MODES, mode_spec
from .settings import Settings
from .tables import CacheSettings
from .vocab import MERGED_TABLES, build_vocabulary, load_user_list, parse_exclusions

log = logging.getLogger("ci_engine")


def default_cache_dir() -> Path:
    """Label-embedding cache: $CI_ENGINE_CACHE, else ~/.cache/ci_engine/embeds."""
    env = os.environ.get("CI_ENGINE_CACHE")
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ci_engine" / "embeds"
    return Path(env) if env else base


def build_parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    defaults = ", ".join(f"{name} {spec.default_max_flavors}" for name, spec in MODES.items() if spec.build)
    p = argparse.ArgumentParser(prog="python -m ci_engine", description="Image to Stable Diffusion prompt.")
    add = p.add_argument
    add("images", nargs="*", help="image files or folders of images")
    add("--mode", choices=list(MODES), default="best")
    add("--clip", help=f"ARCH/PRETRAINED (default {DEFAULT_CLIP}), or ARCH with --clip-checkpoint")
    add("--clip-checkpoint", metavar="FILE", help="local CLIP weights (.safetensors preferred)")
    add("--clip-config", metavar="FILE.json", help="open_clip model config for a custom architecture")
    add(
        "--caption-model",
        default=DEFAULT_CAPTION,
        metavar="NAME_OR_DIR",
        help=f"{', '.join(CAPTION_MODELS)}, or a folder",
    )
    add("--caption", metavar="TEXT", help="use this caption; no caption model is loaded")
    add("--compat", choices=["0.6"], help="reproduce clip-interrogator 0.6.0's prompts exactly")
    add("--max-flavors", type=int, metavar="N", help=f"labels to add (analyze: per table); default: {defaults}")
    add("--tables", default=",".join(MERGED_TABLES), help="comma-separated tables to rank")
    add("--labels", action="append", default=[], metavar="FILE.txt", help="extra label list (repeatable)")
    add("--exclude", action="append", default=[], metavar="FILE.txt", help="labels never to use")
    add("--cache-dir", type=Path, help=f"label-embedding cache (default {default_cache_dir()})")
    add("--model-cache", metavar="DIR", help="where downloaded models go (default: the HF hub cache)")
    add("--download-cache", action="store_true", help="fetch upstream's published label embeddings")
    add("--offline", action="store_true", help="never download; use local files only")
    add("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add("--precision", default="auto", choices=["auto", "fp16", "bf16", "fp32"])
    add(
        "--batch-size",
        type=int,
        default=1024,
        metavar="N",
        help="texts encoded at once (lower it if memory runs short)",
    )
    add("--threads", type=int, metavar="N", help="CPU threads for torch; 1 is faster when other jobs share the CPU")
    add("--json", action="store_true", help="one JSON object per image per line")
    add("--list-models", action="store_true", help="list known CLIP and caption models, then exit")
    add("-v", "--verbose", action="store_true", help="log what is loaded and computed")
    return p


class TqdmHooks(Hooks):
    """Progress bars on stderr, one per stage."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bars: dict[str, Any] = {}

    def progress(self, stage: str, done: int, total: int) -> None:
        """Advances (or opens) the bar of ``stage``; closes it when done."""
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None or bar.total != total or done < bar.n:
            if bar is not None:
                bar.close()
            bar = self._bars[stage] = tqdm(total=total, desc=stage, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del self._bars[stage]

    def close(self) -> None:
        """Closes every open bar."""
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings the arguments ask for (checked when made)."""
    tables = frozenset(t.strip() for t in args.tables.split(",") if t.strip())
    exclusions = frozenset().union(*(parse_exclusions("\n".join(load_user_list(f))) for f in args.exclude))
    return Settings(
        compat=args.compat == "0.6",
        max_flavors=args.max_flavors,
        enabled_tables=tables,
        exclusions=exclusions,
        text_batch_size=args.batch_size,
    )


def load_models(args: argparse.Namespace) -> tuple[ClipBundle, Captioner | None]:
    """The CLIP bundle, and the caption model when the mode needs one and no caption is given."""
    common = {"device": args.device, "precision": args.precision, "cache_dir": args.model_cache}
    common["allow_download"] = not args.offline
    if args.clip_checkpoint:
        clip = load_clip(args.clip or "", checkpoint=args.clip_checkpoint, config=args.clip_config, **common)
    else:
        clip = load_clip(args.clip or DEFAULT_CLIP, config=args.clip_config, **common)
    captioner = None
    if mode_spec(args.mode).needs_caption and args.caption is None:
        captioner = load_caption_model(args.caption_model, **common)
    return clip, captioner


def interrogate(args: argparse.Namespace) -> int:
    """Runs the interrogation the arguments ask for and prints one result per image."""
    settings = settings_from(args)
    if args.threads is not None:
        if args.threads < 1:
            raise InputError(f"--threads must be at least 1, not {args.threads}.")
        import torch

        torch.set_num_threads(args.threads)  # this process is ours: a host's settings are not touched
    if args.caption == "":
        raise InputError("--caption is empty: give the caption text, or leave --caption out.")
    paths = expand_inputs(args.images)
    for path in paths:
        check_image(path)  # headers only: a bad file fails before any model loads
    vocab = build_vocabulary(compat=settings.compat, extra_lists=tuple(args.labels))
    clip, captioner = load_models(args)
    hooks = TqdmHooks(enabled=not args.json)
    download = args.download_cache and not args.offline
    cache = CacheSettings(args.cache_dir or default_cache_dir(), download=download, hub_cache_dir=args.model_cache)
    ci = Interrogator(clip, captioner, settings, vocab=vocab, cache=cache, hooks=hooks)
    try:
        run_in_batches(ci, args, paths)
    finally:
        hooks.close()
    return 0


def run_in_batches(ci: Interrogator, args: argparse.Namespace, paths: list[Path]) -> None:
    """Decodes, interrogates and prints a batch of images at a time: memory holds one batch."""
    for start in range(0, len(paths), IMAGE_BATCH):
        batch = paths[start : start + IMAGE_BATCH]
        results = ci.run(args.mode, [load_image(p) for p in batch], args.caption)
        for path, result in zip(batch, results):
            result.image = str(path)
            print_result(result, args.json, len(paths) > 1)


def list_models() -> int:
    """Prints the known CLIP and caption model names."""
    print("CLIP models (ARCH/PRETRAINED):")
    for name in list_clip_models():
        print(f"  {name}")
    print("Caption models:")
    for name, spec in CAPTION_MODELS.items():
        print(f"  {name:18} {spec.hub_id} ({spec.size})")
    return 0


def print_result(result: Result, json_lines: bool, several: bool) -> None:
    """One result: a JSON line, or the prompt (analyze: a line per table)."""
    if json_lines:
        print(json.dumps(result.to_json(), ensure_ascii=False, allow_nan=False), flush=True)
        return
    if several:
        print(f"== {result.image}")
    if result.analysis is not None:
        for table, rows in result.analysis.items():
            print(f"{table}: " + ", ".join(f"{label} ({score:.4f})" for label, score in rows))
    else:
        print(result.prompt, flush=True)


def _configure_output(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if args.json:  # keep stderr quiet too; stdout is JSON only
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import transformers

        transformers.utils.logging.disable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    """The command line's entry point; returns the exit status (2 for a user error)."""
    args = build_parser().parse_args(argv)
    _configure_output(args)
    try:
        if args.list_models:
            return list_models()
        if not args.images:
            raise InterrogatorError("No images given: pass image files or folders.")
        return interrogate(args)
    except InterrogatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
