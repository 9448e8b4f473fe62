"""Prompts that fit their target: CLIP's 77-token window, or a T5/LLM token budget counted by
the target's own tokenizer, with the labels still chosen by CLIP (not cut off by a long caption)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from comfy_pack import REAL, execute, interrogate_inputs, load_clip

from ci_engine import Interrogator, Settings, cli, cli_args
from ci_engine.errors import InputError
from ci_engine.target import Target, scoring_caption, tokenizer_counter
from ci_engine.testing import synthetic_images

SENTENCE = "a very detailed photograph of an old wooden barn standing in a field of golden wheat under a stormy sky"
LONG = ", ".join([SENTENCE] * 4)  # about 90 CLIP tokens: more than CLIP's whole window
IMAGE = synthetic_images(1, seed=4)[0]


def labels_after(prompt: str, caption: str) -> list[str]:
    assert prompt.startswith(caption)
    return [part for part in prompt[len(caption) :].split(", ") if part]


def test_clip_target_is_one_window(clip, vocab):
    prompt = Interrogator(clip, None, Settings(), vocab=vocab).run("fast", [IMAGE], [LONG])[0].prompt
    assert len(clip.tokens.window(clip.tokens.encode(prompt))) <= 77


@pytest.mark.parametrize(("mode", "budget"), [("fast", 256), ("best", 512), ("classic", 256)])
def test_budgets_hold_with_the_labels_clip_chose(clip, vocab, model_dir, mode, budget, small_settings):
    count = tokenizer_counter(model_dir / "blip")  # a real tokenizer (BLIP's BERT) standing in for T5
    settings = Settings(**small_settings)
    prompt = Interrogator(clip, None, settings, vocab=vocab, target=Target(budget, count)).run(mode, [IMAGE], LONG)
    prompt = prompt[0].prompt
    assert count(prompt) <= budget
    labels = labels_after(prompt, LONG)  # the whole caption, then labels
    short = scoring_caption(LONG, clip.tokens)
    chosen = labels_after(Interrogator(clip, None, settings, vocab=vocab).run(mode, [IMAGE], short)[0].prompt, short)
    truncated = Interrogator(clip, None, settings, vocab=vocab).run(mode, [IMAGE], LONG)[0].prompt
    assert labels and labels == chosen[: len(labels)]
    fitted_after_cut = [part for part in truncated.split(", ") if part not in LONG.split(", ")]
    assert labels != fitted_after_cut  # not "whatever fits after truncation" (here: no label at all)


@pytest.mark.parametrize("mode", ["fast", "caption"])
def test_a_budget_below_the_caption_cuts_it_at_a_word(clip, vocab, model_dir, mode):
    count = tokenizer_counter(model_dir / "blip")
    prompt = Interrogator(clip, None, Settings(), vocab=vocab, target=Target(30, count)).run(mode, [IMAGE], LONG)
    text = prompt[0].prompt
    assert count(text) <= 30 and LONG.startswith(text) and LONG[len(text)] in " ,"


def test_bad_targets_are_clear_errors(model_dir, tmp_path, capsys, monkeypatch):
    with pytest.raises(InputError, match="too small"):
        Target(4, len)
    with pytest.raises(InputError, match="Cannot load a tokenizer"):
        tokenizer_counter(tmp_path)
    IMAGE.save(tmp_path / "a.png")
    clip_args = ["--clip", "TinyCLIP", "--clip-checkpoint", str(model_dir / "clip" / "TinyCLIP.safetensors")]
    args = [str(tmp_path / "a.png"), *clip_args, "--caption", LONG, "--mode", "fast", "--cache-dir", str(tmp_path)]
    with monkeypatch.context() as m:  # refused before the models load, and so before any label table is built
        m.setattr(cli_args, "load_models", lambda *a, **k: pytest.fail("models loaded before --target was checked"))
        assert cli.main([*args, "--target", "lots"]) == 2
    assert "--target must be clip or a number" in capsys.readouterr().err
    args += ["--tables", "mediums"]  # one small table: the labels are there, the full vocabulary's tables are not built
    assert cli.main([*args, "--target", "256", "--target-tokenizer", str(model_dir / "blip"), "--json"]) == 0
    prompt = json.loads(capsys.readouterr().out)["prompt"]
    assert tokenizer_counter(model_dir / "blip")(prompt) <= 256 and prompt.startswith(LONG + ", ")


def test_the_node_counts_with_the_target_clip_tokenizer(comfy, image_batch, model_dir):
    from transformers import AutoTokenizer

    bert = AutoTokenizer.from_pretrained(str(model_dir / "blip"))
    streams = {
        "l": SimpleNamespace(tokenizer=bert, max_length=77),
        "t5": SimpleNamespace(tokenizer=bert, max_length=10**8),
    }
    target_clip = SimpleNamespace(tokenizer=SimpleNamespace(**streams))  # the shape of a core CLIP object
    inputs = {"image": image_batch[:2], "clip": load_clip(comfy), "caption": LONG, **interrogate_inputs()}
    prompts = execute(comfy, "CI_Interrogate", **inputs, target="128", target_clip=target_clip).args[0]
    assert all(len(bert(p)["input_ids"]) <= 128 and p.startswith(LONG + ", ") for p in prompts)


@pytest.mark.comfyui
@pytest.mark.skipif(not REAL, reason="needs ComfyUI's own T5 tokenizer files")
def test_budgets_hold_with_comfyuis_own_t5_tokenizer(comfy, image_batch):
    from comfy.text_encoders.flux import FluxTokenizer

    flux = SimpleNamespace(tokenizer=FluxTokenizer())  # tokenizers only: no weights needed
    t5 = flux.tokenizer.t5xxl.tokenizer
    inputs = {"image": image_batch[:1], "clip": load_clip(comfy), "caption": LONG * 3, **interrogate_inputs()}
    for budget in ("256", "512"):
        prompt = execute(comfy, "CI_Interrogate", **inputs, target=budget, target_clip=flux).args[0][0]
        assert len(t5(prompt)["input_ids"]) <= int(budget)
