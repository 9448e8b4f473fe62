"""Prompts that fit the text encoder they are for. ``None`` is CLIP's one 77-token window
(upstream's behaviour); a ``Target`` is a token budget counted by the target's own tokenizer
(T5 or an LLM: Flux, SD3.5, Qwen-Image, HiDream).

The rule: CLIP chooses the labels as always, but after a caption cut to ``SCORING_TOKENS`` CLIP
tokens, so the labels it chains are inside its window and their scores are real; then the whole
caption and those labels are joined, ", "-separated, and cut to the budget (the caption first,
at a word boundary if it alone is too long; then labels in their order while they fit)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .errors import InputError
from .text.tokens import Tokens

CLIP_WINDOW = 77
SCORING_TOKENS = 32  # of CLIP's 77: the caption's share while CLIP ranks and chains the labels


@dataclass(frozen=True)
class Target:
    """A token budget and the tokenizer's count (``count(text)``: tokens of ``text``)."""

    budget: int
    count: Callable[[str], int]

    def __post_init__(self) -> None:
        if self.budget < 8:
            raise InputError(f"A target budget of {self.budget} tokens is too small: give 8 or more.")


def target_budget(choice: str, what: str = "--target") -> int | None:
    """The budget a ``target`` choice names (None: ``clip``), checked without any model: a
    word that is neither, or a budget too small, is an ``InputError``."""
    if choice == "clip":
        return None
    if not str(choice).isdigit():
        raise InputError(f"{what} must be clip or a number of tokens (e.g. 256), not '{choice}'.")
    Target(int(choice), len)  # the budget's own check
    return int(choice)


def target_from(
    choice: str, count: Callable[[str], int] | None, tokens: Tokens, what: str = "--target"
) -> Target | None:
    """A ``clip`` or a number of tokens choice (the CLI's ``--target``, a node's ``target``):
    None for CLIP's window, else a budget counted by ``count`` (None: ``clip_counter``)."""
    budget = target_budget(choice, what)
    return None if budget is None else Target(budget, count or clip_counter(tokens))


def clip_window(tokens: Tokens) -> Target:
    """CLIP's one window as a budget: 77 tokens, start and end included."""
    return Target(CLIP_WINDOW, clip_counter(tokens))


def clip_counter(tokens: Tokens) -> Callable[[str], int]:
    """CLIP's BPE count without its window (start and end tokens included): an estimate for
    a T5/LLM budget when that tokenizer is not at hand."""
    return lambda text: len(tokens.encode(text)) + 2


def tokenizer_counter(folder: str | os.PathLike) -> Callable[[str], int]:
    """The count of a local Hugging Face tokenizer folder (e.g. T5's), special tokens included."""
    from transformers import AutoTokenizer

    if not os.path.isdir(folder):
        raise InputError(f"Tokenizer folder '{folder}' does not exist: give the folder of the target's tokenizer.")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        reason = " ".join(str(exc).split()).rstrip(".")
        raise InputError(
            f"Cannot load a tokenizer from '{folder}' ({reason}). Give the target's tokenizer folder "
            "(with its tokenizer.json or tokenizer_config.json)."
        ) from exc
    return lambda text: len(tokenizer(text)["input_ids"])


# Words a cut text must not end on: it would read as broken off ("…barn walls, a").
DANGLING = frozenset(
    "a an the and or but nor so yet as of in on at by for with from to into onto over under near behind above "
    "below between through across against along among around beside beyond during inside outside toward towards "
    "upon within without via than like while where which who whose that this these those its his her their our "
    "my your is are was were".split()
)
CUT_PUNCTUATION = ",;:-"


def words_within(text: str, count: Callable[[str], int], limit: int) -> str:
    """The longest run of ``text``'s first words that ``count`` keeps within ``limit``; a cut
    run never ends on a comma or a dangling article, conjunction or preposition."""
    words = text.split(" ")
    low, high = 0, len(words)
    while low < high:  # binary search: counts grow with words
        middle = (low + high + 1) // 2
        if count(" ".join(words[:middle])) <= limit:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low] if low == len(words) else clean_cut(words[:low]))


def clean_cut(words: list[str]) -> list[str]:
    """``words`` without the trailing punctuation and dangling words a cut left at their end."""
    words = list(words)
    while words:
        last = words[-1].rstrip(CUT_PUNCTUATION)
        if last and last.lower() not in DANGLING:
            words[-1] = last
            break
        words.pop()
    return words


def scoring_caption(caption: str, tokens: Tokens) -> str:
    """The caption as CLIP ranks labels after it: at most ``SCORING_TOKENS`` of its tokens."""
    return words_within(caption, lambda text: len(tokens.encode(text)), SCORING_TOKENS)


def fit_to_budget(caption: str, labels: list[str], target: Target) -> str:
    """The caption, then the labels while they fit, within ``target.budget`` tokens (a caption
    that alone is too long is cut at a word boundary, and no label follows it)."""
    text = words_within(caption, target.count, target.budget)
    if text != caption:  # the caption alone is too long: no label after a cut
        return text
    for label in labels:
        longer = f"{text}, {label}" if text else label
        if target.count(longer) > target.budget:
            break
        text = longer
    return text
