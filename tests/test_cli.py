"""The command line, run as users run it: a subprocess, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci_engine.testing import synthetic_images

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, model_dir, full_tables_cache):
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(full_tables_cache, root / "c")  # the label tables, built once per session
    for i, image in enumerate(synthetic_images(2)):
        image.save(root / f"img{i}.png")
    return root


def run_cli(*args, home: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(home / "hf")}
    return subprocess.run(
        [sys.executable, "-m", "ci_engine", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=timeout,
    )


def tiny_model_args(model_dir: Path) -> list:
    clip = model_dir / "clip"
    return [
        "--clip",
        "TinyCLIP",
        "--clip-config",
        clip / "TinyCLIP.json",
        "--clip-checkpoint",
        clip / "TinyCLIP.safetensors",
    ]


def test_offline_random_weight_models_print_json(workdir, model_dir):
    args = [workdir / "img0.png", *tiny_model_args(model_dir), "--caption-model", model_dir / "blip"]
    result = run_cli(*args, "--mode", "best", "--compat", "0.6", "--json", "--cache-dir", workdir / "c", home=workdir)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip())
    assert record["mode"] == "best" and record["image"].endswith("img0.png")
    assert record["prompt"].startswith(record["caption"]) and record["seconds"] > 0
    assert "Traceback" not in result.stderr


def test_folder_expands_to_its_images(workdir, model_dir):
    args = [workdir, *tiny_model_args(model_dir), "--caption", "a barn", "--mode", "fast", "--json"]
    result = run_cli(*args, "--cache-dir", workdir / "c", home=workdir)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["image"]).name for r in records] == ["img0.png", "img1.png"]
    assert all(r["prompt"].startswith("a barn, ") for r in records)


def test_corrupt_cache_is_silently_recomputed(workdir, model_dir):
    cache = workdir / "corrupt"
    shutil.copytree(workdir / "c", cache)
    args = [workdir / "img0.png", *tiny_model_args(model_dir), "--caption", "a barn", "--mode", "classic"]
    first = run_cli(*args, "--cache-dir", cache, home=workdir)
    for path in cache.glob("*.safetensors"):  # all but the two big tables, quick to recompute
        if not path.stem.endswith(("_flavors", "_artists")):
            path.write_bytes(path.read_bytes()[:100])
    second = run_cli(*args, "--cache-dir", cache, home=workdir)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert "Traceback" not in second.stderr and "error" not in second.stderr.lower()


def _bad_image(root: Path) -> Path:
    path = root / "broken.png"
    path.write_bytes(b"\x89PNG not really")
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown-model", "Unknown CLIP architecture 'ViT-Q-99'"),
        ("missing-checkpoint", "does not exist"),
        ("unreadable-image", "Cannot read image"),
        ("empty-folder", "has no images"),
        ("hub-offline", "not available locally"),
        ("missing-image", "does not exist"),
        ("empty-caption", "--caption is empty"),  # said before any model loads (this one is not local)
    ],
)
def test_errors_are_one_clear_message(workdir, model_dir, case, expected):
    empty = workdir / "empty"
    empty.mkdir(exist_ok=True)
    image = workdir / "img0.png"
    args = {
        "unknown-model": [image, "--clip", "ViT-Q-99/openai", "--caption", "x"],
        "missing-checkpoint": [image, "--clip", "TinyCLIP", "--clip-checkpoint", workdir / "nope.safetensors"],
        "unreadable-image": [_bad_image(workdir), "--caption", "x"],
        "empty-folder": [empty, "--caption", "x"],
        "hub-offline": [image, "--clip", "ViT-B-32/openai", "--caption", "x"],
        "missing-image": [workdir / "nope.png"],
        "empty-caption": [image, "--caption", "", "--clip", "ViT-B-32/openai"],
    }[case]
    result = run_cli(*args, home=workdir)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_decompression_bomb_is_one_clear_error(workdir):
    import struct
    import zlib

    bomb = workdir / "bomb.png"
    data = bytearray((workdir / "img0.png").read_bytes())
    ihdr = data.index(b"IHDR")  # a header that claims 20000 x 10000 pixels
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", 20000, 10000)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    bomb.write_bytes(bytes(data))
    result = run_cli(bomb, "--caption", "x", home=workdir)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: Image") and "too large to open safely" in result.stderr


def test_a_chat_caption_model_folder_with_a_style(workdir, model_dir):
    from ci_engine.testing import save_caption_model

    folder = save_caption_model("qwen2.5-vl", workdir / "qwen")
    args = [workdir / "img0.png", *tiny_model_args(model_dir), "--caption-model", folder, "--caption-style", "detailed"]
    result = run_cli(
        *args, "--caption-tokens", "8", "--mode", "fast", "--json", "--cache-dir", workdir / "c", home=workdir
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip())
    assert 0 < len(record["caption"].split()) <= 8 and record["prompt"].startswith(record["caption"])
