"""CLIP from ComfyUI in a real ComfyUI (COMFYUI_DIR): ComfyUI's own CLIP vision model and CLIP
text encoder, built in-process from tiny configs that hold the tests' tiny CLIP weights (its
loaders only recognise real depths), against Load CLIP on the original checkpoint."""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import shutil
from pathlib import Path

import pytest
import torch
from comfy_pack import REAL, execute, interrogate_inputs, load_clip, our_patchers, pack_module
from safetensors.torch import load_file

from ci_engine.testing import TINY_CLIP_CONFIG
from ci_engine.testing.host_clip import comfy_text_config, comfy_vision_config, hf_text_state, hf_vision_state

pytestmark = pytest.mark.skipif(not REAL, reason="needs a real ComfyUI (COMFYUI_DIR): its CLIP vision and text models")
CAPTION = "a photo of a house"


def tiny_state(comfy) -> dict:
    folder = comfy.folder_paths.get_folder_paths("clip_interrogator_clip")[0]
    return load_file(f"{folder}/TinyCLIP.safetensors")


def comfy_clip_vision(comfy, tmp_path, state: dict):
    """ComfyUI's ClipVisionModel (0.3.6x reads its config from a file) holding the tiny tower."""
    import comfy.clip_vision

    config = tmp_path / "tiny_clip_vision.json"
    config.write_text(json.dumps(comfy_vision_config(TINY_CLIP_CONFIG)))
    model = comfy.clip_vision.ClipVisionModel(str(config))
    missing, _ = model.load_sd(hf_vision_state(state))
    assert not missing
    return model


def comfy_clip(state: dict):
    """A ComfyUI CLIP whose ``clip_g`` is the tiny text tower, built as CLIPLoader builds one."""
    import comfy.sd
    import comfy.sd1_clip
    import comfy.supported_models_base

    class TinyG(comfy.sd1_clip.SDClipModel):
        def __init__(self, device="cpu", dtype=None, model_options={}):  # noqa: B006 (ComfyUI's signature)
            config = comfy_text_config(TINY_CLIP_CONFIG)
            special = {"start": 49406, "end": 49407, "pad": 0}
            super().__init__(device=device, dtype=dtype, textmodel_json_config=config, special_tokens=special,
                             model_options=model_options)  # fmt: skip

    class TinyModel(comfy.sd1_clip.SD1ClipModel):
        def __init__(self, device="cpu", dtype=None, model_options={}):  # noqa: B006
            super().__init__(device=device, dtype=dtype, model_options=model_options, clip_name="g", clip_model=TinyG)

    target = comfy.supported_models_base.ClipTarget(comfy.sd1_clip.SD1Tokenizer, TinyModel)
    clip = comfy.sd.CLIP(target)
    missing, _ = clip.load_sd(hf_text_state(state))
    assert not missing
    return clip


@pytest.fixture(scope="module")
def host(comfy, tmp_path_factory):
    """(clip_vision, clip) over the tiny weights, and the tiny tower registered under Load CLIP's
    cache name (so both read the same label-cache files). ComfyUI stores text encoders and CLIP
    vision in fp16 by default; ``--fp32-text-enc`` keeps them in fp32, the precision Load CLIP
    chooses on this CPU, so both run the same numbers."""
    from comfy.cli_args import args

    mp = pytest.MonkeyPatch()
    mp.setattr(args, "fp32_text_enc", True)
    reference = load_clip(comfy)
    towers = pack_module(comfy, "ci_engine.models.towers")
    config = TINY_CLIP_CONFIG
    shapes = (config["vision_cfg"]["width"], config["vision_cfg"]["layers"], config["embed_dim"])
    text = (config["text_cfg"]["width"], config["text_cfg"]["layers"])
    towers.register_tower(towers.KnownTower(reference.module.name, shapes, text, "the tiny vision", "the tiny text"))
    state = tiny_state(comfy)
    yield comfy_clip_vision(comfy, tmp_path_factory.mktemp("cv"), state), comfy_clip(state)
    mp.undo()


def from_comfy(comfy, clip_vision, clip=None):
    return execute(comfy, "CI_ClipFromComfy", clip_vision=clip_vision, clip=clip).args[0]


def prompts(comfy, clip, image, mode: str, **overrides) -> list[str]:
    inputs = interrogate_inputs(mode=mode, **overrides)
    return execute(comfy, "CI_Interrogate", image=image, clip=clip, caption=CAPTION, **inputs).args[0]


def negatives(comfy, clip, image) -> list[str]:
    return execute(comfy, "CI_NegativePrompt", image=image, clip=clip, max_flavors=4, compat=False).args[0]


def analyses(comfy, clip, image) -> list[str]:
    return execute(comfy, "CI_Analyze", image=image, clip=clip, top_k=5).args[0]


@pytest.mark.parametrize("mode", ["fast", "classic", "best"])
def test_both_towers_give_load_clips_prompts(comfy, host, image_batch, mode):
    flavors = 4 if mode == "best" else 32
    expected = prompts(comfy, load_clip(comfy), image_batch, mode, max_flavors=flavors)
    reused = from_comfy(comfy, *host)
    assert prompts(comfy, reused, image_batch, mode, max_flavors=flavors) == expected
    assert reused.module.text.prefix  # the fast paths ran on ComfyUI's own tensors


def test_both_towers_give_load_clips_negative_and_analysis(comfy, host, image_batch):
    reference, reused = load_clip(comfy), from_comfy(comfy, *host)
    assert negatives(comfy, reused, image_batch) == negatives(comfy, reference, image_batch)
    for ours, theirs in zip(analyses(comfy, reused, image_batch), analyses(comfy, reference, image_batch), strict=True):
        ours, theirs = json.loads(ours), json.loads(theirs)
        assert {t: [label for label, _ in rows] for t, rows in ours.items()} == {
            t: [label for label, _ in rows] for t, rows in theirs.items()
        }  # the same labels; scores as the two attention kernels round them
        assert all(a[1] == pytest.approx(b[1], abs=1e-4) for t in ours for a, b in zip(ours[t], theirs[t]))


@pytest.mark.parametrize("mode", ["fast", "classic"])
def test_the_image_tower_alone_ranks_from_the_caches(comfy, host, image_batch, mode):
    expected = prompts(comfy, load_clip(comfy), image_batch, mode)
    assert prompts(comfy, from_comfy(comfy, host[0]), image_batch, mode) == expected


@pytest.mark.parametrize("node", ["best", "negative"])
def test_without_a_text_tower_best_and_negative_say_what_to_connect(comfy, host, image_batch, node):
    error = pack_module(comfy, "ci_engine.errors").InputError
    clip = from_comfy(comfy, host[0])
    with pytest.raises(error, match="needs CLIP's text encoder. No CLIP \\(text encoder\\) is connected"):
        negatives(comfy, clip, image_batch) if node == "negative" else prompts(comfy, clip, image_batch, "best")


def test_caption_dataset_takes_it_unchanged(comfy, host, tmp_path):
    from ci_engine.testing import make_dataset

    root = Path(comfy.folder_paths.get_input_directory())
    sidecars = {}
    for name, clip in (("theirs", load_clip(comfy)), ("ours", from_comfy(comfy, *host))):
        images = make_dataset(root / f"host-{name}", 3, bad=0)
        inputs = {"folder": f"host-{name}", "clip": clip, "mode": "fast", "max_flavors": 6, "prefix": "ohwx"}
        inputs |= {"suffix": "", "on_existing": "skip", "recursive": True, "caption": CAPTION}
        try:
            assert execute(comfy, "CI_CaptionDataset", **inputs).args[0].startswith("3 written")
            sidecars[name] = sorted(p.with_suffix(".txt").read_text() for p in images)
        finally:
            shutil.rmtree(root / f"host-{name}")
    assert sidecars["ours"] == sidecars["theirs"]


def test_a_siglip_encoder_is_refused_before_anything_loads(comfy, tmp_path):
    clip_vision = importlib.import_module("comfy.clip_vision")
    config = {**comfy_vision_config(TINY_CLIP_CONFIG), "model_type": "siglip_vision_model"}
    (tmp_path / "siglip.json").write_text(json.dumps(config))
    siglip = clip_vision.ClipVisionModel(str(tmp_path / "siglip.json"))
    error = pack_module(comfy, "ci_engine.errors").InputError
    with pytest.raises(error, match="not a CLIP image encoder \\(SigLIP and DINO are not CLIP\\)"):
        from_comfy(comfy, siglip)


def test_a_clip_without_the_towers_text_encoder_says_what_it_holds(comfy, host, image_batch, monkeypatch):
    towers = pack_module(comfy, "ci_engine.models.towers")
    tiny = towers.find_tower(pack_module(comfy, "ci_comfy.host.reuse").vision_shapes(host[0].model))
    monkeypatch.setattr(towers, "KNOWN_TOWERS", [dataclasses.replace(tiny, text=(64, 2))])
    clip = from_comfy(comfy, *host)
    error = pack_module(comfy, "ci_engine.errors").InputError
    with pytest.raises(error, match="holds no text encoder of .* \\(width 64, 2 layers; it holds .*width 32, 2 layers"):
        prompts(comfy, clip, image_batch, "best", max_flavors=4)


def test_image_features_equal_open_clips_for_the_same_weights(comfy, host, images):
    reference, reused = load_clip(comfy), from_comfy(comfy, host[0])
    reused.load()
    ours = reused.module.image_features(images[:4]).float()
    theirs = reference.load().image_features(images[:4]).float()
    assert torch.nn.functional.cosine_similarity(ours, theirs).min() >= 0.9999


def test_a_changed_text_encoder_is_turned_off_with_a_warning(comfy, host, image_batch, caplog):
    clip = host[1].clone()
    key = "clip_g.transformer.text_model.encoder.layers.0.mlp.fc1.weight"
    clip.add_patches({key: (torch.randn_like(clip.get_sd()[key]) * 0.5,)}, 1.0)  # a LoRA-like change
    reused = from_comfy(comfy, host[0], clip)
    with caplog.at_level(logging.WARNING):
        assert prompts(comfy, reused, image_batch, "fast") == prompts(comfy, load_clip(comfy), image_batch, "fast")
    assert "gives other features than that model's label caches" in caplog.text
    error = pack_module(comfy, "ci_engine.errors").InputError
    with pytest.raises(error, match="LoRA-patched"):
        prompts(comfy, reused, image_batch, "best", max_flavors=4)


def test_a_model_with_published_caches_not_at_hand_is_never_used_unchecked(comfy, host, image_batch, monkeypatch):
    """Offline without its caches, a tower of a published model cannot be checked (a checkpoint's
    clip_l would pass its shapes with an uninitialised projection): its text stays off."""
    towers = pack_module(comfy, "ci_engine.models.towers")
    tiny = towers.find_tower(pack_module(comfy, "ci_comfy.host.reuse").vision_shapes(host[0].model))
    monkeypatch.setattr(towers, "KNOWN_TOWERS", [dataclasses.replace(tiny, name="ViT-L-14/openai")])
    reused = from_comfy(comfy, *host)
    error = pack_module(comfy, "ci_engine.errors").InputError
    with pytest.raises(error, match="No label cache of ViT-L-14/openai is at hand .* Put ViT-L-14_openai_"):
        prompts(comfy, reused, image_batch, "best", max_flavors=4)
    with pytest.raises(
        error, match="not used.* Put ViT-L-14_openai_.*.safetensors .*clip_interrogator.embeds, or allow downloads"
    ):
        prompts(comfy, reused, image_batch, "fast")
    folder = comfy.folder_paths.get_folder_paths("clip_interrogator_embeds")[0]
    assert not list(Path(folder).glob("ViT-L-14_openai*"))  # no tables computed with it


def test_the_pack_holds_no_second_copy_of_the_weights(comfy, host, image_batch):
    reused = from_comfy(comfy, *host)
    prompts(comfy, reused, image_batch[:1], "fast")
    ours = [m for m in our_patchers(comfy) if m.model is reused.patcher]
    table_bytes = sum(t.embeds.nelement() * t.embeds.element_size() for t in reused.module.tables.values())
    assert ours and reused.patcher.model_size() == table_bytes  # the labels only: no tower
    loaded = {id(m.model) for m in comfy.mm.current_loaded_models}
    assert id(host[0].patcher) in loaded and id(host[1].patcher) in loaded  # ComfyUI's own, loaded by it
