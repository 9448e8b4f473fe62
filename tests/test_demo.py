"""``python -m ci_engine demo``: the whole job offline with tiny models built once into the
user's cache (here a temporary XDG_CACHE_HOME) and reused after."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_engine import cli
from ci_engine.testing import demo, synthetic_images


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory) -> Path:
    """One user cache for the module: the first test builds the models, the next reuse them."""
    home = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(home))
        yield home


def prompts(out: str) -> dict[str, str]:
    lines = out.splitlines()
    return {line[3:]: lines[i + 1] for i, line in enumerate(lines) if line.startswith("== ")}


def test_the_demo_builds_its_models_once_and_prints_prompts_offline(cache_home, capsys, monkeypatch):
    assert cli.main(["demo"]) == 0
    first = capsys.readouterr().out
    folder = cache_home / "ci_engine" / "demo"
    assert (folder / "models" / demo.READY).is_file() and list((folder / "embeds").glob("*.safetensors"))
    assert len(prompts(first)) == demo.DEMO_IMAGES and all(prompts(first).values())
    assert "random-weight" in first and "python -m ci_engine photo.jpg" in first

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the demo built its models again")

    monkeypatch.setattr(demo, "save_clip", no_rebuild)
    monkeypatch.setattr(demo, "save_blip", no_rebuild)
    assert cli.main(["demo"]) == 0
    assert prompts(capsys.readouterr().out) == prompts(first)  # the same models, greedy: the same prompts


def test_the_demo_interrogates_the_images_it_is_given(cache_home, tmp_path, capsys):
    image = tmp_path / "mine.png"
    synthetic_images(1, seed=7)[0].save(image)
    assert cli.main(["demo", str(image)]) == 0
    assert list(prompts(capsys.readouterr().out)) == [str(image)]
    assert cli.main(["demo", str(tmp_path / "nope.png")]) == 2
    assert capsys.readouterr().err.startswith("error: Image")


def test_an_unfinished_build_is_never_used(tmp_path, monkeypatch):
    def fake_model(folder: Path, *args) -> None:
        folder.mkdir(parents=True)
        (folder / "weights").write_text("new")

    monkeypatch.setattr(demo, "save_clip", fake_model)
    monkeypatch.setattr(demo, "save_blip", fake_model)
    monkeypatch.setattr(demo, "write_vocab_subset", fake_model)
    models = tmp_path / "models"
    (models / "clip").mkdir(parents=True)
    (models / "clip" / "weights").write_text("old")  # a folder without READY: an older or interrupted build
    assert demo.demo_models(tmp_path) == models and (models / demo.READY).is_file()
    assert (models / "clip" / "weights").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["models"]  # no temporary folder left
    monkeypatch.setattr(demo, "save_clip", None)  # a finished build is reused as it is
    assert demo.demo_models(tmp_path) == models


def test_an_unwritable_cache_is_one_clear_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file where the folder should be
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The demo cannot write its models") and "XDG_CACHE_HOME" in err
