"""What the command line does once its arguments are parsed."""

from __future__ import annotations

from pathlib import Path

from .caption import load_caption_model
from .cli import print_result
from .clip_loader import load_clip
from .errors import InputError
from .hooks import TqdmHooks
from .images import expand_inputs, load_image
from .interrogator import NEEDS_CAPTION, Interrogator
from .registry import CAPTION_MODELS, DEFAULT_CLIP, list_clip_models
from .settings import Settings
from .tables import CacheSettings
from .vocab import build_vocabulary, load_list, parse_exclusions


def list_models() -> int:
    print("CLIP models (ARCH/PRETRAINED):")
    for name in list_clip_models():
        print(f"  {name}")
    print("Caption models:")
    for name, spec in CAPTION_MODELS.items():
        print(f"  {name:18} {spec.hub_id} ({spec.size})")
    return 0


def settings_from(args) -> Settings:
    tables = frozenset(t.strip() for t in args.tables.split(",") if t.strip())
    exclusions = frozenset().union(*(parse_exclusions("\n".join(load_list(f))) for f in args.exclude))
    return Settings(
        compat=args.compat == "0.6",
        max_flavors=args.max_flavors,
        tables=tables,
        exclusions=exclusions,
        text_batch_size=args.batch_size,
    ).validate()


def _load_models(args, settings: Settings):
    allow = not args.offline
    common = {"device": args.device, "precision": args.precision, "cache_dir": args.model_cache}
    common["allow_download"] = allow
    if args.clip_checkpoint:
        clip = load_clip(args.clip or "", checkpoint=args.clip_checkpoint, config=args.clip_config, **common)
    else:
        clip = load_clip(args.clip or DEFAULT_CLIP, config=args.clip_config, **common)
    captioner = None
    if args.mode in NEEDS_CAPTION and args.caption is None:
        captioner = load_caption_model(args.caption_model, **common)
    return clip, captioner


def run(args, default_cache: Path) -> int:
    settings = settings_from(args)
    paths = expand_inputs(args.images)
    images = [load_image(p) for p in paths]  # read all first: a bad file fails before models load
    vocab = build_vocabulary(compat=settings.compat, extra_lists=tuple(args.labels))
    clip, captioner = _load_models(args, settings)
    hooks = TqdmHooks(enabled=not args.json)
    cache = CacheSettings(
        args.cache_dir or default_cache,
        download=args.download_cache and not args.offline,
        hub_cache_dir=args.model_cache,
    )
    ci = Interrogator(clip, captioner, settings, vocab=vocab, cache=cache, hooks=hooks)
    captions = [args.caption] if args.caption is not None else None
    if captions == [""]:
        raise InputError("--caption is empty: give the caption text, or leave --caption out.")
    results = ci.run(args.mode, images, captions)
    hooks.close()
    for path, result in zip(paths, results):
        result.image = str(path)
        print_result(result, args.json, len(paths) > 1)
    return 0
