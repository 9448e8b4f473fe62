"""Caption styles and their checks, caption clean-up, and the registry of caption models."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ci_engine import Settings
from ci_engine.errors import InputError
from ci_engine.models.caption import load_caption_model
from ci_engine.models.caption_families import FAMILIES, MODEL_TYPES
from ci_engine.models.caption_style import CaptionStyle
from ci_engine.models.caption_text import clean_caption, drop_cut_tail
from ci_engine.models.chat_prompt import chat_inputs
from ci_engine.models.registry import CAPTION_MODELS
from ci_engine.testing import save_caption_model, synthetic_images


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"style": "poem"}, "Unknown caption style 'poem'"),
        ({"style": "custom"}, "needs an instruction"),
        ({"style": "custom", "instruction": "   "}, "needs an instruction"),
        ({"style": "tags", "instruction": "Be brief."}, "'custom' only"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_new_tokens": 5000}, "max_new_tokens"),
        ({"max_new_tokens": 12.5}, "max_new_tokens"),
        ({"sample": "yes"}, "sample must be True or False"),
        ({"seed": -1}, "seed"),
        ({"seed": True}, "seed"),
        ({"temperature": 0}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
    ],
)
def test_unusable_styles_are_refused_by_name(kwargs, message):
    with pytest.raises(InputError, match=message):
        CaptionStyle(**kwargs)


def test_token_limits_follow_the_style():
    assert CaptionStyle().token_limit(32) == 32  # short: upstream's caption_max_length
    assert CaptionStyle("detailed").token_limit(32) > 200 and CaptionStyle("tags").token_limit(32) > 100
    assert CaptionStyle("detailed", max_new_tokens=50).token_limit(32) == 50
    assert CaptionStyle("custom", "Describe the light.").prompt == "Describe the light."


def test_compat_allows_only_short_greedy_captions():
    Settings(compat=True, caption_style=CaptionStyle())
    for style in (CaptionStyle("detailed"), CaptionStyle(sample=True)):
        with pytest.raises(InputError, match="caption style 'short'"):
            Settings(compat=True, caption_style=style)
    with pytest.raises(InputError, match="CaptionStyle"):
        Settings(caption_style="detailed")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arafed man with a cat cat on a mat", "man with a cat on a mat"),
        ("a cat, a cat, a cat on a mat", "a cat, a cat on a mat"),
        ("A dog runs. A dog runs. The sky is blue.", "A dog runs. The sky is blue."),
        ("red, blue, Red, green", "red, blue, green"),
        ("a photo of st. louis at night", "a photo of st. louis at night"),
    ],
)
def test_clean_caption_drops_repeated_words_and_phrases(text, expected):
    assert clean_caption(text) == expected


def test_a_cut_off_caption_ends_at_its_last_whole_sentence_or_tag():
    assert drop_cut_tail("A dog runs. The sky is blue and the", "detailed") == "A dog runs."
    assert drop_cut_tail("A dog runs and the", "detailed") == "A dog runs and the"
    assert drop_cut_tail("dog, grass, blue sk", "tags") == "dog, grass"
    assert drop_cut_tail("dog", "tags") == "dog"


def test_registry_names_native_families_pinned_to_commits():
    for name, spec in CAPTION_MODELS.items():
        assert spec.family in FAMILIES and re.fullmatch(r"[0-9a-f]{40}", spec.revision), name
        assert spec.params > 0 and spec.size.endswith(("MB", "GB")), name
    assert {spec.family for spec in CAPTION_MODELS.values()} == set(MODEL_TYPES.values())
    assert CAPTION_MODELS["joycaption-beta-one"].system


def _hub_snapshot(cache: Path, repo: str, commit: str, folder: Path) -> None:
    entry = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(folder, entry / "snapshots" / commit)
    (entry / "refs").mkdir(exist_ok=True)
    (entry / "refs" / "main").write_text(commit)


def test_a_chat_model_by_name_loads_its_pinned_snapshot_with_its_system_prompt(tmp_path):
    spec = CAPTION_MODELS["joycaption-beta-one"]
    _hub_snapshot(tmp_path / "hub", spec.hub_id, spec.revision, save_caption_model("llava", tmp_path / "llava"))
    captioner = load_caption_model("joycaption-beta-one", cache_dir=tmp_path / "hub", allow_download=False)
    assert captioner.family == "llava" and captioner.system == spec.system
    inputs = chat_inputs(captioner.processor, synthetic_images(1), "Describe.", captioner.system)
    prompt = captioner.processor.batch_decode(inputs["input_ids"])[0]
    assert "helpful image captioner" in prompt and prompt.index("helpful") < prompt.index("Describe")
    assert captioner.generate(synthetic_images(2), 32, CaptionStyle("detailed", max_new_tokens=6))


def test_the_readme_lists_every_caption_model_with_its_fp16_weights_and_styles():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8").splitlines()
    for name, spec in CAPTION_MODELS.items():
        row = next((line for line in readme if line.startswith(f"| `{name}` |")), "")
        assert f"{spec.params * 2:.1f} GB" in row and ", ".join(FAMILIES[spec.family].styles) in row, name


def test_a_family_this_transformers_lacks_says_to_upgrade():
    from dataclasses import replace

    from ci_engine.models.caption import _model_class

    with pytest.raises(InputError, match="need a newer transformers"):
        _model_class(replace(FAMILIES["florence2"], model_class="Florence9ForEverything"))


def test_language_model_families_prefer_bf16_on_a_gpu_that_has_it(monkeypatch):
    import torch

    from ci_engine.models.caption import caption_precision, cuda_bf16

    def chosen(family: str, precision: str, device: torch.device) -> str:
        return caption_precision(FAMILIES[family], precision, "auto", cuda_bf16(device))

    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert chosen("qwen2.5-vl", "auto", cuda) == "bf16"
    assert chosen("blip", "auto", cuda) == "auto"  # upstream's fp16
    assert chosen("git", "auto", cuda) == "fp32"
    assert chosen("qwen2.5-vl", "fp16", cuda) == "fp16"  # asked for: kept
    assert chosen("qwen2.5-vl", "auto", torch.device("cpu")) == "auto"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert chosen("llava", "auto", cuda) == "auto"
