"""Command line: ``python -m ci_engine IMAGE_OR_FOLDER... --mode best``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .errors import InterrogatorError
from .registry import CAPTION_MODELS, DEFAULT_CAPTION, DEFAULT_CLIP
from .settings import MODES, OPTIONAL_TABLES

log = logging.getLogger("ci_engine")


def default_cache_dir() -> Path:
    """Label-embedding cache: $CI_ENGINE_CACHE, else ~/.cache/ci_engine/embeds."""
    env = os.environ.get("CI_ENGINE_CACHE")
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ci_engine" / "embeds"
    return Path(env) if env else base


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ci_engine", description="Image to Stable Diffusion prompt.")
    p.add_argument("images", nargs="*", help="image files or folders of images")
    p.add_argument("--mode", choices=MODES, default="best")
    p.add_argument("--clip", help=f"ARCH/PRETRAINED (default {DEFAULT_CLIP}), or ARCH with --clip-checkpoint")
    p.add_argument("--clip-checkpoint", metavar="FILE", help="local CLIP weights (.safetensors preferred)")
    p.add_argument("--clip-config", metavar="FILE.json", help="open_clip model config for a custom architecture")
    p.add_argument(
        "--caption-model",
        default=DEFAULT_CAPTION,
        metavar="NAME_OR_DIR",
        help=f"{', '.join(CAPTION_MODELS)}, or a local Hugging Face model folder",
    )
    p.add_argument("--caption", metavar="TEXT", help="use this caption; no caption model is loaded")
    p.add_argument("--compat", choices=["0.6"], help="reproduce clip-interrogator 0.6.0's prompts exactly")
    p.add_argument("--max-flavors", type=int, metavar="N", help="labels to add (default: the mode's upstream default)")
    p.add_argument("--tables", default=",".join(OPTIONAL_TABLES), help="comma-separated tables to rank")
    p.add_argument("--labels", action="append", default=[], metavar="FILE.txt", help="extra label list (repeatable)")
    p.add_argument("--exclude", action="append", default=[], metavar="FILE.txt", help="labels never to use")
    p.add_argument("--cache-dir", type=Path, help=f"label-embedding cache (default {default_cache_dir()})")
    p.add_argument("--model-cache", metavar="DIR", help="where downloaded models go (default: the HF hub cache)")
    p.add_argument("--download-cache", action="store_true", help="fetch upstream's published label embeddings")
    p.add_argument("--offline", action="store_true", help="never download; use local files only")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "fp16", "bf16", "fp32"])
    p.add_argument(
        "--batch-size",
        type=int,
        default=1024,
        metavar="N",
        help="texts encoded at once (lower it if memory runs short)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per image per line")
    p.add_argument("--list-models", action="store_true", help="list known CLIP and caption models, then exit")
    p.add_argument("-v", "--verbose", action="store_true", help="log what is loaded and computed")
    return p


def _configure_output(args) -> None:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if args.json:  # keep stderr quiet too; stdout is JSON only
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import transformers

        transformers.utils.logging.disable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_output(args)
    from .run import list_models, run

    try:
        if args.list_models:
            return list_models()
        if not args.images:
            raise InterrogatorError("No images given: pass image files or folders.")
        return run(args, default_cache_dir())
    except InterrogatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def print_result(result, json_lines: bool, several: bool) -> None:
    if json_lines:
        print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
        return
    if several:
        print(f"== {result.image}")
    if result.analysis is not None:
        for table, rows in result.analysis.items():
            print(f"{table}: " + ", ".join(f"{label} ({score:.4f})" for label, score in rows))
    else:
        print(result.prompt, flush=True)
