"""What a new user meets on a fresh clone: downloads that cannot be made, the hint for loading
OpenAI's weights from a file, and log lines printed once."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ci_engine import cli, load_clip
from ci_engine.errors import OfflineError
from ci_engine.models import clip_names, hub
from ci_engine.models.clip_names import checkpoint_architecture
from ci_engine.testing import synthetic_images

ROOT = Path(__file__).resolve().parent.parent
Q = "ViT-L-14-quickgelu"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("ViT-L-14/openai", "--clip ViT-L-14-quickgelu --clip-checkpoint FILE"),  # trained with QuickGELU
        ("ViT-B-32/openai", "--clip ViT-B-32-quickgelu --clip-checkpoint FILE"),
        ("ViT-H-14/laion2b_s32b_b79k", "--clip ViT-H-14 --clip-checkpoint FILE"),  # plain GELU
    ],
)
def test_the_offline_hint_names_the_architecture_that_fits_the_weights(tmp_path, name, hint):
    with pytest.raises(OfflineError) as caught:
        load_clip(name, device="cpu", cache_dir=str(tmp_path), allow_download=False)
    assert hint in str(caught.value)


@pytest.mark.parametrize(
    ("place", "arch", "expected"),
    [
        ("ViT-L-14.pt", "ViT-L-14", Q),  # the name OpenAI publishes it under
        ("models--timm--vit_large_patch14_clip_224.openai/snapshots/1/open_clip_model.safetensors", "ViT-L-14", Q),
        ("vit_large_patch14_clip_224.openai/open_clip_model.safetensors", "ViT-L-14", Q),  # a downloaded repo
        ("clip-vit-l-14-openai.safetensors", "ViT-L-14", Q),
        ("ViT-L-14.pt", Q, Q),  # already said
        ("my-finetune.safetensors", "ViT-L-14", "ViT-L-14"),  # nothing says it is OpenAI's
        ("ViT-H-14-laion2b.safetensors", "ViT-H-14", "ViT-H-14"),  # trained with plain GELU
    ],
)
def test_openai_weights_named_with_the_plain_architecture_load_as_quickgelu(tmp_path, caplog, place, arch, expected):
    path = tmp_path / place
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    with caplog.at_level(logging.WARNING, logger="ci_engine"):
        assert checkpoint_architecture(arch, path, None) == (expected, expected)
    assert ("QuickGELU" in caplog.text) == (expected != arch)


def test_openai_weights_are_recognised_by_their_sha256(tmp_path, monkeypatch):
    path = tmp_path / "renamed.safetensors"
    path.write_bytes(b"weights")
    sha = "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836"  # open_clip's for ViT-L-14/openai
    monkeypatch.setattr(clip_names, "file_sha256", lambda p: sha)
    assert checkpoint_architecture("ViT-L-14", path, None)[0] == "ViT-L-14-quickgelu"


def _allow_downloads(monkeypatch) -> None:
    """Downloads on (the conftest's HF_HUB_OFFLINE off), while its socket guard still refuses
    every host but loopback: the network is unreachable, as on a machine without one."""
    import huggingface_hub.constants

    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "_answers", {})  # no answer remembered from another test


@pytest.mark.parametrize("missing", ["clip", "caption-model"])
def test_a_download_without_a_network_fails_at_once_with_what_to_do(model_dir, tmp_path, monkeypatch, capsys, missing):
    _allow_downloads(monkeypatch)
    image = tmp_path / "a.png"
    synthetic_images(1)[0].save(image)
    tiny = ["--clip", "TinyCLIP", "--clip-checkpoint", str(model_dir / "clip" / "TinyCLIP.safetensors")]
    args = {
        "clip": ["--clip", "ViT-B-32/openai", "--caption", "a barn"],
        "caption-model": [*tiny, "--caption-model", "blip-base"],
    }[missing]
    start = time.perf_counter()
    status = cli.main([str(image), *args, "--model-cache", str(tmp_path / "hub"), "--cache-dir", str(tmp_path / "c")])
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err
    assert status == 2 and seconds < 5, (seconds, err)
    assert err.startswith("error: Could not download") and err.count("\n") == 1  # one line
    assert "--offline" in err and "HF_HUB_OFFLINE" in err and "--clip-checkpoint FILE" in err
    assert "Retrying" not in err and "Traceback" not in err
    if missing == "clip":
        assert "--clip ViT-B-32-quickgelu --clip-checkpoint FILE" in err


def test_library_log_lines_are_printed_once(tmp_path):
    """huggingface_hub prints through a handler of its own; the command line's root handler
    printed each of its lines (44 retry lines on a failed download) a second time."""
    code = (
        "import logging; from ci_engine.cli_args import configure_logging; configure_logging(False); "
        "logging.getLogger('huggingface_hub.utils._http').warning('Retrying in 1s [Retry 1/5].'); "
        "logging.getLogger('ci_engine.x').warning('our own warning')"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("Retrying in 1s") == 1 and done.stderr.count("our own warning") == 1


def test_version_prints_the_package_version(capsys):
    from ci_engine.version import __version__

    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out == f"ci_engine {__version__}\n"


@pytest.mark.parametrize("command", ["images", "dataset"])
def test_help_shows_every_default(command):
    import argparse

    from ci_engine import cli_dataset

    parser = cli.build_parser() if command == "images" else cli_dataset.build_parser()
    formatter = parser._get_formatter()
    missing = []
    for action in parser._actions:
        if not action.option_strings or action.default in (None, False, "", [], argparse.SUPPRESS):
            continue
        shown = formatter._expand_help(action) if action.help else ""
        if "default" not in shown or str(action.default) not in shown:
            missing.append(f"{action.option_strings[-1]} (default {action.default})")
    assert missing == []


def test_list_models_aligns_its_columns(capsys):
    assert cli.main(["--list-models"]) == 0
    out = capsys.readouterr().out
    rows = [row for row in out.split("Caption models:\n", 1)[1].splitlines() if row.startswith("  ")]  # taggers too
    columns = {row.index(row.split()[1]) for row in rows}  # where the hub name starts
    assert len(rows) >= 10 and len(columns) == 1
