"""Booru taggers: tiny random-weight WD v3-shaped taggers of each architecture, saved with timm's
own hub-layout writer, loaded through the command line and the engine."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from ci_engine import cli
from ci_engine.models.tagger import Tagger
from ci_engine.models.tagger_load import load_tagger
from ci_engine.testing import synthetic_images
from ci_engine.testing.taggers import TINY_TAGGERS, FixedScores, save_tagger

KINDS = list(TINY_TAGGERS)


@pytest.fixture(scope="session")
def tagger_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("taggers")
    return {kind: save_tagger(root / kind, kind) for kind in KINDS}


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    for i, image in enumerate(synthetic_images(3)):
        image.save(folder / f"img{i}.png")
    return folder


def cli_json(capsys, *args) -> list[dict]:
    assert cli.main([*map(str, args), "--offline", "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("kind", KINDS)
def test_each_architecture_tags_through_the_command_line_a_batch_as_each_image_alone(
    kind, tagger_dirs, pictures, capsys
):
    images = sorted(pictures.glob("*.png"))
    batch = cli_json(capsys, *images, "--caption-model", tagger_dirs[kind])
    alone = [cli_json(capsys, image, "--caption-model", tagger_dirs[kind])[0] for image in images]
    again = cli_json(capsys, *images, "--caption-model", tagger_dirs[kind])
    assert [r["prompt"] for r in batch] == [r["prompt"] for r in alone] == [r["prompt"] for r in again]
    assert all(r["mode"] == "caption" and r["tags"] for r in batch)  # a tagger's default mode gives its tags
    for one, single in zip(batch, alone):
        assert [t for t, _ in one["tags"]] == [t for t, _ in single["tags"]]
        np.testing.assert_allclose([s for _, s in one["tags"]], [s for _, s in single["tags"]], atol=1e-4)
    assert len({r["prompt"] for r in batch}) > 1  # the images differ, so do their tags


def test_json_rows_carry_each_tags_score_and_the_prompt_is_the_tags(tagger_dirs, pictures, capsys):
    (row,) = cli_json(capsys, pictures / "img0.png", "--caption-model", tagger_dirs["vit"], "--rating", "tag")
    assert row["prompt"] == ", ".join(tag for tag, _ in row["tags"])
    assert row["tags"][0][0] in ("general", "sensitive", "questionable", "explicit")
    assert all(0.0 <= score <= 1.0 for _, score in row["tags"])
    tagger = load_tagger(str(tagger_dirs["vit"]), device="cpu")
    scores = tagger.scores([Image.open(pictures / "img0.png")])[0]
    by_name = dict(zip(tagger.tagset.names, scores.tolist()))
    assert row["tags"][1][1] == pytest.approx(by_name[row["tags"][1][0].replace(" ", "_")], abs=1e-4)


def test_mode_caption_with_a_tagger_loads_no_clip_weights(tagger_dirs, pictures, capsys, monkeypatch):
    from ci_engine import cli_args

    monkeypatch.setattr(cli_args, "load_clip", lambda *a, **k: pytest.fail("CLIP's weights were loaded"))
    (row,) = cli_json(capsys, pictures / "img0.png", "--caption-model", tagger_dirs["vit"])
    assert row["tags"]


def preprocess_with(mean, std, size) -> Tagger:
    from ci_engine.tags.select import TagSet

    config = {"input_size": (3, size, size), "mean": mean, "std": std}
    return Tagger(FixedScores([0.5]), TagSet(("x",), (0,)), "fixed", config)


def test_preprocessing_composites_on_white_pads_square_keeps_bgr_and_the_configs_mean_and_std():
    rgba = np.zeros((2, 4, 4), np.uint8)  # 2 rows, 4 columns
    rgba[0, :, :] = (200, 100, 50, 255)
    rgba[1, :, :] = (10, 20, 30, 0)  # transparent: white after compositing
    rgba[1, 0, :] = (10, 20, 30, 255)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.125)
    pixels = preprocess_with(mean, std, 4).pixels(Image.fromarray(rgba, "RGBA")).numpy()
    expected = np.full((4, 4, 3), 255.0)  # white square, the image centred: rows 1 and 2
    expected[1, :, :] = (200, 100, 50)
    expected[2, :, :] = 255.0
    expected[2, 0, :] = (10, 20, 30)
    expected = (expected / 255.0 - np.array(mean)) / np.array(std)
    np.testing.assert_allclose(pixels, expected[:, :, ::-1].transpose(2, 0, 1), atol=1e-6)  # BGR, channels first


def test_preprocessing_resizes_bicubic_to_the_models_input_size():
    image = Image.fromarray(np.random.RandomState(0).randint(0, 255, (6, 6, 3), np.uint8))
    pixels = preprocess_with((0.5,) * 3, (0.5,) * 3, 16).pixels(image).numpy()
    assert pixels.shape == (3, 16, 16)
    for method, same in ((Image.BICUBIC, True), (Image.BILINEAR, False)):
        reference = np.asarray(image.resize((16, 16), method), np.float32)[:, :, ::-1] / 255.0
        assert np.allclose(pixels, (reference.transpose(2, 0, 1) - 0.5) / 0.5, atol=1e-6) is same


def test_a_grayscale_or_palette_image_is_tagged_like_its_rgb(tagger_dirs):
    tagger = load_tagger(str(tagger_dirs["convnext"]), device="cpu")
    rgb = synthetic_images(1)[0]
    for mode in ("L", "P"):
        other = rgb.convert(mode)
        torch.testing.assert_close(tagger.pixels(other), tagger.pixels(other.convert("RGB")))


def test_tag_options_reach_the_tags(tagger_dirs, pictures, capsys):
    base = [pictures / "img1.png", "--caption-model", tagger_dirs["vit"]]
    plain = cli_json(capsys, *base)[0]["tags"]
    weighted = cli_json(capsys, *base, "--tag-weights", "--max-tags", "2", "--keep-underscores")[0]
    top = sorted(plain, key=lambda row: -row[1])[:2]
    assert {tag for tag, _ in weighted["tags"]} == {tag.replace(" ", "_") for tag, _ in top}
    assert all(part.startswith("(") and part.endswith(")") for part in weighted["prompt"].split(", "))
    strict = cli_json(capsys, *base, "--general-threshold", "0.95", "--character-threshold", "0.99")[0]
    assert len(strict["tags"]) < len(plain)


def test_a_known_name_loads_from_the_hub_cache_at_its_pinned_commit(tagger_dirs, pictures, tmp_path, capsys):
    from ci_engine.models.registry import TAGGER_MODELS

    spec = TAGGER_MODELS["wd-vit-tagger-v3"]
    repo = tmp_path / "models--SmilingWolf--wd-vit-tagger-v3"
    shutil.copytree(tagger_dirs["vit"], repo / "snapshots" / spec.revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)  # main moved on: the pinned commit is still the one used
    args = [pictures / "img0.png", "--caption-model", "wd-vit-tagger-v3", "--model-cache", tmp_path]
    by_name = cli_json(capsys, *args)
    by_folder = cli_json(capsys, pictures / "img0.png", "--caption-model", tagger_dirs["vit"])
    assert by_name[0]["prompt"] == by_folder[0]["prompt"]
