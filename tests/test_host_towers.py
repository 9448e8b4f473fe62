"""A host's CLIP towers in the Hugging Face layout (the one ComfyUI's CLIP models use), here
transformers' own CLIP classes holding the tiny CLIP's weights: the engine's side of "CLIP from
ComfyUI", without ComfyUI. The node in a real ComfyUI: test_nodes_host_clip.py."""

from __future__ import annotations

import logging

import pytest
import torch
from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPVisionConfig, CLIPVisionModelWithProjection

from ci_engine import CacheSettings, Interrogator, Settings, load_clip
from ci_engine.errors import InputError
from ci_engine.models import towers
from ci_engine.models.host import HostClip, host_bundle
from ci_engine.testing import TINY_CLIP_CONFIG
from ci_engine.testing.host_clip import comfy_text_config, comfy_vision_config, hf_text_state, hf_vision_state
from ci_engine.text.hf_layout import HostTextTower, text_shape

CAPTION = "a photo of a house"


@pytest.fixture(scope="module")
def clip(model_dir):
    """A tiny CLIP of this module's own: the session's shared one may hold its tables in memory
    already, and then writes no caches for the safety net to read."""
    return load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", device="cpu")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> CacheSettings:
    return CacheSettings(tmp_path_factory.mktemp("host_embeds"))


def hf_models(clip) -> tuple[torch.nn.Module, torch.nn.Module]:
    """transformers' CLIP image and text models holding the tiny CLIP's weights."""
    state = clip.model.state_dict()
    vision = CLIPVisionModelWithProjection(CLIPVisionConfig(**comfy_vision_config(TINY_CLIP_CONFIG)))
    text = CLIPTextModelWithProjection(CLIPTextConfig(**comfy_text_config(TINY_CLIP_CONFIG)))
    for model, weights in ((vision, hf_vision_state(state)), (text, hf_text_state(state))):
        missing, _ = model.load_state_dict(weights, strict=False)
        assert not [k for k in missing if not k.endswith("position_ids")]
    return vision.eval(), text.eval()


def tiny_tower(clip) -> towers.KnownTower:
    vision, text = TINY_CLIP_CONFIG["vision_cfg"], TINY_CLIP_CONFIG["text_cfg"]
    shapes = (vision["width"], vision["layers"], TINY_CLIP_CONFIG["embed_dim"])
    return towers.KnownTower(clip.name, shapes, (text["width"], text["layers"]), "the tiny vision", "the tiny text")


def reused(clip, with_text: bool = True, text_model: torch.nn.Module | None = None):
    """A bundle over the transformers models, as CLIP from ComfyUI builds one over ComfyUI's."""
    vision, text = hf_models(clip)
    text = text_model or text
    image = HostClip(vision, lambda pixels: vision(pixel_values=pixels).image_embeds, torch.float32)
    heads = TINY_CLIP_CONFIG["text_cfg"]["heads"]
    host_text = HostTextTower(text, heads, lambda tokens: text(input_ids=tokens).text_embeds, torch.float32)
    return host_bundle(tiny_tower(clip), image, host_text if with_text else None, "No text encoder is connected.")


def run(bundle, mode: str, images, vocab, cache, **settings) -> list[str]:
    options = {"chunk_size": 512, "flavor_intermediate_count": 512, **settings}
    return [r.prompt for r in Interrogator(bundle, None, Settings(**options), vocab, cache).run(mode, images, CAPTION)]


def test_known_towers_are_found_by_their_shapes_and_others_get_the_list():
    assert towers.find_tower((1664, 48, 1280)).name == "ViT-bigG-14/laion2b_s39b_b160k"
    assert towers.find_tower((1280, 32, 1024)).name == "ViT-H-14/laion2b_s32b_b79k"
    assert towers.find_tower((1024, 24, 768)).name == "ViT-L-14/openai"
    with pytest.raises(InputError, match=r"\(width 768, 12 layers, projection 512\) is not one .* Supported: ViT-L"):
        towers.find_tower((768, 12, 512))  # ViT-B-32: no host file holds it


def test_the_text_shape_is_read_from_the_host_model(clip):
    assert text_shape(hf_models(clip)[1]) == (32, 2)


@pytest.mark.parametrize(("mode", "flavors"), [("fast", 32), ("classic", 3), ("best", 4), ("negative", 4)])
def test_host_towers_give_load_clips_prompts(clip, vocab, cache, images, mode, flavors):
    expected = run(clip, mode, images[:3], vocab, cache, max_flavors=flavors)  # caches the tables first
    bundle = reused(clip)
    assert run(bundle, mode, images[:3], vocab, cache, max_flavors=flavors) == expected
    assert bundle.name == clip.name and not bundle.text_problem  # checked against those caches
    assert bundle.text.prefix  # the fast paths ran on the host's tensors


def test_the_fast_paths_equal_the_hosts_own_forward(clip):
    bundle = reused(clip)
    labels = ["a dog", "an oil painting of a red house by the sea", "by greg rutkowski", "cat"]
    plain = bundle.text.encode_exact(labels).float()
    assert torch.allclose(bundle.text.encode_texts(labels).float(), plain, atol=1e-5)
    prefix = "a photo of a house"
    chained = bundle.text.encode_exact([f"{prefix}, {label}" for label in labels]).float()
    assert torch.allclose(bundle.text.encode_candidates(prefix, labels).float(), chained, atol=1e-5)
    assert bundle.text.truncate and bundle.text.prefix


def test_without_reference_caches_tables_get_a_name_of_their_own(clip, vocab, images, tmp_path, caplog):
    cache = CacheSettings(tmp_path)
    bundle = reused(clip)
    with caplog.at_level(logging.WARNING):
        prompts = run(bundle, "best", images[:2], vocab, cache, max_flavors=4)
    assert bundle.name.startswith(f"{clip.name}-host-") and "No label cache to check" in caplog.text
    assert prompts == run(clip, "best", images[:2], vocab, CacheSettings(tmp_path / "theirs"), max_flavors=4)


def test_a_text_encoder_that_differs_is_turned_off(clip, vocab, cache, images, caplog):
    text = hf_models(clip)[1]
    with torch.no_grad():
        text.text_model.encoder.layers[0].mlp.fc1.weight.add_(
            torch.randn_like(text.text_model.encoder.layers[0].mlp.fc1.weight) * 0.5
        )
    run(clip, "fast", images[:1], vocab, cache)
    bundle = reused(clip, text_model=text)
    with caplog.at_level(logging.WARNING):
        assert run(bundle, "fast", images[:2], vocab, cache) == run(clip, "fast", images[:2], vocab, cache)
    assert "gives other features than that model's label caches" in caplog.text
    with pytest.raises(InputError, match="LoRA-patched"):
        run(bundle, "best", images[:1], vocab, cache, max_flavors=4)


def test_the_image_tower_alone_serves_fast_and_says_what_best_needs(clip, vocab, cache, images):
    expected = run(clip, "fast", images[:2], vocab, cache)
    bundle = reused(clip, with_text=False)
    assert run(bundle, "fast", images[:2], vocab, cache) == expected
    with pytest.raises(InputError, match="needs CLIP's text encoder. No text encoder is connected"):
        run(bundle, "best", images[:1], vocab, cache, max_flavors=4)
