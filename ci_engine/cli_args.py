"""What the command lines share: model and table arguments, progress bars, loading."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cli_sources import add_caption_style_arguments, add_tag_arguments, caption_style_from, tag_style_from
from .errors import InputError, InterrogatorError
from .hooks import Hooks
from .interrogator import Interrogator
from .models.bundle import ClipBundle
from .models.captioner import Captioner
from .models.clip import check_clip, load_clip, load_clip_tokenizer
from .models.registry import DEFAULT_CAPTION, DEFAULT_CLIP
from .models.sources import caption_source_names, check_caption_source, load_caption_source
from .models.tagger import Tagger
from .models.tagger_load import is_tagger
from .modes import MODES, mode_spec
from .settings import Settings
from .tables import CacheSettings
from .target import Target, clip_counter, clip_window, target_budget, target_from, tokenizer_counter
from .text.tokens import Tokens
from .vocab import MERGED_TABLES, build_vocabulary, load_user_list, parse_exclusions


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that shows every option's default: "(default: …)" is added wherever the text does
    not already say it (options that are off or empty unless given have none to show)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        unset = action.default in (None, False, "", [], argparse.SUPPRESS)
        if unset or not action.option_strings or "default" in text:
            return action.help
        return f"{text} (default: %(default)s)".lstrip()


def default_cache_dir() -> Path:
    """Label-embedding cache: $CI_ENGINE_CACHE, else ~/.cache/ci_engine/embeds."""
    env = os.environ.get("CI_ENGINE_CACHE")
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ci_engine" / "embeds"
    return Path(env) if env else base


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments every command shares: models, label tables, caches, device, threads."""
    defaults = ", ".join(f"{name} {spec.default_max_flavors}" for name, spec in MODES.items() if spec.build)
    add = p.add_argument
    add("--clip", help=f"ARCH/PRETRAINED (default {DEFAULT_CLIP}), or ARCH with --clip-checkpoint")
    add("--clip-checkpoint", metavar="FILE", help="local CLIP weights (.safetensors preferred)")
    add("--clip-config", metavar="FILE.json", help="open_clip model config for a custom architecture")
    add(
        "--caption-model",
        default=DEFAULT_CAPTION,
        metavar="NAME_OR_DIR",
        help=f"a caption model or booru tagger: {', '.join(caption_source_names())}, or a folder",
    )
    add("--caption", metavar="TEXT", help="use this caption; no caption model is loaded")
    add_caption_style_arguments(p)
    add_tag_arguments(p)
    add("--compat", choices=["0.6"], help="reproduce clip-interrogator 0.6.0's prompts exactly")
    add("--max-flavors", type=int, metavar="N", help=f"labels to add (analyze: per table); default: {defaults}")
    add("--tables", default=",".join(MERGED_TABLES), help="comma-separated tables to rank")
    add("--labels", action="append", default=[], metavar="FILE.txt", help="extra label list (repeatable)")
    add("--exclude", action="append", default=[], metavar="FILE.txt", help="labels never to use")
    add("--cache-dir", type=Path, metavar="DIR", help=f"label-embedding cache (default {default_cache_dir()})")
    add("--model-cache", metavar="DIR", help="where downloaded models go (default: the HF hub cache)")
    add("--download-cache", action="store_true", help="fetch upstream's published label embeddings")
    add("--offline", action="store_true", help="never download; use local files only")
    add("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add("--precision", default="auto", choices=["auto", "fp16", "bf16", "fp32"], help="auto: fp16 on CUDA, else fp32")
    add(
        "--batch-size",
        type=int,
        default=1024,
        metavar="N",
        help="texts encoded at once (lower it if memory runs short)",
    )
    add("--target", default="clip", metavar="clip|N", help="clip: one 77-token window (default); N: a token budget "
        "for a T5/LLM text encoder (Flux, SD3.5), counted by --target-tokenizer")  # fmt: skip
    add("--target-tokenizer", metavar="DIR", help="the target's tokenizer folder (default: CLIP's count, an estimate)")
    add("--threads", type=int, metavar="N", help="CPU threads for torch (default: torch's choice); 1 is faster "
        "when other jobs share the CPU")  # fmt: skip
    add("-v", "--verbose", action="store_true", help="log what is loaded and computed")


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
        caption_style=caption_style_from(args),
        tag_style=tag_style_from(args),
    )


def load_models(
    args: argparse.Namespace, with_caption_model: bool = True
) -> tuple[ClipBundle | None, Captioner | Tagger | None]:
    """The CLIP bundle when the run needs it (``needs_clip``), and the caption model or tagger
    when the mode needs one and no caption is given (and ``with_caption_model``)."""
    device = {"device": args.device, "precision": args.precision}
    clip = load_clip(clip_name(args), **clip_sources(args), **device) if needs_clip(args) else None
    captioner = None
    if with_caption_model and needs_caption_model(args):
        captioner = load_caption_source(
            args.caption_model, **device, cache_dir=args.model_cache, allow_download=not args.offline
        )
    return clip, captioner


def apply_threads(threads: int | None) -> None:
    """Sets torch's CPU threads when asked (this process is ours: a host's are never touched)."""
    if threads is None:
        return
    if threads < 1:
        raise InputError(f"--threads must be at least 1, not {threads}.")
    import torch

    torch.set_num_threads(threads)


def configure_logging(verbose: bool) -> None:
    """Warnings on stderr; with ``verbose``, what is loaded and computed too."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    from huggingface_hub.utils import logging as hub_logging

    hub_logging.disable_propagation()  # it prints through a handler of its own: each line once, not twice


def check_caption(caption: str | None) -> None:
    """An empty ``--caption`` is a mistake: said before any model loads."""
    if caption == "":
        raise InputError("--caption is empty: give the caption text, or leave --caption out.")


def needs_caption_model(args: argparse.Namespace) -> bool:
    """Whether the run loads a caption model or tagger: its mode needs a caption and none is
    given (analyze shows a tagger's tags too)."""
    if args.caption is not None:
        return False
    return mode_spec(args.mode).needs_caption or (args.mode == "analyze" and is_tagger(args.caption_model))


def needs_clip(args: argparse.Namespace) -> bool:
    """Whether the command line loads CLIP's weights: always but for mode caption with
    ``--caption`` (the prompt is that caption) or a tagger (CLIP's tokenizer fits its tags to
    the window), and no negative prompt."""
    negative = getattr(args, "with_negative", False)  # the dataset command has no negative prompt
    caption_model = needs_caption_model(args) and not is_tagger(args.caption_model)
    return mode_spec(args.mode).build is not None or caption_model or negative


def check_arguments(args: argparse.Namespace, settings: Settings, clip: bool = True) -> None:
    """Every argument a model load would trip on, checked before any model loads (online, a
    late error would come after gigabytes of downloads): the caption; CLIP's name, file and
    config, and whether its weights are at hand or can be downloaded (when ``clip``: CLIP is
    loaded); the target and its tokenizer; the caption model: its name or folder (read, not
    loaded), whether it can write the caption style, and whether it is at hand or can be downloaded."""
    check_caption(args.caption)
    if clip:
        check_clip(clip_name(args), **clip_sources(args))
    target_budget(args.target)
    if args.target_tokenizer:
        if args.target == "clip":
            raise InputError("--target-tokenizer counts a token budget: give it with --target N (e.g. --target 256).")
        tokenizer_counter(args.target_tokenizer)
    if needs_caption_model(args):
        check_caption_source(args.caption_model, args.model_cache, not args.offline, settings.caption_style.style)


def build_interrogator(
    args: argparse.Namespace, settings: Settings, hooks: Hooks, with_caption_model: bool = True
) -> Interrogator:
    """Loads the vocabulary and models the arguments name; label caches in ``--cache-dir``."""
    vocab = build_vocabulary(compat=settings.compat, extra_lists=tuple(args.labels))
    clip, captioner = load_models(args, with_caption_model)
    download = args.download_cache and not args.offline
    cache = CacheSettings(args.cache_dir or default_cache_dir(), download=download, hub_cache_dir=args.model_cache)
    target = run_target(args, clip, isinstance(captioner, Tagger))
    return Interrogator(clip, captioner, settings, vocab=vocab, cache=cache, hooks=hooks, target=target)


def run_target(args: argparse.Namespace, clip: ClipBundle | None, tagging: bool) -> Target | None:
    """The run's target: ``--target``'s budget counted by ``--target-tokenizer`` or CLIP's
    tokenizer; None for CLIP's window, which a tagger without CLIP weights gets as a budget
    (its tags are fitted to it by confidence)."""
    if clip is None:
        target = target_without_clip(args)
        return (
            clip_window(Tokens(load_clip_tokenizer(clip_name(args), **clip_sources(args))))
            if tagging and target is None
            else target
        )
    count = tokenizer_counter(args.target_tokenizer) if args.target_tokenizer else None
    return target_from(args.target, count, clip.tokens)


def clip_name(args: argparse.Namespace) -> str:
    """The CLIP name ``load_clip`` gets: ``--clip``, else the default (none with a checkpoint:
    its architecture comes from its sidecar config)."""
    return args.clip or ("" if args.clip_checkpoint else DEFAULT_CLIP)


def clip_sources(args: argparse.Namespace) -> dict:
    """Where the CLIP the arguments name comes from: ``load_clip``'s keyword arguments but the device."""
    return {
        "checkpoint": args.clip_checkpoint,
        "config": args.clip_config,
        "cache_dir": args.model_cache,
        "allow_download": not args.offline,
    }


def target_without_clip(args: argparse.Namespace) -> Target | None:
    """The target the arguments ask for, with no CLIP weights loaded: a budget is counted by
    ``--target-tokenizer``, else by CLIP's tokenizer (an estimate; it loads without weights)."""
    budget = target_budget(args.target)
    if budget is None:
        return None
    if args.target_tokenizer:
        return Target(budget, tokenizer_counter(args.target_tokenizer))
    tokenizer = load_clip_tokenizer(clip_name(args), **clip_sources(args))
    return Target(budget, clip_counter(Tokens(tokenizer)))


def guarded(run: Callable[[], int]) -> int:
    """Runs a command: a user error is one ``error: …`` line on stderr and status 2."""
    try:
        return run()
    except InterrogatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
