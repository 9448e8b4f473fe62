"""Node inputs and conditions that must give a clear error or a safe result, never a crash."""

from __future__ import annotations

import re

import pytest
import torch
from comfy_pack import execute, interrogate_inputs, load_clip, pack_module


def test_mode_default_max_flavors_reproduces_upstream_classic(comfy, image_batch, model_dir):
    from ci_engine import Interrogator, Settings
    from ci_engine import load_clip as engine_load_clip

    clip = load_clip(comfy)
    inputs = interrogate_inputs(mode="classic", compat=True, max_flavors=-1)
    prompts = execute(comfy, "CI_Interrogate", image=image_batch[:2], clip=clip, caption="a red barn", **inputs).args[0]
    engine = Interrogator(
        engine_load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors"), None, Settings(compat=True)
    )
    images = pack_module(comfy, "ci_comfy.host.images").tensor_to_images(image_batch[:2])
    assert prompts == [r.prompt for r in engine.run("classic", images, ["a red barn"])]
    assert all(len(p.split(", ")) == 4 + 3 for p in prompts)  # caption+medium+artist, trending, movement, 3 flavors


@pytest.mark.parametrize("failures", [1, 2], ids=["recovers", "gives-up"])
def test_out_of_memory_retries_once_with_half_the_text_batch(comfy, image_batch, monkeypatch, failures):
    # the pack's own copy of the engine (ComfyUI loads the pack as a package of its own)
    Interrogator = pack_module(comfy, "ci_engine.interrogator").Interrogator
    clip, sizes = load_clip(comfy), []
    original = Interrogator.run

    def tight_memory(self, *args, **kwargs):
        sizes.append(self.settings.text_batch_size)
        if len(sizes) <= failures:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Interrogator, "run", tight_memory)
    node = {"image": image_batch[:1], "clip": clip, "caption": "x", **interrogate_inputs()}
    if failures == 1:
        assert len(execute(comfy, "CI_Interrogate", **node).args[0]) == 1
    else:
        with pytest.raises(Exception, match="Out of memory even with text_batch_size 512"):
            execute(comfy, "CI_Interrogate", **node)
    assert sizes == [1024, 512]


def test_bad_widget_values_are_clear_errors(comfy, image_batch):
    clip = load_clip(comfy)
    for empty in (image_batch[:1, :0], image_batch[:1, :, :0], image_batch[:0]):
        with pytest.raises(Exception, match="empty or has a zero-sized side"):
            execute(comfy, "CI_Interrogate", image=empty, clip=clip, caption="x", **interrogate_inputs())
    with pytest.raises(Exception, match="Unknown mode 'bestest'"):
        execute(comfy, "CI_Interrogate", image=image_batch[:1], clip=clip, **interrogate_inputs(mode="bestest"))
    with pytest.raises(Exception, match="neither a known name nor a file"):
        execute(comfy, "CI_LoadCLIP", clip_name="../../etc/passwd", architecture="auto", precision="auto")
    for architecture in ("..\\..\\evil", "local-dir:..", "hf-hub:x/y"):
        with pytest.raises(Exception, match="Unknown CLIP architecture"):
            execute(comfy, "CI_LoadCLIP", clip_name="TinyCLIP.safetensors", architecture=architecture, precision="auto")
    with pytest.raises(Exception, match="No caption model"):
        execute(comfy, "CI_Interrogate", image=image_batch[:1], clip=clip, **interrogate_inputs())


def _interrogate(comfy, image_batch, clip, **changes):
    return {"image": image_batch[:1], "clip": clip, "caption": "x", **interrogate_inputs(), **changes}


TABLES_OFF = {name: False for name in ("artists", "mediums", "movements", "trending", "flavors")}
NODE_CASES = {  # case: (node, the inputs it gets given the usual ones, the text the error must hold)
    "clip-missing": ("CI_Interrogate", lambda usual: {**usual, "clip": None}, "clip input got NoneType"),
    "clip-is-text": ("CI_Interrogate", lambda usual: {**usual, "clip": "TinyCLIP"}, "connect the output of Load CLIP"),
    "caption-model-is-clip": (
        "CI_Interrogate",
        lambda usual: {**usual, "caption_model": usual["clip"]},
        "connect the output of Load Caption Model",
    ),
    "mode-not-listed": ("CI_Interrogate", lambda usual: {**usual, "mode": "analyze"}, "Unknown mode 'analyze'"),
    "image-5d": ("CI_Interrogate", lambda usual: {**usual, "image": usual["image"][None]}, "shaped (B, H, W, C)"),
    "image-channels-first": (
        "CI_Interrogate",
        lambda usual: {**usual, "image": usual["image"].permute(0, 3, 1, 2)},
        "shaped (B, H, W, C)",
    ),
    "every-table-off": ("CI_Interrogate", lambda usual: {**usual, **TABLES_OFF}, "Every label table is switched off"),
    "blank-caption-no-model": ("CI_Interrogate", lambda usual: {**usual, "caption": " \n "}, "No caption model"),
    "negative-count-zero": (
        "CI_NegativePrompt",
        lambda usual: {"image": usual["image"], "clip": usual["clip"], "max_flavors": -3, "compat": False},
        "max_flavors must be 0 or more",
    ),
}


@pytest.mark.parametrize("case", list(NODE_CASES))
def test_bad_node_inputs_are_clear_errors(comfy, image_batch, case):
    node, inputs, expected = NODE_CASES[case]
    usual = _interrogate(comfy, image_batch, load_clip(comfy))
    with pytest.raises(pack_module(comfy, "ci_engine.errors").InterrogatorError, match=re.escape(expected)):
        execute(comfy, node, **inputs(usual))


LOADER_CASES = {  # case: (node, inputs, the text the error must hold)
    "clip-precision": (
        "CI_LoadCLIP",
        {"clip_name": "TinyCLIP.safetensors", "architecture": "auto", "precision": "fp8"},
        "Unknown precision 'fp8'",
    ),
    "clip-hub-offline": (
        "CI_LoadCLIP",
        {"clip_name": "ViT-B-32/openai", "architecture": "auto", "precision": "auto"},
        "not available locally",
    ),
    "caption-outside-folders": (
        "CI_LoadCaptionModel",
        {"model_name": "../../clip", "precision": "auto"},
        "neither a known name nor a folder",
    ),
    "caption-hub-offline": (
        "CI_LoadCaptionModel",
        {"model_name": "blip-base", "precision": "auto"},
        "not available locally",
    ),
    "caption-precision": (
        "CI_LoadCaptionModel",
        {"model_name": "tiny-blip", "precision": "fp8"},
        "Unknown precision 'fp8'",
    ),
}


@pytest.mark.parametrize("case", list(LOADER_CASES))
def test_bad_loader_inputs_are_clear_errors(comfy, case):
    node, inputs, expected = LOADER_CASES[case]
    with pytest.raises(pack_module(comfy, "ci_engine.errors").InterrogatorError, match=re.escape(expected)):
        execute(comfy, node, **inputs)


@pytest.mark.parametrize("pixels", [float("nan"), float("inf"), -5.0])
def test_pixels_outside_zero_to_one_still_give_a_prompt(comfy, image_batch, pixels):
    image = image_batch[:1].clone()
    image[:, :8] = pixels
    prompts = execute(comfy, "CI_Interrogate", **_interrogate(comfy, image_batch, load_clip(comfy), image=image)).args[
        0
    ]
    assert len(prompts) == 1 and prompts[0].startswith("x, ")


def test_fp16_clip_on_a_cpu_gives_a_prompt(comfy, image_batch):
    clip = execute(comfy, "CI_LoadCLIP", clip_name="TinyCLIP.safetensors", architecture="auto", precision="fp16").args[
        0
    ]
    prompts = execute(comfy, "CI_Interrogate", **_interrogate(comfy, image_batch, clip)).args[0]
    assert prompts[0].startswith("x, ") and len(prompts[0].split(", ")) > 4
