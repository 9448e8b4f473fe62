"""Every caption family from a local folder: a tiny random-weight model with its real processor
class, loaded by transformers' native classes, captioning through the CLI (in this process, as
test_bad_inputs_cli.py does; test_cli.py runs the real process) in every style it supports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_cli import tiny_model_args

from ci_engine import cli
from ci_engine.errors import InputError
from ci_engine.models.caption import load_caption_model
from ci_engine.models.caption_families import FAMILIES
from ci_engine.models.caption_style import CaptionStyle
from ci_engine.testing import CAPTION_FAMILIES, save_caption_model, synthetic_images

NEW_FAMILIES = [f for f in CAPTION_FAMILIES if f != "blip"]
NATIVE_CLASS = {
    "florence2": "Florence2ForConditionalGeneration",
    "llava": "LlavaForConditionalGeneration",
    "qwen2.5-vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen3-vl": "Qwen3VLForConditionalGeneration",
    "smolvlm": "SmolVLMForConditionalGeneration",
    "image-text-to-text": "Qwen2VLForConditionalGeneration",
}


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {family: save_caption_model(family, root / family) for family in CAPTION_FAMILIES}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("family_images")
    paths = [root / f"img{i}.png" for i in range(3)]
    for path, image in zip(paths, synthetic_images(3)):
        image.save(path)
    return paths


def run_cli(capsys, *args) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return status, out.out, out.err


def caption_args(model_dir: Path, images: list[Path], folder: Path, *extra) -> list:
    common = ["--caption-model", folder, "--mode", "caption", "--json", "--device", "cpu"]
    return [*images, *tiny_model_args(model_dir), *common, *extra]


@pytest.mark.parametrize("family", NEW_FAMILIES)
def test_each_family_captions_a_batch_deterministically_through_the_cli(family, family_dirs, images, model_dir, capsys):
    folder = family_dirs[family]
    assert "auto_map" not in json.loads((folder / "config.json").read_text())
    assert list(folder.glob("*.safetensors")) and not list(folder.glob("*.bin"))
    for style in FAMILIES[family].styles:
        extra = ["--caption-style", style, "--caption-tokens", "8"]
        extra += ["--caption-prompt", "Name the colours."] if style == "custom" else []
        runs = [run_cli(capsys, *caption_args(model_dir, images, folder, *extra)) for _ in range(2)]
        assert [status for status, _, _ in runs] == [0, 0], runs[0][2]
        records = [[json.loads(line) for line in out.splitlines()] for _, out, _ in runs]
        texts = [[(r["image"], r["caption"], r["prompt"]) for r in run] for run in records]
        assert texts[0] == texts[1] and len(texts[0]) == 3
        assert all(caption.strip() for _, caption, _ in texts[0]), (style, texts[0])


@pytest.mark.parametrize("family", NEW_FAMILIES)
def test_each_family_loads_with_its_native_class_and_captions_each_image_alone(family, family_dirs):
    captioner = load_caption_model(str(family_dirs[family]), device="cpu")
    assert captioner.family == family and type(captioner.model).__name__ == NATIVE_CLASS[family]
    style, batch = CaptionStyle("short", max_new_tokens=6), synthetic_images(3)
    together = captioner.generate(batch, 32, style)
    assert together == [captioner.generate([image], 32, style)[0] for image in batch]  # padding changes nothing
    assert all(0 < len(caption.split()) <= 6 for caption in together)  # new tokens only, not the prompt


def test_styles_ask_for_different_captions(family_dirs):
    captioner = load_caption_model(str(family_dirs["qwen2.5-vl"]), device="cpu")
    batch = synthetic_images(3)
    short, detailed = (captioner.generate(batch, 32, CaptionStyle(s, max_new_tokens=8)) for s in ("short", "detailed"))
    assert short != detailed  # the instruction reaches the model through the chat template


def test_sampling_is_repeatable_with_its_seed(family_dirs):
    captioner = load_caption_model(str(family_dirs["llava"]), device="cpu")
    batch = synthetic_images(3)
    sampled = [captioner.generate(batch, 32, CaptionStyle(sample=True, seed=s, max_new_tokens=10)) for s in (1, 1, 2)]
    greedy = captioner.generate(batch, 32, CaptionStyle(max_new_tokens=10))
    assert sampled[0] == sampled[1] and sampled[0] != sampled[2] and greedy not in sampled


@pytest.mark.parametrize(
    ("family", "style"), [("blip", "detailed"), ("blip", "tags"), ("florence2", "tags"), ("florence2", "custom")]
)
def test_a_style_the_model_cannot_write_is_a_clear_error(family, style, family_dirs, images, model_dir, capsys):
    extra = ["--caption-style", style] + (["--caption-prompt", "Say hi."] if style == "custom" else [])
    status, out, err = run_cli(capsys, *caption_args(model_dir, images, family_dirs[family], *extra))
    assert status == 2 and out == "" and "Traceback" not in err
    assert f"Caption style '{style}'" in err and "supports short" in err and "Qwen2.5-VL" in err


def test_a_chat_model_without_a_chat_template_is_refused(family_dirs, tmp_path):
    folder = shutil.copytree(family_dirs["llava"], tmp_path / "no_template")
    (folder / "chat_template.jinja").unlink()
    with pytest.raises(InputError, match="no chat template"):
        load_caption_model(str(folder), device="cpu")


def test_an_unsupported_model_type_is_named_with_what_is_supported(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    with pytest.raises(InputError, match="model_type 'whisper'") as info:
        load_caption_model(str(tmp_path), device="cpu")
    assert "florence2" in str(info.value) and "qwen2_5_vl" in str(info.value)


def test_the_interrogator_asks_for_the_settings_style(family_dirs, clip, vocab_dir):
    from ci_engine import Interrogator, Settings
    from ci_engine.dataset.work import DatasetOptions, settings_key
    from ci_engine.models.caption_text import clean_caption

    captioner = load_caption_model(str(family_dirs["qwen3-vl"]), device="cpu")
    style = CaptionStyle("tags", max_new_tokens=8)
    batch = synthetic_images(3)
    ci = Interrogator(clip, captioner, Settings(caption_style=style))
    expected = [clean_caption(c) for c in captioner.generate(batch, 32, style)]
    assert [r.caption for r in ci.run("caption", batch)] == expected
    short = Interrogator(clip, captioner, Settings())
    assert settings_key(ci, DatasetOptions(), "q") != settings_key(short, DatasetOptions(), "q")  # resume re-captions
    blip = load_caption_model(str(family_dirs["blip"]), device="cpu")
    with pytest.raises(InputError, match="Caption style 'tags'"):
        Interrogator(clip, blip, Settings(caption_style=style))


def test_a_dataset_is_captioned_in_the_style_asked_for(family_dirs, model_dir, tmp_path, capsys):
    from ci_engine.images import load_image
    from ci_engine.models.caption_text import clean_caption
    from ci_engine.testing import make_dataset

    good = make_dataset(tmp_path / "set", 3, bad=0)
    folder = family_dirs["smolvlm"]
    args = ["dataset", tmp_path / "set", *tiny_model_args(model_dir), "--caption-model", folder, "--mode", "caption"]
    status, out, err = run_cli(capsys, *args, "--caption-style", "tags", "--caption-tokens", "6", "--device", "cpu")
    assert status == 0 and out.startswith("3 written"), err
    captioner = load_caption_model(str(folder), device="cpu")
    tags = captioner.generate([load_image(p) for p in good], 32, CaptionStyle("tags", max_new_tokens=6))
    assert [p.with_suffix(".txt").read_text() for p in good] == [f"{clean_caption(t)}\n" for t in tags]


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("family", NEW_FAMILIES)
def test_each_family_runs_in_half_precision(family, precision, family_dirs):
    import torch

    captioner = load_caption_model(str(family_dirs[family]), device="cpu", precision=precision)
    assert captioner.dtype == {"fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    assert all(captioner.generate(synthetic_images(2), 32, CaptionStyle(max_new_tokens=4)))


# A JoyCaption-like template: plain string contents, the image token placed by the template
# (or, in the second form, left to the caller); a list of parts would print as Python text.
STRING_TEMPLATES = [
    "{% for m in messages %}{% if m['role'] == 'system' %}SYSTEM: {{ m['content'] }}\n{% else %}"
    "{{ m['role'].upper() }}: {% if m['role'] == 'user' %}<image>\n{% endif %}{{ m['content'] }} {% endif %}"
    "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}",
    "{% for m in messages %}{% if m['role'] == 'system' %}SYSTEM: {{ m['content'] }}\n{% else %}"
    "{{ m['role'].upper() }}: {{ m['content'] }} {% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}",
]


@pytest.mark.parametrize("template", STRING_TEMPLATES, ids=["places-image", "leaves-image"])
def test_a_chat_template_of_plain_strings_gets_string_messages(template, family_dirs, tmp_path):
    from ci_engine.models.chat_prompt import chat_inputs, takes_content_lists

    folder = shutil.copytree(family_dirs["llava"], tmp_path / "joy")
    (folder / "chat_template.jinja").write_text(template)
    joy, parts = (load_caption_model(str(f), device="cpu") for f in (folder, family_dirs["llava"]))
    assert not takes_content_lists(joy.processor) and takes_content_lists(parts.processor)
    batch, style = synthetic_images(3), CaptionStyle("detailed", max_new_tokens=8)
    assert joy.generate(batch, 32, style) == parts.generate(batch, 32, style)  # the same prompt, built two ways
    ids = chat_inputs(joy.processor, batch[:1], "Describe.", "You caption.")["input_ids"][0]
    prompt = joy.processor.decode(ids)
    assert prompt.count("Describe") == 1 and "'type'" not in prompt
    assert "caption." in prompt and prompt.index("caption.") < prompt.index("<image>")  # the system turn first
    assert int((ids == joy.processor.tokenizer.convert_tokens_to_ids("<image>")).sum()) == 16
