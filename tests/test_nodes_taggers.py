"""Booru taggers through the nodes (Load Caption Model → Tag Style → Interrogate / Analyze),
against the stand-in or, with COMFYUI_DIR set, a real ComfyUI: tags as the engine chooses
them, repeatable, styled without a reload, refused where they do not belong, and evicted by
ComfyUI's unload (what /free and the Unload button call)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from comfy_pack import REAL, execute, interrogate_inputs, load_clip, our_patchers, pack_module

from ci_engine.models.registry import TAGGER_MODELS
from ci_engine.testing.taggers import TINY_TAGGERS, save_tagger

KINDS = list(TINY_TAGGERS)  # vit, swinv2, convnext, eva02
WEIGHTED = re.compile(r"^\(.+:\d\.\d\d\)$")


@pytest.fixture(scope="module")
def tagger_folder(comfy) -> Path:
    """The tiny taggers as folders in ComfyUI's caption folder, listed by the loader."""
    base = Path(comfy.folder_paths.get_folder_paths("clip_interrogator_caption")[0])
    for kind in KINDS:
        if not (base / f"tiny-wd-{kind}").is_dir():
            save_tagger(base / f"tiny-wd-{kind}", kind)
    return base


def pack_error(comfy) -> type:
    """The pack's own InputError (ComfyUI loads the pack as a package of its own)."""
    return pack_module(comfy, "ci_engine.errors").InputError


def load(comfy, name: str):
    return execute(comfy, "CI_LoadCaptionModel", model_name=name, precision="auto").args[0]


def tag_style_inputs(comfy, mcut: bool = False, general: float = 0.35, character: float = 0.85, **rest) -> dict:
    """Tag Style's inputs as this host sends them: a DynamicCombo dict (0.38) or flat."""
    thresholds = {"general_threshold": general, "character_threshold": character}
    flat = {"max_tags": 0, "replace_underscores": True, "rating": "none", "order": "category",
            "escape_parentheses": True, "weights": False, **rest}  # fmt: skip
    if pack_module(comfy, "ci_comfy.host.compat").has_dynamic_combo():
        return {"mcut": {"mcut": "on"} if mcut else {"mcut": "off", **thresholds}, **flat}
    return {"mcut": mcut, **thresholds, **flat}


def tag_styled(comfy, tagger, **options):
    return execute(comfy, "CI_TagStyle", caption_model=tagger, **tag_style_inputs(comfy, **options)).args[0]


def captions(comfy, image, caption_model, **overrides) -> list[str]:
    inputs = {"image": image, "clip": load_clip(comfy), "caption_model": caption_model}
    return execute(comfy, "CI_Interrogate", **inputs, **interrogate_inputs(mode="caption", **overrides)).args[1]


def tags_of(caption: str) -> list[str]:
    return caption.split(", ") if caption else []


def test_the_loader_lists_known_taggers_and_tagger_folders(comfy, tagger_folder):
    names = comfy.nodes["CI_LoadCaptionModel"].GET_SCHEMA().inputs[0].options
    assert set(TAGGER_MODELS) <= set(names) and {f"tiny-wd-{kind}" for kind in KINDS} <= set(names)
    assert "blip-large" in names and "tiny-blip" in names
    validate = comfy.nodes["CI_LoadCaptionModel"].validate_inputs
    assert validate(model_name="wd-vit-tagger-v3") is True and validate(model_name="tiny-wd-eva02") is True


def test_an_onnx_only_tagger_folder_is_listed_and_refused_by_name(comfy, tagger_folder):
    folder = tagger_folder / "onnx-only-tagger"
    folder.mkdir()
    try:
        (folder / "model.onnx").write_bytes(b"")
        shutil.copy(tagger_folder / "tiny-wd-vit" / "selected_tags.csv", folder)
        assert "onnx-only-tagger" in pack_module(comfy, "ci_comfy.host.folders").caption_choices()
        with pytest.raises(pack_error(comfy), match="has only model.onnx.*model.safetensors"):
            load(comfy, "onnx-only-tagger")
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize("kind", KINDS)
def test_each_tagger_tags_through_the_nodes_and_is_evicted(kind, comfy, tagger_folder, image_batch):
    images = pack_module(comfy, "ci_comfy.host.images").tensor_to_images(image_batch)
    style = pack_module(comfy, "ci_engine.tags.style").TagStyle()
    joined = pack_module(comfy, "ci_engine.tags.text").joined
    tagger = load(comfy, f"tiny-wd-{kind}")
    assert type(tagger.module).__name__ == "Tagger" and tagger.module.dtype == torch.float32
    runs = [captions(comfy, image_batch, tagger) for _ in range(2)]
    expected = [joined(tags, style) for tags in tagger.module.tag(images, style)]
    assert runs[0] == runs[1] == expected and len(runs[0]) == 3 and all(runs[0]) and len(set(runs[0])) == 3
    alone = [captions(comfy, image_batch[i : i + 1], tagger)[0] for i in range(3)]
    assert alone == runs[0]  # a batch tags each image as it would alone
    assert tagger.patcher in {m.model for m in our_patchers(comfy)}
    tagger.patcher.offload_device = torch.device("meta")  # CPU-only here: make the move visible
    comfy.mm.unload_all_models()
    assert our_patchers(comfy) == [] and tagger.module.device.type == "meta"


def test_tag_style_changes_the_tags_without_a_reload(comfy, tagger_folder, image_batch):
    tagger = load(comfy, "tiny-wd-vit")
    every = tag_styled(comfy, tagger, general=0.0)  # every general tag, the sure characters
    assert every.patcher is tagger.patcher  # one model in memory, loaded and evicted as one
    default, wide = captions(comfy, image_batch, tagger), captions(comfy, image_batch, every)
    assert all(len(tags_of(w)) >= 8 > len(tags_of(d)) for d, w in zip(default, wide))
    assert "long hair" in wide[0] and "hat \\(object\\)" in wide[0] and "^_^" in wide[0]
    two = captions(comfy, image_batch, tag_styled(comfy, tagger, general=0.0, max_tags=2))
    assert [len(tags_of(c)) for c in two] == [2, 2, 2]
    weighted = captions(comfy, image_batch[:1], tag_styled(comfy, tagger, general=0.0, weights=True))[0]
    assert all(WEIGHTED.match(tag) for tag in tags_of(weighted))
    raw = tag_styled(comfy, tagger, general=0.0, replace_underscores=False, escape_parentheses=False)
    assert (
        "long_hair" in captions(comfy, image_batch[:1], raw)[0]
        and "hat_(object)" in captions(comfy, image_batch[:1], raw)[0]
    )
    rated = captions(comfy, image_batch[:1], tag_styled(comfy, tagger, rating="tag"))[0]
    assert tags_of(rated)[0] in {"general", "sensitive", "questionable", "explicit"}
    assert len([m for m in our_patchers(comfy) if m.model is tagger.patcher]) == 1


def test_mcut_and_the_interrogate_exclusions_reach_the_tags(comfy, tagger_folder, image_batch):
    tagger = load(comfy, "tiny-wd-convnext")
    styled = tag_styled(comfy, tagger, mcut=True)
    assert styled.tag_style.mcut and styled.tag_style.general_threshold == 0.35
    wide = tag_styled(comfy, tagger, general=0.0)
    assert "long hair" in captions(comfy, image_batch[:1], wide)[0]
    kept = captions(comfy, image_batch[:1], wide, exclude="long_hair\nsmile")[0]
    assert "long hair" not in kept and "smile" not in tags_of(kept) and "solo" in tags_of(kept)


@pytest.mark.skipif(bool(REAL), reason="the stand-in's ComfyUI 0.38 schema (DynamicCombo, advanced)")
def test_tag_style_shows_thresholds_only_without_mcut_and_hides_the_rare_options(comfy):
    inputs = {i.id: i for i in comfy.nodes["CI_TagStyle"].GET_SCHEMA().inputs}
    assert {o.key: [i.id for i in o.inputs] for o in inputs["mcut"].options} == {
        "off": ["general_threshold", "character_threshold"], "on": []}  # fmt: skip
    advanced = {name for name, i in inputs.items() if getattr(i, "advanced", None)}
    assert advanced == {"rating", "order", "escape_parentheses", "weights"} and all(i.tooltip for i in inputs.values())


def test_the_flat_tag_style_equals_the_dynamic_one(comfy):
    read = pack_module(comfy, "ci_comfy.nodes.tags").read_tag_style
    tag_style = pack_module(comfy, "ci_engine.tags.style").TagStyle
    rest = {"max_tags": 5, "replace_underscores": False, "rating": "tag", "order": "confidence",
            "escape_parentheses": False, "weights": True}  # fmt: skip
    flat = read(False, general_threshold=0.2, character_threshold=0.7, **rest)
    dynamic = read({"mcut": "off", "general_threshold": 0.2, "character_threshold": 0.7}, **rest)
    wanted = tag_style(0.2, 0.7, False, "tag", "confidence", underscores=True, escape=False, weights=True, max_tags=5)
    assert flat == dynamic == wanted
    assert (
        read({"mcut": "on"}, **rest)
        == read(True, **rest)
        == tag_style(
            mcut=True, rating="tag", order="confidence", underscores=True, escape=False, weights=True, max_tags=5
        )
    )


def test_tag_style_on_a_caption_model_and_caption_style_on_a_tagger_are_refused(comfy, tagger_folder):
    with pytest.raises(pack_error(comfy), match="'.*tiny-blip' is a caption model, not a tagger.*Caption Style"):
        tag_styled(comfy, load(comfy, "tiny-blip"))
    caption_style = {
        "style": "short",
        "instruction": "",
        "max_new_tokens": 0,
        "sampling": False,
        "sampling_seed": 0,
        "temperature": 0.7,
    }  # fmt: skip (the default style: still refused)
    with pytest.raises(pack_error(comfy), match="'tiny-wd-vit' is a tagger.*Use Tag Style"):
        execute(comfy, "CI_CaptionStyle", caption_model=load(comfy, "tiny-wd-vit"), **caption_style)
    with pytest.raises(pack_error(comfy), match="caption_model input got str"):
        execute(comfy, "CI_TagStyle", caption_model="tiny-wd-vit", **tag_style_inputs(comfy))


def test_auto_precision_is_comfyuis_choice_for_taggers(comfy, tagger_folder, monkeypatch):
    monkeypatch.setattr(comfy.mm, "should_use_fp16", lambda *args, **kwargs: True)
    assert load(comfy, "tiny-wd-swinv2").module.dtype == torch.float16
    fixed = execute(comfy, "CI_LoadCaptionModel", model_name="tiny-wd-swinv2", precision="fp32").args[0]
    assert fixed.module.dtype == torch.float32


@pytest.fixture
def small_vocabulary(comfy, vocab_dir, tmp_path, monkeypatch):
    """Analyze ranks every table: the label subset, its tables in a cache folder of their own
    (the full tables keep their files in the pack's folder), so it runs in seconds."""
    run = pack_module(comfy, "ci_comfy.host.run")
    build = pack_module(comfy, "ci_engine.vocab").build_vocabulary
    monkeypatch.setattr(run, "build_vocabulary", lambda compat: build(compat=compat, upstream_dir=vocab_dir))
    monkeypatch.setattr(run, "embeds_cache", lambda: run.CacheSettings(tmp_path))


def test_analyze_shows_a_taggers_tags_first_and_refuses_a_caption_model(
    comfy, tagger_folder, image_batch, small_vocabulary
):
    clip = load_clip(comfy)
    tagger = tag_styled(comfy, load(comfy, "tiny-wd-eva02"), general=0.0, max_tags=3)
    analysis = execute(comfy, "CI_Analyze", image=image_batch[:2], clip=clip, top_k=2, caption_model=tagger)
    parsed = [json.loads(text) for text in analysis.args[0]]
    for one in parsed:
        assert list(one)[0] == "tags" and len(one["tags"]) == 3 and len(one["flavors"]) == 2
        assert all(isinstance(score, float) and 0.0 <= score <= 1.0 for _, score in one["tags"])
    assert parsed[0]["tags"] != parsed[1]["tags"] and analysis.ui["ci_analysis"] == analysis.args[0]
    plain = json.loads(execute(comfy, "CI_Analyze", image=image_batch[:1], clip=clip, top_k=2).args[0][0])
    assert "tags" not in plain and plain["flavors"] == parsed[0]["flavors"]
    with pytest.raises(pack_error(comfy), match="is a caption model, not a tagger.*Analyze shows a tagger's tags"):
        execute(comfy, "CI_Analyze", image=image_batch[:1], clip=clip, top_k=2, caption_model=load(comfy, "tiny-blip"))
