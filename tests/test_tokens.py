"""Token rules: label concatenation, the 77-token window, and upstream's truncation helpers."""

from __future__ import annotations

import re

import open_clip
import pytest

from ci_engine.text.tokens import Tokens, is_plain, truncate_to_fit
from ci_engine.vocab import build_vocabulary

LONG = ", ".join(f"word{i} and more" for i in range(30))


@pytest.fixture(scope="module")
def tokens():
    return Tokens(open_clip.get_tokenizer("ViT-L-14"))


@pytest.fixture(scope="module")
def all_labels():
    vocab = build_vocabulary(compat=True)
    return sorted({label for labels in vocab.labels.values() for label in labels})


@pytest.fixture(scope="module")
def hard_labels(all_labels):
    """The labels where more than case and spacing meets the tokenizer: each with a character
    other than an ASCII letter or a space (digits, punctuation, accents, '&', '<': about 13%
    of the vocabulary, every label that is not plain among them) or with more than 12 words,
    and every 25th of the others. The whole vocabulary is the slow suite's (-m slow)."""

    def is_hard(label: str) -> bool:
        return not re.fullmatch(r"[A-Za-z ]*", label) or len(label.split()) > 12

    rest = [label for label in all_labels if not is_hard(label)]
    return sorted([label for label in all_labels if is_hard(label)] + rest[::25])


# tokenizing the whole vocabulary costs ~10 s a prefix: the default suite takes the hard labels
VOCABULARIES = ["hard_labels", pytest.param("all_labels", marks=pytest.mark.slow)]


def real_windows(tokenizer, texts):
    """The tokenizer's rows up to their end-of-text token (id 0 is "!", not only padding)."""
    rows = tokenizer(texts).tolist()
    return [tuple(row[: row.index(tokenizer.eot_token_id) + 1]) for row in rows]


def assert_rule_matches_tokenizer(tokens, prefix, labels):
    head, rows = tokens.candidate_rows(prefix, labels)
    wrong = []
    for start in range(0, len(labels), 4096):
        chunk = labels[start : start + 4096]
        real = real_windows(tokens.tokenizer, [f"{prefix}, {label}" for label in chunk])
        for label, row, expected in zip(chunk, rows[start : start + 4096], real):
            if row is None or head + row != expected:
                wrong.append(label)
    assert not wrong, f"{len(wrong)} labels tokenize differently after {prefix!r}: {wrong[:10]}"


@pytest.mark.parametrize("vocabulary", VOCABULARIES)
@pytest.mark.parametrize("prefix", ["a painting of a cat on a red chair", "by Eduard von Grützner, café"])
def test_concatenation_equals_tokenizer_on_the_vocabulary(tokens, all_labels, vocabulary, prefix, request):
    labels = request.getfixturevalue(vocabulary)
    assert len(all_labels) > 100_000 and len(labels) > 15_000
    assert_rule_matches_tokenizer(tokens, prefix, labels)


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["", "what?!", "Tom &amp; Jerry <b>", "ǅemal 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", LONG])
def test_concatenation_equals_tokenizer_more_prefixes(tokens, all_labels, prefix):
    assert_rule_matches_tokenizer(tokens, prefix, all_labels)


@pytest.mark.parametrize("vocabulary", VOCABULARIES)
def test_plain_label_encoding_matches_tokenizer(tokens, all_labels, vocabulary, request):
    assert sum(map(is_plain, all_labels)) > 0.95 * len(all_labels)
    plain = [label for label in request.getfixturevalue(vocabulary) if is_plain(label)]
    expected = real_windows(tokens.tokenizer, plain)
    assert [tokens.window(tokens.encode(label)) for label in plain] == expected


def test_window_truncates_like_open_clip(tokens):
    ids = tokens.encode(LONG)
    assert len(ids) > 80
    window = tokens.window(ids)
    assert len(window) == 77 and window[-1] == tokens.eot and window[0] == tokens.sot
    assert window == real_windows(tokens.tokenizer, [LONG])[0]


def test_long_prefix_leaves_room_only_for_eot(tokens):
    head, rows = tokens.candidate_rows(LONG, ["a cat", "by Claude Monet"])
    assert len(head) == 76
    assert rows == [(tokens.eot,), (tokens.eot,)]


@pytest.mark.parametrize("words", [70, 72, 73, 74, 75, 76, 80])
def test_at_max_len_matches_upstream(tokens, words):
    from clip_interrogator.clip_interrogator import _prompt_at_max_len

    text = " ".join(["cat"] * words)
    assert tokens.at_max_len(text) == bool(_prompt_at_max_len(text, tokens.tokenizer))


def test_truncate_to_fit_compat_matches_upstream(tokens):
    from clip_interrogator.clip_interrogator import _truncate_to_fit

    for n in range(20, 50, 3):
        text = ", ".join(f"red cat {i}" for i in range(n))
        assert truncate_to_fit(text, tokens, compat=True) == _truncate_to_fit(text, tokens.tokenizer)


def edge_texts() -> list[str]:
    """Prompts of short parts, shifted by a lead of 1..8 words, so a part boundary lands on
    every position near the 77-token edge."""
    return [" ".join(["a"] * lead) + ", " + ", ".join(["red cat"] * 40) for lead in range(1, 9)]


def test_truncate_to_fit_default_counts_separator(tokens):
    differs_from_upstream = 0
    for text in edge_texts():
        fitted = truncate_to_fit(text, tokens, compat=False)
        assert text.startswith(fitted + ", ") and not tokens.at_max_len(fitted)
        next_part = text[len(fitted) + 2 :].split(", ")[0]
        assert tokens.at_max_len(f"{fitted}, {next_part}")  # the most that fits
        differs_from_upstream += fitted != truncate_to_fit(text, tokens, compat=True)
    assert differs_from_upstream  # the edge was reached: upstream keeps one part too many there


def test_token_memos_stay_bounded(monkeypatch):
    from ci_engine.text import tokens as token_module

    monkeypatch.setattr(token_module, "MEMO_LIMIT", 50)
    bounded = Tokens(open_clip.get_tokenizer("ViT-L-14"))
    reference = Tokens(open_clip.get_tokenizer("ViT-L-14"))
    for i in range(300):
        label = f"label{i} word{i} café{i}"
        assert bounded.encode(label, memo=True) == reference.encode(label)
        bounded.label_ids(label)
    assert max(len(bounded._memo), len(bounded._words), len(bounded._in_context)) <= 50
