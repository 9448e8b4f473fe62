"""Every argument is checked before any model loads: online, a late error would come after the
default models' 3.6 GB download. Each case runs the CLI with the model loaders replaced by a
trap, so a case that reaches one fails; and mode caption with ``--caption`` needs no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_engine import cli, cli_args
from ci_engine.target import tokenizer_counter
from ci_engine.testing import synthetic_images


@pytest.fixture
def no_models(monkeypatch):
    """Loading CLIP weights, a caption model or the label tables fails the test."""

    def trap(*args, **kwargs):
        raise AssertionError("a model was loaded before the arguments were checked")

    import open_clip

    for name in ("load_clip", "load_caption_source", "build_vocabulary"):
        monkeypatch.setattr(cli_args, name, trap)
    monkeypatch.setattr(open_clip, "create_model_and_transforms", trap)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("early")
    synthetic_images(1)[0].save(root / "img.png")
    (root / "empty").mkdir()
    (root / "nested" / "sub").mkdir(parents=True)
    synthetic_images(1)[0].save(root / "nested" / "sub" / "deep.png")
    (root / "florence").mkdir()
    (root / "florence" / "config.json").write_text('{"model_type": "florence2"}')
    (root / "florence" / "model.safetensors").write_bytes(b"")  # never read: the family is in config.json
    return root


# case: (arguments, the text the error must hold). T: the tiny CLIP; F/: a file of the fixture;
# M/: a folder of the session's tiny models. A line starting with "dataset" runs that command.
CASES = {
    "target-word": ("F/img.png T --caption x --target abc", "--target must be clip or a number"),
    "target-too-small": ("F/img.png T --caption x --target 4", "too small"),
    "tokenizer-missing": ("F/img.png T --caption x --target 256 --target-tokenizer F/nope", "does not exist"),
    "tokenizer-not-one": ("F/img.png T --caption x --target 256 --target-tokenizer F/empty", "Cannot load a tokenizer"),
    "tokenizer-without-budget": ("F/img.png T --caption x --target-tokenizer M/blip", "give it with --target N"),
    "style-default-blip": ("F/img.png T --caption-style detailed", "not something blip-large (BLIP) can write"),
    "style-registry-name": ("F/img.png T --caption-model git-large-coco --caption-style tags", "(GIT) can write"),
    "style-blip-folder": ("F/img.png T --caption-model M/blip --caption-style detailed", "blip (BLIP) can write"),
    "style-florence-folder": ("F/img.png T --caption-model F/florence --caption-style tags", "(Florence-2) can write"),
    "caption-model-offline": ("F/img.png T --caption-model blip-base --offline", "not available locally"),
    "clip-offline": ("F/img.png --clip ViT-B-32/openai --caption-model M/blip --offline", "not available locally"),
    "dataset-empty": ("dataset F/empty T --caption x", "has no images in it or its subfolders"),
    "dataset-not-recursive": ("dataset F/nested T --caption x --no-recursive", "has no images in it itself"),
    "dataset-target": ("dataset F/nested T --caption x --target lots", "--target must be clip or a number"),
    "dataset-style": ("dataset F/nested T --caption-style detailed", "not something blip-large (BLIP) can write"),
}


def argv(line: str, files: Path, model_dir: Path) -> list[str]:
    clip = model_dir / "clip"
    tiny = ["--clip", "TinyCLIP", "--clip-checkpoint", str(clip / "TinyCLIP.safetensors")]
    out: list[str] = []
    for word in line.split():
        if word == "T":
            out += tiny
        else:
            out.append(word.replace("F/", f"{files}/", 1).replace("M/", f"{model_dir}/", 1))
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_bad_arguments_are_refused_before_any_model_loads(case, files, model_dir, tmp_path, capsys, no_models):
    line, expected = CASES[case]
    status = cli.main([*argv(line, files, model_dir), "--cache-dir", str(tmp_path / "cache")])
    out, err = capsys.readouterr()
    assert status == 2, err
    assert err.startswith("error: ") and expected in err and "Traceback" not in err
    assert out == "" and not (tmp_path / "cache").exists()
    assert not (files / "empty" / "interrogator_manifest.jsonl").exists()


LONG = "a weathered red barn with peeling paint stands at the edge of a golden wheat field under a stormy sky"


@pytest.mark.parametrize("target", ["clip", "12", "12 --target-tokenizer M/blip"])
def test_mode_caption_with_a_caption_loads_no_model(files, model_dir, capsys, no_models, target):
    words = argv(f"F/img.png F/img.png --mode caption --json --target {target}", files, model_dir)
    status = cli.main([*words, "--caption", LONG])  # the default CLIP, which is not here: not needed
    out, err = capsys.readouterr()
    assert status == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 2 and all(r["caption"] == LONG and r["mode"] == "caption" for r in records)
    prompt = records[0]["prompt"]
    if target == "clip":
        assert prompt == LONG
    else:
        assert LONG.startswith(prompt) and len(prompt) < len(LONG)
        if "blip" in target:  # BERT's count standing in for T5's
            assert tokenizer_counter(model_dir / "blip")(prompt) <= 12
        else:  # CLIP's count, from its tokenizer alone: the words and start and end tokens
            assert len(prompt.split()) <= 10
