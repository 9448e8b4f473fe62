"""A prompt's length as the model it feeds counts it: the tokenizer of a ComfyUI ``CLIP``
object (the core type that feeds CLIPTextEncode), read from its longest text stream (T5 or an
LLM when it has one). ComfyUI ships these tokenizers, so this works offline."""

from __future__ import annotations

from collections.abc import Callable

from ...ci_engine.errors import InputError
from ...ci_engine.models.bundle import ClipBundle
from ...ci_engine.target import Target, target_from
from .models import check_model


def text_streams(clip: object) -> list:
    """The tokenizers of each text encoder of ``clip`` (e.g. Flux: CLIP-L and T5-XXL)."""
    tokenizer = getattr(clip, "tokenizer", None)
    found = vars(tokenizer).values() if tokenizer is not None and hasattr(tokenizer, "__dict__") else []
    return [s for s in found if hasattr(s, "tokenizer") and callable(s.tokenizer) and hasattr(s, "max_length")]


def token_counter(clip: object) -> Callable[[str], int]:
    """Counts tokens as ``clip``'s longest stream does (special tokens included)."""
    streams = text_streams(clip)
    if not streams:
        raise InputError("target_clip has no tokenizer to count with: connect a Load CLIP / DualCLIPLoader output.")
    longest = max(streams, key=lambda stream: stream.max_length).tokenizer
    return lambda text: len(longest(text)["input_ids"])


def node_target(target: str, target_clip: object, clip: object) -> Target | None:
    """A node's ``target`` choice, counted by ``target_clip``'s tokenizer when one is connected."""
    if target == "clip":
        return None
    check_model(clip, ClipBundle, "clip", "Load CLIP")  # its tokenizer counts by default
    count = token_counter(target_clip) if target_clip is not None else None
    return target_from(target, count, clip.module.tokens, what="target")
