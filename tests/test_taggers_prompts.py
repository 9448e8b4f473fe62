"""Tags in every mode: the tags where the caption goes, CLIP's labels after them, fitted to
the text encoder's budget by confidence; and tag sidecars for datasets."""

from __future__ import annotations

import json

import pytest
import torch

from ci_engine import Interrogator, Settings, cli
from ci_engine.models.tagger import Tagger
from ci_engine.models.tagger_load import load_tagger
from ci_engine.tags.select import TagSet
from ci_engine.tags.style import TagStyle
from ci_engine.target import Target, clip_counter
from ci_engine.testing import synthetic_images
from ci_engine.testing.taggers import FixedScores, save_tagger

MANY = 120  # general tags, more than CLIP's window holds


@pytest.fixture(scope="module")
def many_tags() -> Tagger:
    """A tagger whose scores fall from 0.99 over ``MANY`` two-word general tags (in a shuffled
    order, so the model's order is not the scores')."""
    order = torch.randperm(MANY, generator=torch.Generator().manual_seed(0)).tolist()
    scores = [0.99 - 0.005 * rank for rank in order]
    tagset = TagSet(tuple(f"tag_{i:03d} word" for i in range(MANY)), (0,) * MANY)
    return Tagger(FixedScores(scores), tagset, "many", {"input_size": (3, 8, 8)})


@pytest.fixture(scope="module")
def vit_tagger(tmp_path_factory):
    return load_tagger(str(save_tagger(tmp_path_factory.mktemp("t") / "vit", "vit")), device="cpu")


def tokens_of(text, clip) -> int:
    return len(clip.tokens.encode(text)) + 2


def kept_scores(result) -> list[float]:
    return [score for _, score in result.tags]


@pytest.mark.parametrize("budget", [None, 256])
def test_the_most_confident_tags_that_fit_the_budget_are_kept_in_their_order(many_tags, clip, budget):
    target = None if budget is None else Target(budget, clip_counter(clip.tokens))
    ci = Interrogator(clip, many_tags, Settings(), target=target)
    (result,) = ci.run("caption", synthetic_images(1))
    limit = budget or 77  # None: CLIP's window, counted by CLIP's tokenizer
    kept = result.prompt.split(", ")
    assert tokens_of(result.prompt, clip) <= limit < tokens_of(result.caption, clip)
    all_tags = dict(result.tags)
    top = sorted(all_tags, key=lambda tag: -all_tags[tag])[: len(kept)]
    assert sorted(kept) == sorted(top)  # the most confident ones
    assert kept == [tag for tag in result.caption.split(", ") if tag in kept]  # in the tags' own order
    assert len(kept) > (20 if budget else 5)


def test_fast_classic_and_best_put_the_tags_first_then_clips_labels(vit_tagger, clip, vocab, cache, small_settings):
    ci = Interrogator(clip, vit_tagger, Settings(**small_settings), vocab=vocab, cache=cache)
    images = synthetic_images(2)
    tags = [r.prompt for r in ci.run("caption", images)]
    for mode in ("fast", "classic", "best"):
        for tagged, result in zip(tags, ci.run(mode, images)):
            assert result.caption == tagged and result.tags
            assert result.prompt.startswith(tagged) and result.prompt != tagged, mode
            assert tokens_of(result.prompt, clip) <= 77


def test_table_toggles_still_apply_so_tags_and_mediums_alone_is_possible(
    vit_tagger, clip, vocab, cache, small_settings
):
    only_mediums = Settings(**small_settings, enabled_tables=frozenset({"mediums"}))
    ci = Interrogator(clip, vit_tagger, only_mediums, vocab=vocab, cache=cache)
    (result,) = ci.run("fast", synthetic_images(1))
    labels = result.prompt[len(result.caption) :].lstrip(", ").split(", ")
    assert labels and set(labels) <= set(vocab.labels["mediums"])


def test_negative_ignores_the_tagger_and_analyze_shows_its_tags_first(vit_tagger, clip, vocab, cache, small_settings):
    settings = Settings(**small_settings)
    images = synthetic_images(1)
    with_tagger = Interrogator(clip, vit_tagger, settings, vocab=vocab, cache=cache)
    without = Interrogator(clip, None, settings, vocab=vocab, cache=cache)
    assert with_tagger.run("negative", images)[0].prompt == without.run("negative", images)[0].prompt
    (analysis,) = with_tagger.run("analyze", images)
    assert list(analysis.analysis)[0] == "tags" and analysis.analysis["tags"] == analysis.tags


def test_exclusions_remove_tags_as_they_remove_labels(vit_tagger, clip):
    (plain,) = Interrogator(clip, vit_tagger, Settings()).run("caption", synthetic_images(1))
    first = plain.tags[0][0]
    excluded = Settings(exclusions=frozenset({first.replace(" ", "_")}))
    (result,) = Interrogator(clip, vit_tagger, excluded).run("caption", synthetic_images(1))
    assert first not in dict(result.tags) and len(result.tags) == len(plain.tags) - 1


def test_compat_takes_no_tagger(vit_tagger, clip):
    with pytest.raises(Exception, match="Compat mode reproduces upstream's captions"):
        Interrogator(clip, vit_tagger, Settings(compat=True))


@pytest.fixture
def dataset(tmp_path):
    for i, image in enumerate(synthetic_images(3)):
        (tmp_path / "sub").mkdir(exist_ok=True)
        image.save(tmp_path / ("sub" if i == 2 else ".") / f"img{i}.png")
    return tmp_path


def run_dataset(folder, tagger, *extra) -> str:
    argv = ["dataset", str(folder), "--caption-model", str(tagger), "--offline", "--prefix", "ohwx, ", *extra]
    assert cli.main(argv) == 0
    return (folder / "img0.txt").read_text(encoding="utf-8")


def test_dataset_writes_tag_sidecars_trigger_words_first_and_retags_when_a_threshold_changes(
    dataset, tmp_path_factory, capsys
):
    tagger = save_tagger(tmp_path_factory.mktemp("d") / "vit", "vit")
    first = run_dataset(dataset, tagger)
    assert first.startswith("ohwx, ") and first.endswith("\n") and ",," not in first
    assert (dataset / "sub" / "img2.txt").is_file()
    assert "3 written" in capsys.readouterr().out
    # --on-existing overwrite replaces sidecars made with other settings, and only those
    assert run_dataset(dataset, tagger, "--on-existing", "overwrite") == first
    assert "0 written, 3 skipped" in capsys.readouterr().out  # resumed: nothing changed
    stricter = run_dataset(dataset, tagger, "--on-existing", "overwrite", "--general-threshold", "0.9")
    assert "3 written" in capsys.readouterr().out  # the tag options are in the settings hash
    assert len(stricter.split(", ")) < len(first.split(", "))
    rows = [json.loads(line) for line in (dataset / "interrogator_manifest.jsonl").read_text().splitlines()]
    assert {row["prompt"] for row in rows if row["path"] == "img0.png"} >= {stricter.strip()[len("ohwx, ") :]}


def test_default_tag_options_keep_the_settings_hash_of_runs_before_taggers():
    from dataclasses import asdict

    assert "tag_style" in asdict(Settings())
    assert TagStyle() == Settings().tag_style  # the dataset hash leaves a default tag style out (see work.py)
