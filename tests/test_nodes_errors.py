"""Node inputs and conditions that must give a clear error or a safe result, never a crash."""

from __future__ import annotations

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
    images = pack_module(comfy, "comfy_host").tensor_to_images(image_batch[:2])
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
