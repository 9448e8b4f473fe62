"""Bad values given to the Python API: an ``InputError`` naming the value, before any work.
Also inputs that look odd but are fine (image modes, fp16 on a CPU, blank captions), which
must give a prompt. Rows of docs/robustness.md."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ci_engine import Interrogator, Settings, cli, load_clip
from ci_engine.devices import PRECISIONS
from ci_engine.errors import InputError
from ci_engine.testing import synthetic_images
from ci_engine.vocab import add_custom_table, build_vocabulary

IMAGE = synthetic_images(1)[0]

RUN_CASES = {  # case: (images, captions, the text the error must hold)
    "array-image": ([np.asarray(IMAGE)], "x", "Image 0 is a ndarray, not a PIL image"),
    "path-image": (["photo.png"], "x", "Image 0 is a str, not a PIL image"),
    "single-image": (IMAGE, "x", "Pass a list of images"),
    "no-images": ([], "x", "No images to interrogate"),
    "zero-sized-image": ([IMAGE, Image.new("RGB", (0, 4))], "x", "Image 1 has a zero-sized side (0x4)"),
    "caption-none": ([IMAGE, IMAGE], ["x", None], "Captions must be strings, not NoneType"),
    "caption-number": ([IMAGE], [5], "Captions must be strings, not int"),
    "captions-count": ([IMAGE, IMAGE], ["a", "b", "c"], "Got 3 captions for 2 images"),
    "no-caption-model": ([IMAGE], None, "No caption model"),
    "blank-caption-no-model": ([IMAGE], [" \n"], "No caption model"),
}


@pytest.mark.parametrize("case", list(RUN_CASES))
def test_bad_run_arguments_are_input_errors(case, clip, vocab):
    images, captions, expected = RUN_CASES[case]
    with pytest.raises(InputError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        Interrogator(clip, None, Settings(), vocab=vocab).run("best", images, captions)


SETTINGS_CASES = {  # case: (keyword arguments, the text the error must hold)
    "max-flavors-text": ({"max_flavors": "5"}, "max_flavors must be a whole number, not '5'"),
    "max-flavors-float": ({"max_flavors": 2.5}, "max_flavors must be a whole number"),
    "batch-size-bool": ({"text_batch_size": True}, "text_batch_size must be a whole number"),
    "compat-text": ({"compat": "no"}, "compat must be True or False, not 'no'"),
    "tables-text": ({"enabled_tables": "artists"}, "enabled_tables must be a set of strings"),
    "exclusions-text": ({"exclusions": "by x"}, "exclusions must be a set of strings"),
    "exclusions-numbers": ({"exclusions": {1, 2}}, "exclusions must be a set of strings"),
}


@pytest.mark.parametrize("case", list(SETTINGS_CASES))
def test_settings_of_the_wrong_type_are_input_errors(case):
    kwargs, expected = SETTINGS_CASES[case]
    with pytest.raises(InputError, match=expected):
        Settings(**kwargs)


def test_settings_take_any_collection_of_table_names():
    assert Settings(enabled_tables=["artists"]).enabled_tables == frozenset({"artists"})


def test_mode_names_are_exact(clip, vocab):
    for mode in ("BEST", "", None):
        with pytest.raises(InputError, match="Unknown mode"):
            Interrogator(clip, None, Settings(), vocab=vocab).run(mode, [IMAGE], "x")


def test_compat_with_a_user_list_is_refused(clip, vocab_dir, tmp_path):
    (tmp_path / "mine.txt").write_text("red\nblue\n")
    vocab = build_vocabulary(compat=True, upstream_dir=vocab_dir)
    add_custom_table(vocab, tmp_path / "mine.txt")
    with pytest.raises(InputError, match="leave the extra label lists out"):
        Interrogator(clip, None, Settings(compat=True), vocab=vocab)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "1", "P", "CMYK", "I;16", "I", "F"])
def test_every_pil_mode_gives_a_prompt(clip, vocab, mode):
    result = Interrogator(clip, None, Settings(), vocab=vocab).run("fast", [IMAGE.convert(mode)], ["a cat"])[0]
    assert result.prompt.startswith("a cat, ") and len(result.prompt) > len("a cat, ")


@pytest.mark.parametrize("size", [(1, 1), (1, 3000), (3000, 1)])
def test_extreme_image_shapes_give_a_prompt(clip, vocab, size):
    result = Interrogator(clip, None, Settings(), vocab=vocab).run("fast", [IMAGE.resize(size)], ["a cat"])[0]
    assert result.prompt.startswith("a cat, ")


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_half_precision_runs_on_a_cpu(model_dir, vocab, precision):
    bundle = load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", device="cpu", precision=precision)
    assert bundle.dtype == PRECISIONS[precision]  # norms stay fp32; autocast on CUDA follows the matmul weights
    result = Interrogator(bundle, None, Settings(), vocab=vocab).run("fast", [IMAGE], ["a cat"])[0]
    assert result.prompt.startswith("a cat, ") and len(result.prompt.split(", ")) > 4


def test_blank_captions_are_written_by_the_caption_model(clip, captioner, vocab):
    results = Interrogator(clip, captioner, Settings(), vocab=vocab).run("fast", [IMAGE, IMAGE], ["", "a given one"])
    made = Interrogator(clip, captioner, Settings(), vocab=vocab).generate_captions([IMAGE])[0]
    assert [r.caption for r in results] == [made, "a given one"] and made.strip()


def test_one_caption_text_serves_every_image(clip, vocab):
    results = Interrogator(clip, None, Settings(), vocab=vocab).run("fast", [IMAGE, IMAGE], "a barn")
    assert [r.caption for r in results] == ["a barn", "a barn"]


def test_the_command_line_decodes_a_batch_at_a_time(model_dir, full_tables_cache, tmp_path, capsys):
    for i in range(17):  # one more than a batch; the last file's pixels are cut short
        IMAGE.save(tmp_path / f"img{i:02}.png")
    last = tmp_path / "img16.png"
    last.write_bytes(last.read_bytes()[:300])
    clip_args = ["--clip-checkpoint", str(model_dir / "clip" / "TinyCLIP.safetensors"), "--clip", "TinyCLIP"]
    clip_args += ["--cache-dir", str(full_tables_cache)]
    status = cli.main([str(tmp_path), *clip_args, "--caption", "x", "--mode", "fast"])
    out, err = capsys.readouterr()
    assert status == 2 and "img16.png" in err and "damaged" in err
    assert out.count("== ") == 16  # the first batch was printed before the damaged file was decoded
