"""A tagger folder that cannot be used, and options that do not fit the caption source: one
clear error each, before any model loads."""

from __future__ import annotations

import shutil

import pytest
from test_cli import tiny_model_args

from ci_engine import cli
from ci_engine.errors import InputError
from ci_engine.models.tagger_load import load_tagger
from ci_engine.testing import synthetic_images
from ci_engine.testing.taggers import save_tagger


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return save_tagger(tmp_path_factory.mktemp("good") / "tagger", "vit")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("image") / "a.png"
    synthetic_images(1)[0].save(path)
    return path


def broken(good, tmp_path, change) -> str:
    folder = tmp_path / "broken"
    shutil.copytree(good, folder)
    change(folder)
    return str(folder)


def onnx_only(folder):
    (folder / "model.safetensors").rename(folder / "model.onnx")


def pickle_only(folder):
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")


def rows_missing(folder):
    lines = (folder / "selected_tags.csv").read_text().splitlines()
    (folder / "selected_tags.csv").write_text("\n".join(lines[:-2]) + "\n")


def unknown_category(folder):
    text = (folder / "selected_tags.csv").read_text()
    (folder / "selected_tags.csv").write_text(text.replace(",smile,0,", ",smile,3,"))


CASES = {
    "onnx-only": (onnx_only, r"has only model.onnx.*needs model.safetensors"),
    "pickle-only": (pickle_only, r"only pickled weights \(pytorch_model.bin\).*needs model.safetensors"),
    "csv-rows": (rows_missing, r"selected_tags.csv lists 14 tags but the model has 16 outputs"),
    "category": (unknown_category, r"selected_tags.csv line \d+: tag 'smile' has category '3'"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_tagger_folder_is_one_clear_error_before_loading(case, good, tmp_path, image, capsys, monkeypatch):
    change, message = CASES[case]
    folder = broken(good, tmp_path, change)
    with pytest.raises(InputError, match=message):
        load_tagger(folder, device="cpu")
    import timm

    monkeypatch.setattr(timm, "create_model", lambda *a, **k: pytest.fail("the model was built"))
    assert cli.main([str(image), "--caption-model", folder, "--offline"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert folder in err


def test_a_caption_style_on_a_tagger_and_tag_options_on_a_caption_model_are_errors(good, image, model_dir, capsys):
    assert cli.main([str(image), "--caption-model", str(good), "--caption-style", "detailed", "--offline"]) == 2
    assert "is a tagger: it writes booru tags, not a 'detailed' caption" in capsys.readouterr().err
    tiny = tiny_model_args(model_dir)
    args = [image, *tiny, "--caption-model", model_dir / "blip", "--mode", "caption", "--max-tags", "3", "--offline"]
    assert cli.main([str(a) for a in args]) == 2
    assert "Tag options (thresholds, rating, order, weights) are for taggers" in capsys.readouterr().err


def test_an_unknown_short_name_lists_the_taggers(image, model_dir, capsys):
    tiny = tiny_model_args(model_dir)
    assert cli.main([str(a) for a in [image, *tiny, "--caption-model", "wd-nope-tagger-v3", "--offline"]]) == 2
    assert "wd-eva02-large-tagger-v3" in capsys.readouterr().err


def test_a_known_tagger_offline_and_not_cached_says_where_it_looked(image, tmp_path, capsys):
    args = [str(image), "--caption-model", "wd-vit-tagger-v3", "--offline", "--model-cache", str(tmp_path)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "Model 'wd-vit-tagger-v3' is not available locally" in err and "SmilingWolf/wd-vit-tagger-v3" in err
