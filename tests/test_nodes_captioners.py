"""Every caption family through the nodes (Load Caption Model → Caption Style → Interrogate),
against the stand-in or, with COMFYUI_DIR set, a real ComfyUI: captions as the engine writes
them, repeatable, and evicted by ComfyUI's unload (what /free and the Unload button call)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from comfy_pack import execute, interrogate_inputs, load_clip, our_patchers, pack_module

from ci_engine.models.caption_families import FAMILIES
from ci_engine.models.caption_style import CaptionStyle
from ci_engine.models.caption_text import clean_caption
from ci_engine.testing import CAPTION_FAMILIES, save_caption_model

NEW_FAMILIES = [f for f in CAPTION_FAMILIES if f != "blip"]


@pytest.fixture(scope="module")
def caption_folder(comfy) -> Path:
    """The tiny models as folders in ComfyUI's caption folder, listed by the loader."""
    base = Path(comfy.folder_paths.get_folder_paths("clip_interrogator_caption")[0])
    for family in NEW_FAMILIES:
        if not (base / f"tiny-{family}").is_dir():
            save_caption_model(family, base / f"tiny-{family}")
    return base


def pack_error(comfy) -> type:
    """The pack's own InputError (ComfyUI loads the pack as a package of its own)."""
    return pack_module(comfy, "ci_engine.errors").InputError


def style_inputs(**overrides) -> dict:
    base = {
        "style": "detailed",
        "instruction": "",
        "max_new_tokens": 8,
        "sampling": False,
        "sampling_seed": 0,
        "temperature": 0.7,
    }
    return {**base, **overrides}


def styled(comfy, name: str, **overrides):
    captioner = execute(comfy, "CI_LoadCaptionModel", model_name=name, precision="auto").args[0]
    return captioner, execute(comfy, "CI_CaptionStyle", caption_model=captioner, **style_inputs(**overrides)).args[0]


@pytest.mark.parametrize("family", NEW_FAMILIES)
def test_each_family_captions_through_the_nodes_and_is_evicted(family, comfy, caption_folder, image_batch):
    tensor_to_images = pack_module(comfy, "ci_comfy.host.images").tensor_to_images
    style = "detailed" if "detailed" in FAMILIES[family].styles else "short"
    captioner, with_style = styled(comfy, f"tiny-{family}", style=style)
    assert with_style.patcher is captioner.patcher  # one model in memory, loaded and evicted as one
    clip = load_clip(comfy)
    inputs = {"image": image_batch, "clip": clip, "caption_model": with_style, **interrogate_inputs(mode="caption")}
    runs = [execute(comfy, "CI_Interrogate", **inputs).args[1] for _ in range(2)]
    expected = captioner.module.generate(tensor_to_images(image_batch), 32, CaptionStyle(style, max_new_tokens=8))
    assert runs[0] == runs[1] == [clean_caption(c) for c in expected] and len(runs[0]) == 3 and all(runs[0])
    assert captioner.patcher in {m.model for m in our_patchers(comfy)}
    captioner.patcher.offload_device = torch.device("meta")  # CPU-only here: make the move visible
    comfy.mm.unload_all_models()
    assert our_patchers(comfy) == [] and next(captioner.module.model.parameters()).device.type == "meta"


def test_caption_style_node_refuses_what_the_model_cannot_write(comfy, caption_folder):
    with pytest.raises(pack_error(comfy), match="Caption style 'detailed'.*supports short"):
        styled(comfy, "tiny-blip", style="detailed")
    with pytest.raises(pack_error(comfy), match="Caption style 'tags'"):
        styled(comfy, "tiny-florence2", style="tags")
    with pytest.raises(pack_error(comfy), match="needs an instruction"):
        styled(comfy, "tiny-llava", style="custom", instruction=" ")
    with pytest.raises(pack_error(comfy), match="caption_model input got str"):
        execute(comfy, "CI_CaptionStyle", caption_model="tiny-llava", **style_inputs())


def test_compat_with_a_detailed_style_is_refused(comfy, caption_folder, image_batch):
    _, with_style = styled(comfy, "tiny-qwen2.5-vl")
    inputs = {"image": image_batch, "clip": load_clip(comfy), "caption_model": with_style}
    with pytest.raises(pack_error(comfy), match="caption style 'short'"):
        execute(comfy, "CI_Interrogate", **inputs, **interrogate_inputs(compat=True))


def test_a_custom_instruction_and_sampling_reach_the_model(comfy, caption_folder, image_batch):
    tensor_to_images = pack_module(comfy, "ci_comfy.host.images").tensor_to_images
    custom = {"style": "custom", "instruction": "Name the colours.", "sampling": True, "sampling_seed": 7}
    captioner, with_style = styled(comfy, "tiny-smolvlm", **custom)
    inputs = {"image": image_batch, "clip": load_clip(comfy), "caption_model": with_style}
    captions = execute(comfy, "CI_Interrogate", **inputs, **interrogate_inputs(mode="caption")).args[1]
    wanted = CaptionStyle("custom", "Name the colours.", max_new_tokens=8, sample=True, seed=7)
    assert captions == [clean_caption(c) for c in captioner.module.generate(tensor_to_images(image_batch), 32, wanted)]


def test_auto_precision_is_bf16_for_chat_models_where_comfyui_can_use_it(comfy, caption_folder, monkeypatch):
    for name in ("should_use_fp16", "should_use_bf16"):  # a GPU with both, where ComfyUI picks fp16 first
        monkeypatch.setattr(comfy.mm, name, lambda *args, **kwargs: True)
    chat = execute(comfy, "CI_LoadCaptionModel", model_name="tiny-qwen3-vl", precision="auto").args[0]
    blip = execute(comfy, "CI_LoadCaptionModel", model_name="tiny-blip", precision="auto").args[0]
    assert chat.module.dtype == torch.bfloat16 and blip.module.dtype == torch.float16
