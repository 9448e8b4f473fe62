"""Positive and negative prompts in one pass: the negative equals the negative mode's (and the
NegativePrompt node's), from one image encode and one caption per image."""

from __future__ import annotations

import json

import pytest
from comfy_pack import execute, interrogate_inputs, load_clip

from ci_engine import Interrogator, Settings, cli
from ci_engine.testing import synthetic_images


@pytest.mark.parametrize("mode", ["best", "fast", "caption"])
def test_one_pass_negative_equals_the_negative_mode(clip, captioner, vocab, mode, monkeypatch, small_settings):
    images = synthetic_images(2, seed=3)
    ci = Interrogator(clip, captioner, Settings(**small_settings, max_flavors=6), vocab=vocab)
    alone = [r.prompt for r in ci.run(mode, images)], [r.prompt for r in ci.run("negative", images)]
    encodes, captions = [], []
    monkeypatch.setattr(clip, "image_features", _counted(clip.image_features, encodes))
    monkeypatch.setattr(captioner, "generate", _counted(captioner.generate, captions))
    both = ci.run(mode, images, with_negative=True)
    assert ([r.prompt for r in both], [r.negative for r in both]) == alone
    assert len(encodes) == 1 and len(captions) == 1  # one image encode, one caption call, for both prompts


def _counted(method, calls: list):
    def wrapper(*args, **kwargs):
        calls.append(1)
        return method(*args, **kwargs)

    return wrapper


def test_the_command_line_prints_both(model_dir, full_tables_cache, tmp_path, capsys):
    synthetic_images(1)[0].save(tmp_path / "a.png")
    clip_args = ["--clip", "TinyCLIP", "--clip-checkpoint", str(model_dir / "clip" / "TinyCLIP.safetensors")]
    args = [str(tmp_path / "a.png"), *clip_args, "--caption", "x", "--mode", "fast"]
    args += ["--cache-dir", str(full_tables_cache)]
    assert cli.main([*args, "--with-negative", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["prompt"].startswith("x, ") and record["negative"]
    assert cli.main([*args, "--json"]) == 0 and "negative" not in json.loads(capsys.readouterr().out)


def test_interrogate_negative_output_equals_the_negative_prompt_node(comfy, image_batch):
    clip = load_clip(comfy)
    inputs = {"image": image_batch[:2], "clip": clip, "caption": "x", **interrogate_inputs(mode="best", max_flavors=-1)}
    prompts, _, negatives = execute(comfy, "CI_Interrogate", **inputs, with_negative=True).args
    node = execute(comfy, "CI_NegativePrompt", image=image_batch[:2], clip=clip, max_flavors=32, compat=False)
    assert negatives == node.args[0] and all(negatives) and len(prompts) == 2


def test_negative_is_chained_only_when_asked_and_wiring_it_unasked_is_an_error(comfy, image_batch):
    inputs = {"image": image_batch[:1], "clip": load_clip(comfy), "caption": "x", **interrogate_inputs()}
    assert execute(comfy, "CI_Interrogate", **inputs).args[2] == [""]  # off: no extra chain
    holder = type("Hidden", (), {"unique_id": "7", "prompt": {"9": {"inputs": {"source": ["7", 2]}}}})
    wired = type("Clone", (comfy.nodes["CI_Interrogate"],), {"hidden": holder})  # as ComfyUI's executor clones
    with pytest.raises(Exception, match="negative output is connected but with_negative is off"):
        wired.execute(**inputs)
    assert wired.execute(**inputs, with_negative=True).args[2][0]
