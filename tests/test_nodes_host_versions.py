"""ComfyUI 0.38's behaviours (the stand-in follows 0.38 where it differs from 0.3.6x), and the
older way the pack falls back to where a host lacks a newer facility."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import torch
from comfy_pack import REAL, execute, interrogate_inputs, load_clip, pack_module, validate

stand_in_only = pytest.mark.skipif(bool(REAL), reason="the stand-in's ComfyUI 0.38 behaviours")


def custom_errors(errors: list[dict]) -> list[str]:
    assert [e for e in errors if e["type"] == "value_not_in_list"] == []
    return [e["details"] for e in errors if e["type"] == "custom_validation_failed"]


@pytest.mark.parametrize(
    ("node_id", "inputs", "expected"),
    [
        ("CI_LoadCLIP", {"clip_name": "gone.safetensors", "architecture": "auto", "precision": "auto"},
         "clip_name - CLIP model 'gone.safetensors' is neither a known name nor a file in clip_interrogator/clip"),
        ("CI_LoadCaptionModel", {"model_name": "gone-blip", "precision": "auto"},
         "model_name - Caption model 'gone-blip' is neither a known name nor a folder in clip_interrogator/caption"),
        ("CI_CaptionDataset", {"folder": "gone", "clip": ["2", 0], "mode": "fast", "max_flavors": -1, "prefix": "",
                               "suffix": "", "on_existing": "skip", "recursive": True},
         "folder - Dataset folder 'gone' is not under ComfyUI's input folder"),
    ],
)  # fmt: skip
def test_a_stale_name_gets_the_packs_message_not_value_not_in_list(comfy, monkeypatch, node_id, inputs, expected):
    details = custom_errors(validate(comfy, monkeypatch, node_id, **inputs))
    assert len(details) == 1 and details[0].startswith(expected)


def test_names_the_folders_hold_pass_validation(comfy, monkeypatch):
    good = {"clip_name": "TinyCLIP.safetensors", "architecture": "auto", "precision": "auto"}
    assert validate(comfy, monkeypatch, "CI_LoadCLIP", **good) == []
    assert validate(comfy, monkeypatch, "CI_LoadCaptionModel", model_name="tiny-blip", precision="auto") == []


@stand_in_only  # hosts before 0.38 never check V3 combo values (the node's execute does)
def test_other_combos_are_still_checked_by_the_host(comfy, monkeypatch):
    good = {"clip_name": "TinyCLIP.safetensors", "architecture": "auto", "precision": "auto"}
    for bad in ({"precision": "fp64"}, {"architecture": "ViT-Q-99"}):
        errors = validate(comfy, monkeypatch, "CI_LoadCLIP", **{**good, **bad})
        assert [e["type"] for e in errors] == ["value_not_in_list"]


def run_recording(comfy, image_batch, **inputs) -> list[tuple]:
    """Interrogate inside node 7's execution context; the bar updates and texts ComfyUI sends."""
    import server
    from comfy_execution.utils import CurrentNodeContext

    events: list[tuple] = []
    server.PromptServer().send_progress_text = lambda text, node_id, sid=None: events.append(("text", node_id, text))
    comfy.utils.set_progress_bar_global_hook(lambda v, t, p, node_id=None: events.append(("bar", node_id, v, t)))
    try:
        with CurrentNodeContext("p", "7"):
            execute(comfy, "CI_Interrogate", image=image_batch, clip=load_clip(comfy), caption="x", **inputs)
    finally:
        comfy.utils.set_progress_bar_global_hook(None)
        server.PromptServer.instance = None
    return events


@stand_in_only
def test_each_stage_gets_its_name_and_a_bar_whose_first_update_is_sent(comfy, image_batch):
    events = run_recording(comfy, image_batch[:2], **interrogate_inputs(mode="best", max_flavors=4))
    stages = [e[2] for e in events if e[0] == "text" and not e[2].startswith("Embedding")]
    assert stages[:3] == ["Flavor chain", "Interrogating", "Flavor chain"] and {e[1] for e in events} == {"7"}
    for i, event in enumerate(events):
        if event[0] == "text":  # a throttled bar never sends a value below its last: a new bar per stage
            assert events[i + 1][0] == "bar"
    runs, current = [], []
    for event in events:
        if event[0] == "text":
            runs.append(current := [])
        else:
            current.append(event[2])
    assert all(run == sorted(run) for run in runs)


class OutOfMemoryOnce:
    """Interrogator.run that fails first as a dynamic-VRAM host reports it: not torch's own
    OutOfMemoryError but an accelerator error saying "out of memory" (0.38's is_oom knows it)."""

    def __init__(self, real, message="CUDA error: out of memory"):
        self.real, self.message, self.batch_sizes = real, message, []

    def __call__(self, ci, *args, **kwargs):
        self.batch_sizes.append(ci.settings.text_batch_size)
        if len(self.batch_sizes) == 1:
            raise RuntimeError(self.message)
        return self.real(ci, *args, **kwargs)


@stand_in_only
def test_out_of_memory_frees_through_the_host_and_retries_with_half_the_batch(comfy, monkeypatch, image_batch):
    interrogator = pack_module(comfy, "ci_engine.interrogator").Interrogator
    failing = OutOfMemoryOnce(interrogator.run)
    monkeypatch.setattr(interrogator, "run", lambda ci, *args, **kwargs: failing(ci, *args, **kwargs))
    freed = len(comfy.mm.FREE_CALLS)
    out = execute(comfy, "CI_Interrogate", image=image_batch[:1], clip=load_clip(comfy), caption="x",
                  **interrogate_inputs(mode="fast"))  # fmt: skip
    assert out.args[0][0].startswith("x, ") and failing.batch_sizes == [1024, 512]
    assert len(comfy.mm.FREE_CALLS) == freed + 1


@stand_in_only
def test_other_errors_are_not_taken_for_out_of_memory(comfy, monkeypatch, image_batch):
    interrogator = pack_module(comfy, "ci_engine.interrogator").Interrogator
    failing = OutOfMemoryOnce(interrogator.run, message="shape mismatch")
    monkeypatch.setattr(interrogator, "run", lambda ci, *args, **kwargs: failing(ci, *args, **kwargs))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        execute(comfy, "CI_Interrogate", image=image_batch[:1], clip=load_clip(comfy), caption="x",
                **interrogate_inputs(mode="fast"))  # fmt: skip
    assert failing.batch_sizes == [1024]


@stand_in_only
def test_cancel_is_a_base_exception_and_still_stops_the_node(comfy, image_batch):
    assert not issubclass(comfy.mm.InterruptProcessingException, Exception)
    comfy.mm.interrupt_current_processing()
    try:
        with pytest.raises(comfy.mm.InterruptProcessingException):
            execute(comfy, "CI_Interrogate", image=image_batch[:1], clip=load_clip(comfy), caption="x",
                    **interrogate_inputs(mode="best"))  # fmt: skip
    finally:
        comfy.mm.interrupt_current_processing(False)


@stand_in_only
def test_folders_are_registered_in_on_load_or_else_with_the_node_list(comfy, monkeypatch):
    names = comfy.folder_paths.folder_names_and_paths
    for with_on_load in (True, False):
        for name in [n for n in names if n.startswith("clip_interrogator")]:
            monkeypatch.delitem(names, name)
        extension = asyncio.run(comfy.pack.comfy_entrypoint())
        assert "clip_interrogator_clip" not in names  # nothing happens on import or construction
        if with_on_load:
            asyncio.run(extension.on_load())
            assert "clip_interrogator_clip" in names
        assert len(asyncio.run(extension.get_node_list())) == 9 and "clip_interrogator_embeds" in names


def schema_inputs(comfy, node_id: str) -> dict:
    return {inp.id: inp for inp in comfy.nodes[node_id].GET_SCHEMA().inputs}


@stand_in_only
def test_rarely_changed_inputs_are_advanced(comfy):
    inputs = schema_inputs(comfy, "CI_Interrogate")
    hidden = {name for name, inp in inputs.items() if getattr(inp, "advanced", None)}
    assert hidden == {"compat", "artists", "mediums", "movements", "trending", "flavors", "exclude"}
    assert schema_inputs(comfy, "CI_NegativePrompt")["compat"].advanced
    assert comfy.nodes["CI_Interrogate"].GET_SCHEMA().search_aliases


@stand_in_only
def test_caption_style_and_target_show_only_what_their_choice_needs(comfy):
    style = schema_inputs(comfy, "CI_CaptionStyle")
    assert {o.key: [i.id for i in o.inputs] for o in style["style"].options} == {
        "short": [], "detailed": [], "tags": [], "custom": ["instruction"]}  # fmt: skip
    assert {o.key: [i.id for i in o.inputs] for o in style["sampling"].options} == {
        "off": [], "on": ["sampling_seed", "temperature"]}  # fmt: skip
    target = schema_inputs(comfy, "CI_Interrogate")["target"]
    assert {o.key: [i.id for i in o.inputs] for o in target.options} == {
        "clip": [], "128": ["target_clip"], "256": ["target_clip"], "512": ["target_clip"]}  # fmt: skip


def styled(comfy, **inputs):
    model = execute(comfy, "CI_LoadCaptionModel", model_name="tiny-blip", precision="auto").args[0]
    return execute(comfy, "CI_CaptionStyle", caption_model=model, **inputs).args[0].caption_style


@stand_in_only
def test_a_dynamic_caption_style_equals_the_flat_one(comfy):
    dynamic = styled(comfy, style={"style": "short"}, max_new_tokens=12,
                     sampling={"sampling": "on", "sampling_seed": 5, "temperature": 0.9})  # fmt: skip
    flat = styled(comfy, style="short", instruction="ignored", max_new_tokens=12, sampling=True, sampling_seed=5,
                  temperature=0.9)  # fmt: skip
    assert dynamic == flat and dynamic.sample and dynamic.seed == 5 and dynamic.instruction == ""


@stand_in_only
def test_a_dynamic_target_equals_the_flat_one(comfy, image_batch):
    clip = load_clip(comfy)
    common = {"image": image_batch[:1], "clip": clip, "caption": "a small red house by the sea at night"}
    dynamic = execute(comfy, "CI_Interrogate", **common, **interrogate_inputs(target={"target": "128"}))
    flat = execute(comfy, "CI_Interrogate", **common, **interrogate_inputs(target="128", target_clip=None))
    assert dynamic.args[0] == flat.args[0]


@stand_in_only
def test_hosts_before_0_38_get_every_input_shown_and_flat(comfy, monkeypatch):
    compat = pack_module(comfy, "ci_comfy.host.compat")
    io = pack_module(comfy, "ci_comfy.nodes.inputs").io
    monkeypatch.delattr(io, "DynamicCombo")
    monkeypatch.setattr(compat, "takes_advanced", lambda: False)
    style = schema_inputs(comfy, "CI_CaptionStyle")
    assert list(style) == ["caption_model", "style", "instruction", "max_new_tokens", "sampling", "sampling_seed",
                           "temperature"]  # fmt: skip
    interrogate = schema_inputs(comfy, "CI_Interrogate")
    assert [n for n in interrogate if n.startswith("target")] == ["target", "target_clip"]
    assert not any(getattr(inp, "advanced", None) for inp in interrogate.values())


@stand_in_only
def test_search_aliases_only_where_the_schema_has_them(comfy):
    compat = pack_module(comfy, "ci_comfy.host.compat")
    assert compat.schema_extras(["x"]) == {"search_aliases": ["x"]}

    @dataclasses.dataclass
    class OldSchema:  # 0.3.6x's Schema has no search_aliases field
        node_id: str

    io = pack_module(comfy, "ci_comfy.nodes.inputs").io
    real = io.Schema
    try:
        io.Schema = OldSchema
        assert compat.schema_extras(["x"]) == {}
    finally:
        io.Schema = real


@stand_in_only
def test_the_oom_check_falls_back_to_the_hosts_exception_type(comfy, monkeypatch):
    compat = pack_module(comfy, "ci_comfy.host.compat")
    monkeypatch.delattr(comfy.mm, "is_oom")
    assert compat.is_oom(torch.OutOfMemoryError("x")) and not compat.is_oom(RuntimeError("out of memory"))


@pytest.mark.comfyui
def test_a_real_host_without_the_newer_facilities_gets_flat_inputs(comfy):
    io = pack_module(comfy, "ci_comfy.nodes.inputs").io
    if hasattr(io, "DynamicCombo"):
        pytest.skip("this ComfyUI has DynamicCombo")
    assert list(schema_inputs(comfy, "CI_CaptionStyle"))[1:] == [
        "style", "instruction", "max_new_tokens", "sampling", "sampling_seed", "temperature"]  # fmt: skip
    assert not any(getattr(inp, "advanced", None) for inp in schema_inputs(comfy, "CI_Interrogate").values())
