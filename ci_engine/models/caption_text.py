"""Caption text clean-up: BLIP's invented words, repeated words and phrases, and a paragraph
cut off by the token limit."""

from __future__ import annotations

import re

_ARTIFACTS = re.compile(r"\b(?:arafed|araffe|araffed|arafe|arafad|araffes)\b\s*", re.IGNORECASE)
_REPEATS = re.compile(r"\b(\w+)(?:\s+\1\b)+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LAST_SENTENCE_END = re.compile(r"^(.*[.!?])\s+\S[^.!?]*$", re.DOTALL)


def clean_caption(text: str) -> str:
    """Removes BLIP's invented words ("arafed", "araffe"), runs of a repeated word, and
    sentences or comma-separated phrases that repeat an earlier one (language models' loops)."""
    text = _ARTIFACTS.sub("", text)
    text = _REPEATS.sub(r"\1", text)
    sentences = _unique(_SENTENCE_END.split(text.strip()))
    text = " ".join(", ".join(_unique(sentence.split(","))) for sentence in sentences)
    return " ".join(text.split())


def _unique(parts: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for part in parts:
        key = " ".join(part.casefold().split()).rstrip(".!?")
        if key and key not in seen:
            seen.add(key)
            kept.append(part.strip())
    return kept


def drop_cut_tail(text: str, style: str) -> str:
    """A caption the token limit cut off, ended at its last full sentence (its last full tag
    for tags); a text with no full sentence or tag is kept whole."""
    if style == "tags":
        head, comma, _ = text.rpartition(",")
        return head.strip() if comma and head.strip() else text
    match = _LAST_SENTENCE_END.match(text.strip())
    return match.group(1) if match else text
