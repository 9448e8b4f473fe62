"""CLIP tokenization with memoised label tokens and upstream's 77-token window rules.

For the plain texts that make up almost every label (printable ASCII without '&' or '<'),
open_clip's cleaning (ftfy, HTML unescaping, whitespace, lower case) reduces to
whitespace and case, and BPE never crosses whitespace; so "prefix, label" tokenizes
as tokens(prefix + ",") followed by tokens(label) whenever one side is plain (a
label that is not plain is tokenized once after a plain stand-in prefix). When
neither side is plain the real tokenizer runs on the joined string.
``tests/test_tokens.py`` checks these rules against the real tokenizer on the whole
vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

TokenIds = tuple[int, ...]
# Entries each memo keeps at most: a long-running host sees ever new prompts and user lists.
# Upstream's whole vocabulary needs about 110k labels and 60k words.
MEMO_LIMIT = 400_000


def remember(memo: dict, key: str, value: object) -> None:
    """Stores ``value``; a full memo is emptied first (it refills with what is in use)."""
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def is_plain(text: str) -> bool:
    """Texts whose cleaning cannot depend on, or change, what stands beside them.

    Printable ASCII passes ftfy unchanged; '&' could start an HTML entity and '<'
    turns off ftfy's entity unescaping for the whole string.
    """
    return text.isascii() and text.isprintable() and "&" not in text and "<" not in text


def is_simple_clip_tokenizer(tokenizer: object) -> bool:
    """open_clip's CLIP BPE with its default cleaning: the only tokenizer our rules cover.

    ``_clean_lower`` is private to open_clip: if a release moves it, use the plain path.
    """
    try:
        from open_clip.tokenizer import SimpleTokenizer, _clean_lower
    except ImportError:
        return False
    return (
        isinstance(tokenizer, SimpleTokenizer)
        and getattr(tokenizer, "reduction_fn", None) is None
        and getattr(tokenizer, "clean_fn", None) is _clean_lower
    )


class Tokens:
    """Tokenizes texts for one CLIP model and applies its context window."""

    def __init__(self, tokenizer: Callable) -> None:
        self.tokenizer = tokenizer
        self.context_length: int = tokenizer.context_length
        self.simple = is_simple_clip_tokenizer(tokenizer)
        self._memo: dict[str, TokenIds] = {}
        self._words: dict[str, TokenIds] = {}
        self._in_context: dict[str, TokenIds | None] = {}
        self._stand_in = self._encode_plain("a,") if self.simple else ()

    @property
    def sot(self) -> int:
        """The start-of-text token id."""
        return self.tokenizer.sot_token_id

    @property
    def eot(self) -> int:
        """The end-of-text token id (the largest id: pooling finds it with argmax)."""
        return self.tokenizer.eot_token_id

    def encode(self, text: str, memo: bool = False) -> TokenIds:
        """Token ids of ``text`` without start/end tokens (SimpleTokenizer only).

        ``memo`` keeps the result: for labels, which recur; not for prompts, which don't.
        """
        ids = self._memo.get(text)
        if ids is None:
            ids = self._encode_plain(text) if is_plain(text) else tuple(self.tokenizer.encode(text))
            if memo:
                remember(self._memo, text, ids)
        return ids

    def _encode_plain(self, text: str) -> TokenIds:
        ids: list[int] = []
        for word in self.tokenizer.pat.findall(" ".join(text.split()).lower()):
            word_ids = self._words.get(word)
            if word_ids is None:
                # printable ASCII maps to itself in CLIP's byte encoder
                encoder = self.tokenizer.encoder
                word_ids = tuple(encoder[t] for t in self.tokenizer.bpe(word).split(" "))
                remember(self._words, word, word_ids)
            ids.extend(word_ids)
        return tuple(ids)

    def window(self, ids: Sequence[int]) -> TokenIds:
        """[SOT] + ids + [EOT] cut to the context length, ending in EOT as open_clip does."""
        full = (self.sot, *ids, self.eot)
        if len(full) > self.context_length:
            full = (*full[: self.context_length - 1], self.eot)
        return full

    def label_ids(self, label: str) -> TokenIds | None:
        """Tokens ``label`` adds after "prefix, " when prefix or label is plain; None if inseparable.

        A label that is not plain is tokenized once after the plain stand-in prefix "a, ".
        """
        if label not in self._in_context:
            if is_plain(label):
                ids = self.encode(label, memo=True)
            else:
                full = tuple(self.tokenizer.encode(f"a, {label}"))
                ids = full[len(self._stand_in) :] if full[: len(self._stand_in)] == self._stand_in else None
            remember(self._in_context, label, ids)
            return ids
        return self._in_context[label]

    def join_suffixes(self, prefix: str, labels: Sequence[str]) -> list[TokenIds | None]:
        """Tokens each "prefix, label" adds after tokens(prefix + ","); None where inseparable."""
        plain_prefix = is_plain(prefix)
        head = None if plain_prefix else self.encode(prefix + ",")
        out: list[TokenIds | None] = []
        for label in labels:
            if plain_prefix or is_plain(label):
                out.append(self.label_ids(label))
            else:  # neither side plain: only the real tokenizer on the joined text is sure
                full = tuple(self.tokenizer.encode(f"{prefix}, {label}"))
                out.append(full[len(head) :] if full[: len(head)] == head else None)
        return out

    def candidate_rows(self, prefix: str, labels: Sequence[str]) -> tuple[TokenIds, list[TokenIds | None]]:
        """The shared head (SOT + tokens of prefix + ",") and each label's remaining window.

        ``head + row`` is exactly the window of "prefix, label", truncation included; a row is
        None where the label's tokens cannot be separated from the prefix.
        """
        head = self.window(self.encode(prefix + ","))[:-1]  # cut to leave room for EOT
        budget = self.context_length - len(head)
        rows: list[TokenIds | None] = []
        for ids in self.join_suffixes(prefix, labels):
            if ids is None:
                rows.append(None)
            else:
                rows.append((*ids, self.eot) if len(ids) < budget else (*ids[: budget - 1], self.eot))
        return head, rows

    def tensor(self, texts: Sequence[str]) -> torch.Tensor:
        """Exactly what open_clip's tokenizer returns (padded to the context length)."""
        return self.tokenizer(list(texts))

    def at_max_len(self, text: str) -> bool:
        """Upstream's ``_prompt_at_max_len``: the last window slot is not padding."""
        if self.simple:
            return len(self.encode(text)) + 2 >= self.context_length
        return bool(self.tokenizer([text])[0][-1] != 0)


def truncate_to_fit(text: str, tokens: Tokens, compat: bool) -> str:
    """Drops trailing ", "-separated parts until the prompt fits the window.

    Upstream tests ``kept + part`` without the separator, so it can keep one part too
    many; the default counts the separator.
    """
    parts = text.split(", ")
    kept = parts[0]
    for part in parts[1:]:
        if tokens.at_max_len(kept + part if compat else f"{kept}, {part}"):
            break
        kept += ", " + part
    return kept
