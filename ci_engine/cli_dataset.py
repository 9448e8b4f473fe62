"""``python -m ci_engine dataset DIR``: a sidecar ``.txt`` beside every image of a folder
(subfolders too), with a manifest and resume; ``--ray`` spreads the work over Ray Data."""

from __future__ import annotations

import argparse
import functools
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
)
from .cli_sources import mode_help, resolve_mode
from .dataset.files import ON_EXISTING, find_images, inside, read_list_file
from .dataset.local import run_local
from .dataset.manifest import Manifest
from .dataset.work import DatasetHooks, DatasetOptions, ModelRecipe, Summary
from .errors import InputError
from .hooks import Hooks
from .images import IMAGE_SUFFIXES
from .interrogator import IMAGE_BATCH, Interrogator
from .modes import PROMPT_MODE_NAMES, mode_spec
from .settings import Settings

MANIFEST_NAME = "interrogator_manifest"
SHOWN_ERRORS = 10


def build_parser() -> argparse.ArgumentParser:
    """The dataset command's arguments."""
    p = argparse.ArgumentParser(
        prog="python -m ci_engine dataset",
        description="Caption a folder of images.",
        formatter_class=DefaultsHelpFormatter,
    )
    add = p.add_argument
    add("folder", type=Path, help="the dataset folder; its subfolders too unless --no-recursive")
    add("--list", type=Path, metavar="FILE", help="only the images this file lists (paths relative to it)")
    add("--mode", choices=PROMPT_MODE_NAMES, help=mode_help())
    add_model_arguments(p)
    add("--prefix", default="", help='text before every prompt, e.g. trigger words ("ohwx man")')
    add("--suffix", default="", help="text after every prompt")
    add("--on-existing", choices=ON_EXISTING, default="skip", help="a sidecar that is already there: keep it, "
        "replace it, or add the prompt after its text (default skip)")  # fmt: skip
    add("--no-recursive", action="store_true", help="only the folder itself, not its subfolders")
    add("--manifest", help=f"default FOLDER/{MANIFEST_NAME}.jsonl (.csv, .parquet by extension; "
        "with --ray a folder or URI of JSON files, of Parquet if it ends in .parquet)")  # fmt: skip
    add("--images-per-batch", type=int, default=IMAGE_BATCH, metavar="N", help="images captioned at once")
    add("--ray", nargs="?", const="", metavar="ADDRESS", help="run on Ray Data: a local Ray, or the cluster at "
        "ADDRESS (auto, ray://HOST:10001)")  # fmt: skip
    add("--workers", type=int, default=1, metavar="N", help="Ray actors, each holding the models (default 1)")
    return p


def images_of(args: argparse.Namespace) -> list[Path]:
    """The images to caption: the folder's, or those the list file names (inside the folder)."""
    if args.list is None:
        found = list(find_images(args.folder, recursive=not args.no_recursive))
        if not found:
            where = "itself (--no-recursive)" if args.no_recursive else "or its subfolders"
            raise InputError(
                f"Dataset folder '{args.folder}' has no images in it {where}: give a folder of "
                f"{', '.join(sorted(IMAGE_SUFFIXES))} files."
            )
        return found
    paths = read_list_file(args.list)
    outside = [p for p in paths if not inside(args.folder, p)]
    if outside:
        raise InputError(f"'{outside[0]}' in {args.list} is not inside {args.folder}: list images of that folder.")
    return paths


def build_for_recipe(args: argparse.Namespace, settings: Settings, with_caption_model: bool) -> Interrogator:
    """The interrogator the arguments describe (what a Ray actor builds); progress stays quiet."""
    return build_interrogator(args, settings, DatasetHooks(Hooks()), with_caption_model)


def run(args: argparse.Namespace) -> int:
    """Runs the dataset command and prints its summary line."""
    resolve_mode(args)
    settings = settings_from(args)
    apply_threads(args.threads)
    options = DatasetOptions(args.mode, args.prefix, args.suffix, args.on_existing, args.caption, args.images_per_batch)
    images = images_of(args)
    check_arguments(args, settings, clip=needs_clip(args))
    hooks = TqdmHooks()
    try:
        runner = _run_ray if args.ray is not None else _run_here
        summary = runner(args, settings, options, images, hooks)
    finally:
        hooks.close()
    for error in summary.errors[:SHOWN_ERRORS]:
        print(f"failed: {error}", file=sys.stderr)
    print(summary.line())
    return 0


def _run_here(args, settings, options, images, hooks) -> Summary:
    manifest = Manifest(Path(args.manifest) if args.manifest else args.folder / f"{MANIFEST_NAME}.jsonl")
    ci = build_interrogator(args, settings, DatasetHooks(hooks))
    return run_local(ci, images, args.folder, manifest, options, hooks)


def _run_ray(args, settings, options, images, hooks) -> Summary:
    from .dataset.ray_run import run_on_ray

    needs_model = mode_spec(args.mode).needs_caption and args.caption is None
    build = functools.partial(build_for_recipe, args, settings)
    recipe = ModelRecipe(build, args.caption_model if needs_model else None)
    manifest = args.manifest or str(args.folder / MANIFEST_NAME)
    return run_on_ray(recipe, images, args.folder, manifest, options, hooks, args.ray or None, args.workers)


def main(argv: list[str]) -> int:
    """The dataset command's entry point; returns the exit status (2 for a user error)."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    return guarded(lambda: run(args))
