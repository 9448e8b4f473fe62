"""Tag options, each checked on scores chosen by hand: thresholds per category, MCut, rating,
order, underscores (kaomoji kept), escaping, weights, maximum, exclusions, and the budget."""

from __future__ import annotations

import pytest

from ci_engine.errors import InputError
from ci_engine.tags.select import TagSet, mcut_threshold, select_tags
from ci_engine.tags.style import TagStyle
from ci_engine.tags.text import fit_tags, joined

TAGS = TagSet(
    ("general", "sensitive", "questionable", "explicit", "long_hair", "smile", "^_^", "hat_(object)", "sky",
     "hatsune_miku", "saber_(fate)"),
    (9, 9, 9, 9, 0, 0, 0, 0, 0, 4, 4),
)  # fmt: skip
SCORES = [0.2, 0.7, 0.05, 0.01, 0.9, 0.4, 0.6, 0.3, 0.36, 0.95, 0.8]


def texts(style: TagStyle = TagStyle(), scores=SCORES, excluded=frozenset()) -> list[str]:
    return [tag.text for tag in select_tags(scores, TAGS, style, excluded)]


def test_defaults_keep_general_above_035_and_characters_above_085_characters_first():
    assert texts() == ["hatsune miku", "long hair", "^_^", "smile", "sky"]


def test_each_category_has_its_own_threshold():
    assert texts(TagStyle(general_threshold=0.5)) == ["hatsune miku", "long hair", "^_^"]
    assert texts(TagStyle(character_threshold=0.5)) == ["hatsune miku", "saber \\(fate\\)", "long hair", "^_^",
                                                        "smile", "sky"]  # fmt: skip
    # the threshold is exclusive, as the reference taggers': a score equal to it is left out
    assert "smile" not in texts(TagStyle(general_threshold=0.4))


def test_mcut_cuts_at_the_widest_gap_and_keeps_characters_above_its_floor():
    assert mcut_threshold([0.9, 0.85, 0.3, 0.2]) == pytest.approx(0.575)
    # general 0.9 | 0.6 0.4 0.36 0.3: the widest gap is after 0.9; characters 0.95 | 0.8
    assert texts(TagStyle(mcut=True)) == ["hatsune miku", "long hair"]
    scores = [0.2, 0.7, 0.05, 0.01, 0.9, 0.88, 0.1, 0.05, 0.02, 0.12, 0.1]
    tags = texts(TagStyle(mcut=True), scores)
    assert tags == ["long hair", "smile"]  # the gap 0.88 -> 0.1; characters' MCut (0.11) is below the floor 0.15


def test_rating_is_left_out_by_default_or_the_top_one_comes_first():
    assert not {"general", "sensitive"} & set(texts())
    assert texts(TagStyle(rating="tag"))[0] == "sensitive"


def test_order_by_category_or_by_confidence():
    style = TagStyle(character_threshold=0.5)  # saber (0.8) scores below long hair (0.9)
    assert texts(style) == ["hatsune miku", "saber \\(fate\\)", "long hair", "^_^", "smile", "sky"]
    by_score = TagStyle(character_threshold=0.5, order="confidence")
    assert texts(by_score) == ["hatsune miku", "long hair", "saber \\(fate\\)", "^_^", "smile", "sky"]


def test_underscores_become_spaces_but_kaomoji_keep_theirs():
    assert "long hair" in texts() and "^_^" in texts()
    kept = texts(TagStyle(underscores=True, character_threshold=0.5))
    assert "long_hair" in kept and "saber_\\(fate\\)" in kept and "hatsune_miku" in kept


def test_parentheses_are_escaped_unless_asked_not_to():
    assert "hat \\(object\\)" in texts(TagStyle(general_threshold=0.2))
    assert "hat (object)" in texts(TagStyle(general_threshold=0.2, escape=False))


def test_weights_write_each_tag_with_its_score():
    tags = select_tags(SCORES, TAGS, TagStyle(weights=True, general_threshold=0.5))
    assert joined(tags, TagStyle(weights=True)) == "(hatsune miku:0.95), (long hair:0.90), (^_^:0.60)"
    assert joined(tags, TagStyle()) == "hatsune miku, long hair, ^_^"


def test_max_tags_keeps_the_most_confident_then_orders_them():
    assert texts(TagStyle(max_tags=3)) == ["hatsune miku", "long hair", "^_^"]
    assert texts(TagStyle(max_tags=2, order="confidence", character_threshold=0.5)) == ["hatsune miku", "long hair"]
    assert len(texts(TagStyle(max_tags=1, rating="tag"))) == 2  # the rating aside


def test_exclusions_match_with_underscores_or_spaces_in_any_case():
    assert "long hair" not in texts(excluded=frozenset({"Long Hair"}))
    assert "long hair" not in texts(excluded=frozenset({"long_hair"}))
    assert "hatsune miku" not in texts(excluded=frozenset({"hatsune miku"}))
    assert len(texts(excluded=frozenset({"hair"}))) == len(texts())  # whole tags only


def test_the_budget_keeps_the_most_confident_tags_in_their_order():
    tags = select_tags(SCORES, TAGS, TagStyle(character_threshold=0.5))  # miku, saber, long hair, ^_^, smile, sky
    words = lambda text: len(text.split())  # noqa: E731  a stand-in tokenizer: one token per word
    kept = fit_tags(tags, TagStyle(), words, 5)
    # by score: miku 0.95 and long hair 0.9 fit (4 words); saber (0.8, 2 words) does not and ends it, so
    # a less confident short tag (^_^) never takes the place of a more confident one
    assert [t.text for t in kept] == ["hatsune miku", "long hair"]
    assert [t.text for t in fit_tags(tags, TagStyle(), words, 6)] == ["hatsune miku", "saber \\(fate\\)", "long hair"]
    assert fit_tags(tags, TagStyle(), words, 100) == tags
    assert fit_tags(tags, TagStyle(), words, 1) == []


@pytest.mark.parametrize(
    "field, value",
    [("general_threshold", 1.5), ("character_threshold", -0.1), ("mcut", "yes"), ("rating", "top"),
     ("order", "alphabetical"), ("max_tags", -1), ("weights", 1)],
)  # fmt: skip
def test_bad_tag_options_are_clear_errors(field, value):
    with pytest.raises(InputError, match=field):
        TagStyle(**{field: value})
