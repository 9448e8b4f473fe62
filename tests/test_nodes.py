"""The node pack, loaded the way ComfyUI loads it, against a stand-in of ComfyUI's modules
(tests/comfy_stub) or, when COMFYUI_DIR is set, against the real ComfyUI."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import pytest
import torch
from comfy_pack import REAL, ROOT, execute, interrogate_inputs, load_clip, our_patchers, pack_module


def test_pack_exports_only_the_v3_entry_point(comfy):
    modules = {"nodes", "ci_comfy", "ci_engine"}
    exported = {k for k in vars(comfy.pack) if not k.startswith("__")} - modules
    assert exported == {"comfy_entrypoint", "WEB_DIRECTORY"}
    assert (ROOT / comfy.pack.WEB_DIRECTORY).is_dir()


def test_nine_prefixed_nodes_with_tooltips_and_own_wire_types(comfy):
    assert set(comfy.nodes) == {
        "CI_LoadCLIP",
        "CI_ClipFromComfy",
        "CI_LoadCaptionModel",
        "CI_CaptionStyle",
        "CI_TagStyle",
        "CI_Interrogate",
        "CI_NegativePrompt",
        "CI_Analyze",
        "CI_CaptionDataset",
    }
    for cls in comfy.nodes.values():
        schema = cls.GET_SCHEMA()
        assert schema.category == "CLIP Interrogator"
        assert all(i.tooltip for i in schema.inputs), [i.id for i in schema.inputs if not i.tooltip]
    load_outputs = comfy.nodes["CI_LoadCLIP"].GET_SCHEMA().outputs
    assert load_outputs[0].io_type == "CI_CLIP"
    interrogate = comfy.nodes["CI_Interrogate"].GET_SCHEMA()
    assert {i.id: i.io_type for i in interrogate.inputs}["caption_model"] == "CI_CAPTION_MODEL"
    assert interrogate.is_output_node and all(o.is_output_list for o in interrogate.outputs)


def test_node_choices_come_from_the_mode_table(comfy):
    from ci_engine.modes import MODES
    from ci_engine.vocab import MERGED_TABLES

    nodes = pack_module(comfy, "ci_comfy.nodes.inputs")
    inputs = {i.id: i for i in comfy.nodes["CI_Interrogate"].GET_SCHEMA().inputs}
    assert inputs["mode"].options == [name for name, spec in MODES.items() if spec.gives_prompt]
    assert set(nodes.TABLE_TOGGLES.values()) == set(MERGED_TABLES)
    assert list(nodes.TABLE_TOGGLES) == [i for i in inputs if i in nodes.TABLE_TOGGLES]  # saved order


def test_model_choices_come_from_registered_folders(comfy):
    clip_names = comfy.nodes["CI_LoadCLIP"].GET_SCHEMA().inputs[0].options
    assert clip_names[0] == "TinyCLIP.safetensors" and "ViT-L-14/openai" in clip_names
    assert "TinyCLIP.json" not in clip_names
    caption_names = comfy.nodes["CI_LoadCaptionModel"].GET_SCHEMA().inputs[0].options
    assert "blip-large" in caption_names and "tiny-blip" in caption_names


def test_interrogate_gives_one_prompt_per_image_like_the_engine(comfy, image_batch, model_dir, tmp_path):
    from ci_engine import Interrogator, Settings
    from ci_engine import load_clip as engine_load_clip

    tensor_to_images = pack_module(comfy, "ci_comfy.host.images").tensor_to_images

    clip = load_clip(comfy)
    out = execute(comfy, "CI_Interrogate", image=image_batch, clip=clip, caption="a red barn", **interrogate_inputs())
    prompts, captions, negatives = out.args
    assert len(prompts) == 3 and captions == ["a red barn"] * 3 and len(negatives) == 3
    engine = Interrogator(
        engine_load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors"), None, Settings()
    )
    expected = [r.prompt for r in engine.run("fast", tensor_to_images(image_batch), ["a red barn"])]
    assert prompts == expected
    ui = out.ui.as_dict() if hasattr(out.ui, "as_dict") else out.ui
    assert "\n\n".join(prompts) in ui["text"][0]  # read by web/js/ci_prompt_display.js


def test_models_load_fully_through_comfyui_and_unload_evicts_them(comfy, image_batch):
    clip = load_clip(comfy)
    captioner = execute(comfy, "CI_LoadCaptionModel", model_name="tiny-blip", precision="auto").args[0]
    assert type(captioner.patcher.model).__name__ == "Container"  # transformers' .device is read-only
    if hasattr(comfy.mm, "LOAD_CALLS"):
        comfy.mm.LOAD_CALLS.clear()
    prompts = execute(
        comfy,
        "CI_Interrogate",
        image=image_batch,
        clip=clip,
        caption_model=captioner,
        **interrogate_inputs(mode="best", max_flavors=4),
    ).args[0]
    assert len(prompts) == 3 and all(prompts)
    if hasattr(comfy.mm, "LOAD_CALLS"):
        assert comfy.mm.LOAD_CALLS and all(call["force_full_load"] for call in comfy.mm.LOAD_CALLS)
        loaded_order = [call["models"][0]() for call in comfy.mm.LOAD_CALLS]
        assert loaded_order[0] is captioner.patcher and clip.patcher in loaded_order[1:]
        assert captioner.patcher not in loaded_order[loaded_order.index(clip.patcher) :]  # captions first
    assert {clip.patcher, captioner.patcher} <= {m.model for m in our_patchers(comfy)}
    assert clip.patcher.model.device == comfy.mm.get_torch_device()
    # on this CPU-only machine load and offload devices are both the CPU: offload to "meta"
    # instead, so that a move (or a tensor left behind) shows
    for patcher in (clip.patcher, captioner.patcher):
        patcher.offload_device = torch.device("meta")
    comfy.mm.unload_all_models()
    assert our_patchers(comfy) == [] and clip.patcher.loaded_size() == 0
    assert next(clip.module.model.parameters()).device.type == "meta"
    assert next(captioner.module.model.parameters()).device.type == "meta"
    tables = clip.module.tables.values()
    assert tables and all(t.embeds.device.type == "meta" for t in tables)  # label tables move with CLIP


def test_label_tables_are_buffers_counted_in_model_size(comfy, image_batch):
    clip = load_clip(comfy)
    before = clip.patcher.model_size()
    execute(comfy, "CI_Interrogate", image=image_batch[:1], clip=clip, caption="x", **interrogate_inputs())
    table_bytes = sum(t.embeds.nelement() * t.embeds.element_size() for t in clip.module.tables.values())
    assert clip.patcher.model_size() == before + table_bytes


def test_pack_keeps_no_strong_reference_to_models(comfy, image_batch):
    clip = load_clip(comfy)
    execute(comfy, "CI_Interrogate", image=image_batch[:1], clip=clip, caption="x", **interrogate_inputs())
    container = weakref.ref(clip.patcher.model)
    del clip
    gc.collect()
    assert container() is None
    comfy.mm.cleanup_models()
    assert all(m.model is not None for m in comfy.mm.current_loaded_models)


def test_cancel_stops_best_mode_within_one_chain_step(comfy, image_batch):
    clip = load_clip(comfy)
    seen = []

    def hook(value, total, preview, node_id=None):
        seen.append(value)
        if len(seen) == 3:
            comfy.mm.interrupt_current_processing()
        comfy.mm.throw_exception_if_processing_interrupted()  # as ComfyUI's own hook does

    comfy.utils.set_progress_bar_global_hook(hook)
    try:
        with pytest.raises(comfy.mm.InterruptProcessingException):
            execute(
                comfy,
                "CI_Interrogate",
                image=image_batch[:1],
                clip=clip,
                caption="x",
                **interrogate_inputs(mode="best", max_flavors=32),
            )
    finally:
        comfy.utils.set_progress_bar_global_hook(None)
        comfy.mm.interrupt_current_processing(False)
    assert len(seen) == 3


def test_negative_and_analyze_nodes(comfy, image_batch):
    clip = load_clip(comfy)
    negative = execute(comfy, "CI_NegativePrompt", image=image_batch[:2], clip=clip, max_flavors=6, compat=False)
    assert len(negative.args[0]) == 2 and all(negative.args[0])
    analysis = execute(comfy, "CI_Analyze", image=image_batch[:1], clip=clip, top_k=3)
    parsed = json.loads(analysis.args[0][0])
    assert set(parsed) >= {"artists", "flavors", "mediums", "movements", "trendings"}
    assert all(len(rows) == 3 and isinstance(rows[0][1], float) for rows in parsed.values())
    assert analysis.ui["ci_analysis"] == analysis.args[0]


@pytest.mark.comfyui
def test_running_against_real_comfyui(comfy):
    assert Path(comfy.mm.__file__).resolve().is_relative_to(Path(REAL).resolve())
