"""Bad command lines: each gives one ``error: …`` line and exit status 2, prints nothing on
stdout, and writes nothing (no cache folder, no stray file). Rows of docs/robustness.md.

The CLI's ``main`` runs in this process (as ``python -m ci_engine`` calls it): a subprocess per
case would cost seconds each; test_cli.py covers the real process and its exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_engine import cli
from ci_engine.testing import synthetic_images


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Inputs for the cases: a good image, broken images, label lists and configs."""
    root = tmp_path_factory.mktemp("bad_cli")
    synthetic_images(1)[0].save(root / "img.png")
    (root / "zero.png").write_bytes(b"")
    (root / "text.png").write_text("hello")
    (root / "cut.png").write_bytes((root / "img.png").read_bytes()[:300])  # header fine, pixels cut
    (root / "latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    (root / "blank.txt").write_text("\n  \n")
    (root / "two.txt").write_text("red\nblue\n")
    (root / "bad.json").write_text("{not json")
    (root / "other.json").write_text('{"hello": 1}')
    (root / "empty.safetensors").write_bytes(b"")
    (root / "folder").mkdir()
    (root / "caption_unknown").mkdir()
    (root / "caption_unknown" / "config.json").write_text('{"model_type": "llama"}')
    return root


def tiny(model_dir: Path) -> list[str]:
    clip = model_dir / "clip"
    return [
        "--clip",
        "TinyCLIP",
        "--clip-config",
        str(clip / "TinyCLIP.json"),
        "--clip-checkpoint",
        str(clip / "TinyCLIP.safetensors"),
    ]


# case: (arguments after the good image, or the whole line when it starts with "/"; the text the
# error must hold). T: the tiny CLIP's arguments; CFG: its config; F/: a file of the fixture.
CASES = {
    "max-flavors-negative": ("T --caption x --max-flavors -5", "max_flavors must be 0 or more"),
    "batch-size-zero": ("T --caption x --batch-size 0", "text_batch_size must be at least 1"),
    "threads-zero": ("T --caption x --threads 0", "--threads must be at least 1"),
    "unknown-table": ("T --caption x --tables nope", "Unknown tables ['nope']"),
    "no-table": ("T --caption x --tables ,", "Every label table is switched off"),
    "labels-missing": ("T --caption x --labels F/none.txt", "Cannot read label list"),
    "labels-not-utf8": ("T --caption x --labels F/latin1.txt", "is not UTF-8 text"),
    "labels-folder": ("T --caption x --labels F/folder", "Is a directory"),
    "labels-blank": ("T --caption x --labels F/blank.txt", "has no labels"),
    "exclude-missing": ("T --caption x --exclude F/none.txt", "Cannot read label list"),
    "exclude-not-utf8": ("T --caption x --exclude F/latin1.txt", "is not UTF-8 text"),
    "compat-labels": ("T --caption x --compat 0.6 --labels F/two.txt", "leave the extra label lists out"),
    "compat-tables": ("T --caption x --compat 0.6 --tables mediums", "turn table toggles and exclusions off"),
    "compat-exclude": ("T --caption x --compat 0.6 --exclude F/two.txt", "turn table toggles and exclusions off"),
    "config-missing": (
        "--caption x --clip-config F/none.json --clip-checkpoint F/empty.safetensors",
        "Cannot read CLIP config",
    ),
    "config-not-json": (
        "--caption x --clip-config F/bad.json --clip-checkpoint F/empty.safetensors",
        "Cannot read CLIP config",
    ),
    "config-not-a-model": (
        "--caption x --clip-config F/other.json --clip-checkpoint F/empty.safetensors",
        "is not an open_clip model config",
    ),
    "checkpoint-folder": ("--caption x --clip TinyCLIP --clip-checkpoint F/folder", "is a folder"),
    "checkpoint-empty": (
        "--caption x --clip TinyCLIP --clip-config CFG --clip-checkpoint F/empty.safetensors",
        "not a readable .safetensors file",
    ),
    "checkpoint-no-architecture": ("--caption x --clip-checkpoint F/empty.safetensors", "No architecture for"),
    "checkpoint-suffix": (
        "--caption x --clip TinyCLIP --clip-checkpoint F/bad.json",
        "is not a .safetensors/.pt/.pth/.bin file",
    ),
    "clip-without-weights": ("--caption x --clip ViT-B-32", "needs weights"),
    "clip-unknown-tag": ("--caption x --clip ViT-B-32/nottag", "Unknown CLIP weights 'ViT-B-32/nottag'"),
    "caption-model-unknown": ("T --caption-model blip-huge", "Unknown caption model 'blip-huge'"),
    "caption-model-empty-folder": ("T --caption-model F/folder", "not a Hugging Face model folder"),
    "caption-model-unsupported": ("T --caption-model F/caption_unknown", "supported: blip, blip-2, git"),
    "caption-model-offline": ("T --caption-model blip-base --offline", "not available locally"),
    "device-absent": ("T --caption x --device cuda:99", "CUDA GPU"),  # none here; 99 on a GPU machine
    "device-unknown": ("T --caption x --device tpu9", "Unknown device 'tpu9'"),
    "image-empty-file": ("/F/zero.png T --caption x", "Cannot read image"),
    "image-not-an-image": ("/F/text.png T --caption x", "Cannot read image"),
    "image-cut-short": ("/F/cut.png T --caption x --mode fast", "the file is damaged"),
    "no-images": ("/T --caption x", "No images given"),
}


def argv(line: str, files: Path, model_dir: Path) -> list[str]:
    words = line.split()
    words = words if line.startswith("/") else ["/F/img.png", *words]
    out: list[str] = []
    for word in words:
        word = word.removeprefix("/")
        if word in ("T", "CFG"):
            out += tiny(model_dir) if word == "T" else [str(model_dir / "clip" / "TinyCLIP.json")]
        else:
            out.append(word.replace("F/", f"{files}/", 1))
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_bad_command_line_is_one_clear_error(case, files, model_dir, tmp_path, capsys):
    line, expected = CASES[case]
    before = sorted(files.rglob("*"))
    status = cli.main([*argv(line, files, model_dir), "--cache-dir", str(tmp_path / "cache")])
    out, err = capsys.readouterr()
    assert status == 2, err
    assert err.startswith("error: ") and expected in err and "Traceback" not in err
    assert out == ""
    assert not (tmp_path / "cache").exists() and sorted(files.rglob("*")) == before
