"""The command lines' caption-source options: a caption model's style, a tagger's tag options,
and the mode each kind makes by default."""

from __future__ import annotations

import argparse

from .models.caption_style import STYLES, CaptionStyle
from .models.tagger_load import is_tagger
from .tags.style import ORDERS, RATINGS, TagStyle

DEFAULT_MODE = "best"
TAGGER_MODE = "caption"  # a tagger alone gives the tags: what anime checkpoints and LoRA datasets want


def add_caption_style_arguments(p: argparse.ArgumentParser) -> None:
    """What kind of caption the caption model writes, and how it decodes."""
    add = p.add_argument
    styles = "short (one sentence, as upstream), detailed (a paragraph), tags, or custom (with --caption-prompt)"
    add("--caption-style", default="short", choices=STYLES, help=f"{styles}; BLIP and GIT write short only")
    add("--caption-prompt", default="", metavar="TEXT", help="the instruction for --caption-style custom")
    add("--caption-tokens", type=int, metavar="N", help="new tokens a caption may take (default: the style's)")
    add("--sample", action="store_true", help="sample captions instead of greedy decoding (repeatable with --seed)")
    add("--seed", type=int, default=0, help="seed for --sample (default 0)")
    add("--temperature", type=float, default=0.7, help="sampling temperature for --sample (default 0.7)")


def add_tag_arguments(p: argparse.ArgumentParser) -> None:
    """What a tagger (wd-*-tagger-v3, or a tagger folder) writes."""
    g = p.add_argument_group("tagger options (with a wd-*-tagger-v3 or tagger folder as --caption-model)")
    add = g.add_argument
    add("--general-threshold", type=float, default=0.35, metavar="P", help="general tags scoring above P")
    add("--character-threshold", type=float, default=0.85, metavar="P", help="character tags scoring above P")
    add("--mcut", action="store_true", help="automatic thresholds (MCut: the widest gap between scores)")
    add("--rating", choices=RATINGS, default="none", help="tag: the top rating (general … explicit) as a tag")
    add("--tag-order", choices=ORDERS, default="category", help="category: characters, then general tags, each "
        "by confidence; confidence: all by confidence")  # fmt: skip
    add("--keep-underscores", action="store_true", help="long_hair, not long hair (kaomoji always keep theirs)")
    add("--no-escape", action="store_true", help="leave ( ) as they are, not \\( \\)")
    add("--tag-weights", action="store_true", help="each tag as (tag:0.87)")
    add("--max-tags", type=int, default=0, metavar="N", help="the N most confident tags at most (0: no limit)")


def caption_style_from(args: argparse.Namespace) -> CaptionStyle:
    """The caption style the arguments ask for (checked when made)."""
    return CaptionStyle(
        style=args.caption_style,
        instruction=args.caption_prompt,
        max_new_tokens=args.caption_tokens,
        sample=args.sample,
        seed=args.seed,
        temperature=args.temperature,
    )


def tag_style_from(args: argparse.Namespace) -> TagStyle:
    """The tag options the arguments ask for (checked when made)."""
    return TagStyle(
        general_threshold=args.general_threshold,
        character_threshold=args.character_threshold,
        mcut=args.mcut,
        rating=args.rating,
        order=args.tag_order,
        underscores=args.keep_underscores,
        escape=not args.no_escape,
        weights=args.tag_weights,
        max_tags=args.max_tags,
    )


def mode_help(what: str = "what to make") -> str:
    """``--mode``'s help: its default depends on the caption source."""
    return f"{what} (default: {DEFAULT_MODE}; {TAGGER_MODE} with a tagger, which gives its tags)"


def resolve_mode(args: argparse.Namespace) -> None:
    """Sets ``args.mode`` when none was given: caption (the tags) for a tagger, else best."""
    if args.mode is None:
        tagger = args.caption is None and is_tagger(args.caption_model)
        args.mode = TAGGER_MODE if tagger else DEFAULT_MODE
