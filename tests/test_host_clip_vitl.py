"""CLIP from ComfyUI at ViT-L-14's real shapes (slow; needs COMFYUI_DIR): a random-init tower
saved as a clip_vision file and a text-encoder file that ComfyUI's own loaders read (Load CLIP
Vision's and CLIPLoader's code), against Load CLIP on the original checkpoint, with a small
label vocabulary. Also the memory ComfyUI counts for each path."""

from __future__ import annotations

import json
import logging

import pytest
from comfy_pack import REAL, pack_module
from safetensors.torch import save_file

from ci_engine.testing import write_vocab_subset
from ci_engine.testing.host_clip import hf_text_state, hf_vision_state

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not REAL, reason="needs a real ComfyUI (COMFYUI_DIR)")]
ARCH = "ViT-L-14-quickgelu"  # OpenAI's L: ComfyUI's ViT-L configs use QuickGELU
CAPTION = "a photo of a house"
log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The open_clip checkpoint, and the same weights as ComfyUI's clip_vision and clip_l files."""
    import open_clip
    import torch

    folder = tmp_path_factory.mktemp("vitl")
    torch.manual_seed(0)
    state = open_clip.create_model(ARCH).state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "vitl.safetensors"))
    save_file(hf_vision_state(state), str(folder / "clip_vision_vitl.safetensors"))
    save_file(hf_text_state(state), str(folder / "clip_l_with_projection.safetensors"))
    return folder


@pytest.fixture(scope="module")
def host(comfy, files):
    """ComfyUI's own loaders read both files (in fp32, Load CLIP's precision on this CPU)."""
    import comfy.clip_vision
    import comfy.sd
    from comfy.cli_args import args

    mp = pytest.MonkeyPatch()
    mp.setattr(args, "fp32_text_enc", True)
    vision = comfy.clip_vision.load(str(files / "clip_vision_vitl.safetensors"))
    text_file = str(files / "clip_l_with_projection.safetensors")
    text = comfy.sd.load_clip([text_file], clip_type=comfy.sd.CLIPType.STABLE_DIFFUSION)
    yield vision, text
    mp.undo()


class Runner:
    """The pack's engine (its own copy, as ComfyUI loads it) on the subset vocabulary."""

    def __init__(self, comfy, vocab_dir, cache_dir):
        self.engine = pack_module(comfy, "ci_engine")
        self.hooks_module = pack_module(comfy, "ci_comfy.host.progress")
        self.vocab = self.engine.build_vocabulary(upstream_dir=vocab_dir)
        self.cache = self.engine.CacheSettings(cache_dir)

    def run(self, managed_or_bundle, mode: str, images, **settings):
        hooks = self.hooks_module.ComfyHooks(managed_or_bundle) if hasattr(managed_or_bundle, "patcher") else None
        bundle = managed_or_bundle.module if hooks else managed_or_bundle
        options = {"chunk_size": 512, "flavor_intermediate_count": 512, **settings}
        ci = self.engine.Interrogator(bundle, None, self.engine.Settings(**options), self.vocab, self.cache, hooks)
        return ci.run(mode, images, CAPTION)


@pytest.fixture(scope="module")
def runner(comfy, tmp_path_factory):
    vocab_dir = write_vocab_subset(tmp_path_factory.mktemp("vocab"), flavor_step=300, artist_step=200)
    return Runner(comfy, vocab_dir, tmp_path_factory.mktemp("embeds"))


@pytest.fixture(scope="module")
def reference(comfy, files):
    load_clip = pack_module(comfy, "ci_engine.models.clip").load_clip
    return load_clip(ARCH, checkpoint=files / "vitl.safetensors", device="cpu")


def publish_as_openai(runner, reference, images) -> None:
    """Load CLIP's tables of these weights, copied under the tower's open_clip name: the caches
    the safety net checks the reused text encoder against, as upstream's published ones would be."""
    for mode in ("fast", "negative"):  # every table
        runner.run(reference, mode, images[:1], max_flavors=2)
    ours = reference.name.replace("/", "_")
    for path in list(runner.cache.folder.iterdir()):
        if path.name.startswith(ours):
            (runner.cache.folder / path.name.replace(ours, "ViT-L-14_openai")).write_bytes(path.read_bytes())


def test_vitl_files_read_by_comfyuis_loaders_give_load_clips_results(comfy, host, runner, reference, images):
    publish_as_openai(runner, reference, images)
    reused = pack_module(comfy, "ci_comfy.host.reuse").clip_from_comfy(*host)
    for mode, flavors in (("fast", 16), ("classic", 3), ("best", 4), ("negative", 4)):
        theirs = [r.prompt for r in runner.run(reference, mode, images[:2], max_flavors=flavors)]
        assert [r.prompt for r in runner.run(reused, mode, images[:2], max_flavors=flavors)] == theirs, mode
    theirs = runner.run(reference, "analyze", images[:1])[0].analysis
    ours = runner.run(reused, "analyze", images[:1])[0].analysis
    assert json.dumps({t: [label for label, _ in rows] for t, rows in ours.items()}) == json.dumps(
        {t: [label for label, _ in rows] for t, rows in theirs.items()}
    )
    # the text encoder passed the safety net against the caches of its weights
    assert reused.module.name == "ViT-L-14/openai" and not reused.module.text_problem


def test_vitl_image_tower_alone_ranks_from_the_caches(comfy, host, runner, reference, images):
    publish_as_openai(runner, reference, images)
    reused = pack_module(comfy, "ci_comfy.host.reuse").clip_from_comfy(host[0], None)
    for mode in ("fast", "classic"):
        theirs = [r.prompt for r in runner.run(reference, mode, images[:2])]
        assert [r.prompt for r in runner.run(reused, mode, images[:2])] == theirs
    error = pack_module(comfy, "ci_engine.errors").InputError
    with pytest.raises(error, match="needs CLIP's text encoder"):
        runner.run(reused, "best", images[:1])


def test_vitl_counted_memory_holds_no_second_tower(comfy, host, runner, reference, images):
    """What ComfyUI's model management counts: Load CLIP's patcher holds the whole model; the
    reused path's holds the label tables only, next to ComfyUI's own patchers."""
    models = pack_module(comfy, "ci_comfy.host.models")
    loaded = models.ManagedModel(reference, *models.model_devices())
    reused = pack_module(comfy, "ci_comfy.host.reuse").clip_from_comfy(*host)
    for managed in (loaded, reused):
        runner.run(managed, "fast", images[:1])
    tables = sum(t.embeds.nelement() * t.embeds.element_size() for t in reused.module.tables.values())
    assert reused.patcher.model_size() == tables
    tower = sum(p.nelement() * p.element_size() for p in reference.model.parameters())
    assert loaded.patcher.model_size() >= tower
    log.warning("counted bytes: Load CLIP %d, CLIP from ComfyUI %d (tables)", loaded.patcher.model_size(), tables)
