"""Command line: ``python -m ci_engine IMAGE_OR_FOLDER... --mode best``, and
``python -m ci_engine dataset DIR`` (``cli_dataset``).

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

from .cli_args import (
    DefaultsHelpFormatter,
    TqdmHooks,
    add_model_arguments,
    apply_threads,
    build_interrogator,
    check_arguments,
    configure_logging,
    guarded,
    needs_clip,
    settings_from,
    target_without_clip,
)
from .cli_dataset import main as dataset_main
from .cli_sources import mode_help, resolve_mode
from .errors import InputError
from .images import check_image, expand_inputs, load_image
from .interrogator import IMAGE_BATCH, Interrogator, Result
from .models.registry import CAPTION_MODELS, TAGGER_MODELS, list_clip_models
from .modes import MODES
from .target import fit_to_budget
from .version import __version__

log = logging.getLogger("ci_engine")


def build_parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    p = argparse.ArgumentParser(
        prog="python -m ci_engine",
        description="Image to Stable Diffusion prompt. Other commands: dataset DIR (see dataset -h), and demo "
        "(a run offline with tiny random-weight models, see demo -h).",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("images", nargs="*", help="image files or folders of images")
    p.add_argument("--mode", choices=list(MODES), help=mode_help())
    add_model_arguments(p)
    p.add_argument("--with-negative", action="store_true", help="also a negative prompt, from the same image pass")
    p.add_argument("--json", action="store_true", help="one JSON object per image per line")
    p.add_argument("--list-models", action="store_true", help="list known CLIP and caption models, then exit")
    p.add_argument("--version", action="version", version=f"ci_engine {__version__}")
    return p


def interrogate(args: argparse.Namespace) -> int:
    """Runs the interrogation the arguments ask for and prints one result per image."""
    resolve_mode(args)
    settings = settings_from(args)
    apply_threads(args.threads)
    paths = expand_inputs(args.images)
    for path in paths:
        check_image(path)  # headers only: a bad file fails before any model loads
    check_arguments(args, settings, clip=needs_clip(args))
    if not needs_clip(args) and args.caption is not None:
        print_given_caption(args, paths)
        return 0
    hooks = TqdmHooks(enabled=not args.json)
    try:
        run_in_batches(build_interrogator(args, settings, hooks), args, paths)
    finally:
        hooks.close()
    return 0


def print_given_caption(args: argparse.Namespace, paths: list[Path]) -> None:
    """Mode caption with ``--caption``: the prompt is the caption, fitted to ``--target N``;
    no model loads (a budget without ``--target-tokenizer`` is counted by CLIP's tokenizer)."""
    target = target_without_clip(args)
    prompt = args.caption if target is None else fit_to_budget(args.caption, [], target)
    for path in paths:
        print_result(Result(args.mode, prompt, args.caption, 0.0, image=str(path)), args.json, len(paths) > 1)


def run_in_batches(ci: Interrogator, args: argparse.Namespace, paths: list[Path]) -> None:
    """Decodes, interrogates and prints a batch of images at a time: memory holds one batch."""
    for start in range(0, len(paths), IMAGE_BATCH):
        batch = paths[start : start + IMAGE_BATCH]
        results = ci.run(args.mode, [load_image(p) for p in batch], args.caption, args.with_negative)
        for path, result in zip(batch, results):
            result.image = str(path)
            print_result(result, args.json, len(paths) > 1)


def list_models() -> int:
    """Prints the known CLIP and caption model names."""
    print("CLIP models (ARCH/PRETRAINED):")
    for name in list_clip_models():
        print(f"  {name}")
    width = max(map(len, [*CAPTION_MODELS, *TAGGER_MODELS])) + 2
    for title, table in (("Caption models:", CAPTION_MODELS), ("Booru taggers (--caption-model):", TAGGER_MODELS)):
        print(title)
        for name, spec in table.items():
            print(f"  {name:{width}}{spec.hub_id} ({spec.size})")
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
    if result.negative is not None:
        print(f"negative: {result.negative}", flush=True)


def _configure_output(args: argparse.Namespace) -> None:
    configure_logging(args.verbose)
    if args.json:  # keep stderr quiet too; stdout is JSON only
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import transformers

        transformers.utils.logging.disable_progress_bar()


DEMO_NOTE = (
    "These prompts come from tiny random-weight models, so their words are random: the demo shows that "
    "everything runs, not what the prompts look like. For real prompts run\n"
    "  python -m ci_engine photo.jpg\n"
    "which downloads CLIP ViT-L-14/openai and BLIP-large (about 3.6 GB) on first use."
)


def build_demo_parser() -> argparse.ArgumentParser:
    """The demo command's arguments."""
    p = argparse.ArgumentParser(
        prog="python -m ci_engine demo",
        description="Run the whole job offline with tiny random-weight models, built once into "
        "$XDG_CACHE_HOME/ci_engine/demo (~/.cache by default) and reused after: nothing is downloaded.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("images", nargs="*", help="your own images or folders (default: a few synthetic ones)")
    return p


def demo(args: argparse.Namespace) -> int:
    """Runs the demo and prints its prompts, then what they are and how to get real ones."""
    import transformers

    from .testing.demo import MODE, demo_dir, demo_images, run_demo

    paths = expand_inputs(args.images) if args.images else []
    for path in paths:
        check_image(path)
    folder = demo_dir()
    transformers.utils.logging.disable_progress_bar()  # its bars for saving and loading the tiny models
    print(f"Demo: {MODE} mode, offline, with tiny random-weight models in {folder} (built on the first run).")
    hooks = TqdmHooks()
    try:
        results = run_demo(paths or demo_images(folder), folder, hooks)
    finally:
        hooks.close()
    for result in results:
        print_result(result, json_lines=False, several=True)
    print(DEMO_NOTE)
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line's entry point; returns the exit status (2 for a user error).
    ``dataset …`` as the first words runs the dataset command (``cli_dataset``), ``demo …``
    an offline demo with tiny models."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["dataset"]:
        return dataset_main(argv[1:])
    if argv[:1] == ["demo"]:
        demo_args = build_demo_parser().parse_args(argv[1:])
        configure_logging(False)
        return guarded(lambda: demo(demo_args))
    args = build_parser().parse_args(argv)
    _configure_output(args)
    return guarded(lambda: list_models() if args.list_models else _interrogate_images(args))


def _interrogate_images(args: argparse.Namespace) -> int:
    if not args.images:
        raise InputError("No images given: pass image files or folders.")
    return interrogate(args)
