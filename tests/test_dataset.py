"""Dataset captioning from the command line: sidecars, the manifest, resume, the policies for
sidecars already there, and bad images (skipped, each with an error row)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ci_engine import CacheSettings, Interrogator, Settings, cli, load_clip
from ci_engine.images import load_image
from ci_engine.testing import make_dataset

PREFIX, SUFFIX = "ohwx", "best quality"


@pytest.fixture(scope="module")
def embeds(full_tables_cache) -> Path:
    return full_tables_cache  # label tables built once for the session


def tiny(model_dir: Path, embeds: Path) -> list[str]:
    checkpoint = str(model_dir / "clip" / "TinyCLIP.safetensors")
    return ["--clip", "TinyCLIP", "--clip-checkpoint", checkpoint, "--cache-dir", str(embeds)]


def dataset(folder: Path, *extra: str, model_dir: Path, embeds: Path, capsys) -> tuple[int, str]:
    args = ["dataset", str(folder), *tiny(model_dir, embeds), "--mode", "fast", "--caption", "a photo"]
    status = cli.main([*args, "--prefix", PREFIX, "--suffix", SUFFIX, *extra])  # later flags win
    return status, capsys.readouterr().out.strip()


def manifest_rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "interrogator_manifest.jsonl").read_text().splitlines()]


def test_every_good_image_gets_its_prompt_and_bad_ones_an_error_row(tmp_path, model_dir, embeds, capsys):
    good = make_dataset(tmp_path, 15)
    status, out = dataset(tmp_path, model_dir=model_dir, embeds=embeds, capsys=capsys)
    assert status == 0 and out.startswith("12 written, 0 skipped, 3 failed")
    assert sorted(tmp_path.rglob("*.txt")) == sorted(p.with_suffix(".txt") for p in good)
    rows = manifest_rows(tmp_path)
    assert len(rows) == 15 and sum(bool(r["error"]) for r in rows) == 3
    assert {r["path"] for r in rows if not r["error"]} == {p.relative_to(tmp_path).as_posix() for p in good}
    clip = load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors")
    engine = Interrogator(clip, None, Settings(), cache=CacheSettings(embeds))
    for path in good[:3]:
        prompt = engine.run("fast", [load_image(path)], "a photo")[0].prompt
        assert path.with_suffix(".txt").read_text() == f"{PREFIX}, {prompt}, {SUFFIX}\n"


def test_a_rerun_skips_what_is_done_and_retries_only_the_failures(tmp_path, model_dir, embeds, capsys):
    make_dataset(tmp_path, 15)
    dataset(tmp_path, model_dir=model_dir, embeds=embeds, capsys=capsys)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.txt")}
    status, out = dataset(tmp_path, model_dir=model_dir, embeds=embeds, capsys=capsys)
    assert status == 0 and out.startswith("0 written, 12 skipped, 3 failed")
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.txt")} == before
    assert len(manifest_rows(tmp_path)) == 15  # one row per image, not one per run


def test_existing_sidecars_are_kept_replaced_or_appended_to(tmp_path, model_dir, embeds, capsys):
    make_dataset(tmp_path, 4, bad=0)
    mine = tmp_path / "img00000.txt"
    mine.write_text("my own words\n")
    run = dataset  # each policy twice: the second run must change nothing
    assert run(tmp_path, model_dir=model_dir, embeds=embeds, capsys=capsys)[1].startswith("3 written, 1 skipped")
    assert mine.read_text() == "my own words\n"
    made = (tmp_path / "a" / "img00001.txt").read_text()
    run(tmp_path, "--on-existing", "append", model_dir=model_dir, embeds=embeds, capsys=capsys)
    once = mine.read_text()
    assert once.startswith("my own words, ohwx, a photo, ") and once.endswith(f", {SUFFIX}\n")
    assert run(tmp_path, "--on-existing", "append", model_dir=model_dir, embeds=embeds, capsys=capsys)[1].startswith(
        "0 written, 4 skipped"
    )
    assert mine.read_text() == once and (tmp_path / "a" / "img00001.txt").read_text() == made
    run(tmp_path, "--on-existing", "overwrite", "--suffix", "v2", model_dir=model_dir, embeds=embeds, capsys=capsys)
    assert mine.read_text().startswith("ohwx, a photo, ") and mine.read_text().endswith(", v2\n")


def test_killed_midway_then_rerun_finishes_only_what_is_left(tmp_path, model_dir, embeds, capsys):
    make_dataset(tmp_path, 120)
    argv = ["dataset", str(tmp_path), *tiny(model_dir, embeds), "--mode", "fast", "--caption", "a photo"]
    command = [sys.executable, "-m", "ci_engine", *argv, "--images-per-batch", "4"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    journal = tmp_path / "interrogator_manifest.jsonl.journal.jsonl"
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count("\n") < 60):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = sorted(tmp_path.rglob("*.txt"))
    assert 30 < len(done) < 117, "the run was not killed midway"
    assert all(p.read_text().startswith("a photo, ") and p.read_text().endswith("\n") for p in done)
    status = cli.main([*argv, "--images-per-batch", "4"])  # the rerun, in this process: one import of torch less
    rerun = capsys.readouterr()
    assert status == 0, rerun.err
    counts = re.match(r"(\d+) written, (\d+) skipped, 3 failed", rerun.out)
    assert counts and (int(counts[1]), int(counts[2])) == (117 - len(done), len(done))
    assert len(list(tmp_path.rglob("*.txt"))) == 117 and not journal.exists()
    assert not list(tmp_path.rglob(".*ci-tmp-*"))
    paths = [row["path"] for row in manifest_rows(tmp_path)]
    assert len(paths) == len(set(paths)) == 120


@pytest.mark.parametrize("name", ["m.csv", "m.parquet"])
def test_csv_and_parquet_manifests_resume_too(tmp_path, model_dir, embeds, capsys, name):
    make_dataset(tmp_path / "d", 5, bad=1)
    manifest = tmp_path / name
    flags = ("--manifest", str(manifest), "--on-existing", "overwrite")
    first = dataset(tmp_path / "d", *flags, model_dir=model_dir, embeds=embeds, capsys=capsys)[1]
    again = dataset(tmp_path / "d", *flags, model_dir=model_dir, embeds=embeds, capsys=capsys)[1]
    assert first.startswith("4 written, 0 skipped, 1 failed") and again.startswith("0 written, 4 skipped, 1 failed")
    assert manifest.is_file() and not manifest.with_name(name + ".journal.jsonl").exists()


def test_a_list_file_picks_images_and_may_not_leave_the_folder(tmp_path, model_dir, embeds, capsys):
    good = make_dataset(tmp_path / "d", 6, bad=0)
    listing = tmp_path / "d" / "pick.txt"
    listing.write_text(f"# two of them\n{good[1].relative_to(tmp_path / 'd')}\n{good[4].relative_to(tmp_path / 'd')}\n")
    status, out = dataset(tmp_path / "d", "--list", str(listing), model_dir=model_dir, embeds=embeds, capsys=capsys)
    assert status == 0 and out.startswith("2 written, 0 skipped, 0 failed")
    shutil.copy(good[0], tmp_path / "outside.png")
    listing.write_text("../outside.png\n")
    status = cli.main(["dataset", str(tmp_path / "d"), "--list", str(listing), "--caption", "x"])
    assert status == 2 and "is not inside" in capsys.readouterr().err


def test_two_images_that_share_a_sidecar_name(tmp_path, model_dir, embeds, capsys):
    make_dataset(tmp_path, 1, bad=0)
    shutil.copy(tmp_path / "img00000.png", tmp_path / "img00000.jpg")
    status, out = dataset(tmp_path, model_dir=model_dir, embeds=embeds, capsys=capsys)
    assert status == 0 and out.startswith("1 written, 0 skipped, 1 failed")
    error = [r["error"] for r in manifest_rows(tmp_path) if r["error"]]
    assert error and "already writes img00000.txt" in error[0]


def test_append_adds_once_even_when_the_manifest_row_was_lost():
    from ci_engine.dataset.files import appended, sidecar_text

    text = sidecar_text(" ohwx ", "a photo, red", "")
    assert text == "ohwx, a photo, red"
    once = appended("my words\n", text)
    assert once == "my words, ohwx, a photo, red"
    assert appended(once, text) == once  # killed after the sidecar, before its row: no second copy
