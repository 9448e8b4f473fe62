"""Label tables as upstream builds them, plus this project's and the user's lists."""

from __future__ import annotations

import pytest

from ci_engine.errors import InputError
from ci_engine.vocab import (
    add_custom_table,
    build_vocabulary,
    is_excluded,
    load_list,
    parse_exclusions,
    upstream_data_dir,
)


def test_upstream_lists_come_from_the_installed_package():
    import clip_interrogator

    folder = upstream_data_dir()
    assert (folder / "flavors.txt").is_file()
    assert load_list(folder / "flavors.txt") == clip_interrogator.load_list(str(folder), "flavors.txt")


def test_tables_are_built_as_upstream_builds_them():
    vocab = build_vocabulary(compat=True)
    raw = load_list(upstream_data_dir() / "artists.txt")
    assert vocab.labels["artists"] == [f"by {a}" for a in raw] + [f"inspired by {a}" for a in raw]
    trendings = vocab.labels["trendings"]
    assert len(trendings) == 72 and trendings[:2] == ["Artstation", "behance"]
    assert "trending on dribble" in trendings and "featured on zbrush central" in trendings
    assert trendings[-1] == "zbrush central contest winner"


def test_default_spells_dribbble_and_keeps_its_cache_apart():
    vocab = build_vocabulary(compat=False)
    assert "trending on dribbble" in vocab.labels["trendings"]
    assert vocab.cache_keys["trendings"] != "trendings"
    assert vocab.cache_keys["flavors"] == "flavors"  # shared with upstream's caches


def test_custom_list_becomes_a_table(tmp_path):
    path = tmp_path / "my styles.v2.txt"
    path.write_text("glitch art\n\nvaporwave\n", encoding="utf-8")
    vocab = build_vocabulary(extra_lists=(path,))
    assert vocab.labels["custom-my styles_v2"] == ["glitch art", "vaporwave"]
    assert vocab.custom == ["custom-my styles_v2"]


def test_empty_or_missing_custom_list_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    vocab = build_vocabulary()
    with pytest.raises(InputError, match="no labels"):
        add_custom_table(vocab, empty)
    with pytest.raises(InputError, match="Cannot read label list"):
        add_custom_table(vocab, tmp_path / "missing.txt")


def test_exclusions_match_labels_and_artists():
    excluded = parse_exclusions("Greg Rutkowski, trending on artstation\n  bad ART ")
    assert excluded == {"greg rutkowski", "trending on artstation", "bad art"}
    assert is_excluded("by Greg Rutkowski", excluded)
    assert is_excluded("inspired by greg rutkowski", excluded)
    assert is_excluded("Bad Art", excluded)
    assert not is_excluded("by Greg Hildebrandt", excluded)
