"""Caption Dataset (Interrogator): folders under ComfyUI's input folder only, progress per
image, Cancel between images with finished sidecars kept, and resume."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from comfy_pack import execute, load_clip, pack_module

from ci_engine.testing import make_dataset


@pytest.fixture
def input_dir(comfy) -> Path:
    root = Path(comfy.folder_paths.get_input_directory())
    yield root
    for child in root.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


def caption(comfy, folder: str, **changes):
    inputs = {"folder": folder, "clip": load_clip(comfy), "mode": "fast", "max_flavors": 6, "prefix": "ohwx"}
    inputs |= {"suffix": "", "on_existing": "skip", "recursive": True, "caption": "a photo", **changes}
    return execute(comfy, "CI_CaptionDataset", **inputs)


def test_captions_a_folder_under_input(comfy, input_dir):
    good = make_dataset(input_dir / "set", 6, bad=1)
    menu = comfy.nodes["CI_CaptionDataset"].GET_SCHEMA().inputs[0].options
    assert {"set", "set/a", "set/c"} <= set(menu)
    output = caption(comfy, "set")
    assert output.args[0].startswith("5 written, 0 skipped, 1 failed; manifest: ")
    assert sorted(input_dir.rglob("*.txt")) == sorted(p.with_suffix(".txt") for p in good)
    assert all(p.with_suffix(".txt").read_text().startswith("ohwx, a photo, ") for p in good)
    assert (input_dir / "set" / "interrogator_manifest.jsonl").is_file()


@pytest.mark.parametrize("folder", ["../outside", "/etc", "set/../..", "link-out"])
def test_folders_outside_the_roots_are_refused(comfy, input_dir, tmp_path, folder):
    make_dataset(input_dir / "set", 1, bad=0)
    make_dataset(tmp_path / "outside", 1, bad=0)
    os.symlink(tmp_path / "outside", input_dir / "link-out")
    errors = pack_module(comfy, "ci_engine.errors")
    with pytest.raises(errors.InputError, match="Dataset folder"):
        caption(comfy, folder)
    assert not list(tmp_path.rglob("*.txt"))
    assert "link-out" not in comfy.nodes["CI_CaptionDataset"].GET_SCHEMA().inputs[0].options


def test_cancel_keeps_finished_sidecars_and_a_rerun_resumes(comfy, input_dir, monkeypatch):
    make_dataset(input_dir / "set", 16, bad=0)
    writer = pack_module(comfy, "ci_engine.dataset.work").SidecarWriter
    real_write, batches = writer.write, []

    def write(self, decoded):  # Cancel pressed after two batches of images (ComfyUI 0.38 throttles the
        rows = real_write(self, decoded)  # progress hook, so the hook cannot count them)
        batches.append(len(rows))
        if len(batches) == 2:
            comfy.mm.interrupt_current_processing()
        return rows

    monkeypatch.setattr(writer, "write", write)
    try:
        with pytest.raises(comfy.mm.InterruptProcessingException):
            caption(comfy, "set")
    finally:
        comfy.mm.interrupt_current_processing(False)
    done = list(input_dir.rglob("*.txt"))
    assert len(done) == 8 and all(p.read_text().startswith("ohwx, a photo, ") for p in done)
    assert caption(comfy, "set").args[0].startswith("8 written, 8 skipped, 0 failed")


def test_sidecars_fit_a_target_budget(comfy, input_dir, model_dir):
    from types import SimpleNamespace

    from transformers import AutoTokenizer

    bert = AutoTokenizer.from_pretrained(str(model_dir / "blip"))  # standing in for T5
    target_clip = SimpleNamespace(tokenizer=SimpleNamespace(t5=SimpleNamespace(tokenizer=bert, max_length=10**8)))
    good = make_dataset(input_dir / "set", 3, bad=0)
    long_caption = ", ".join(["an old wooden barn in a field of golden wheat under a stormy sky"] * 5)
    caption(comfy, "set", caption=long_caption, target="128", target_clip=target_clip, suffix="x " * 20, max_flavors=-1)
    for path in good:
        text = path.with_suffix(".txt").read_text().strip()
        assert len(bert(text)["input_ids"]) <= 128 and text.startswith(f"ohwx, {long_caption}, ")
        assert text.endswith(", " + ("x " * 20).strip())  # the budget counts prefix and suffix too
