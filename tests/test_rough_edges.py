"""Rough edges a new user hit, each held by a test: separators typed into a dataset prefix,
empty captions, hidden cache files, a caption model's position limit and other generate
failures, budget cuts that end on a dangling word, and two promises no test held before (a
rerun with another target captions again; a failed cache write leaves the old file)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ci_engine import CaptionError, Interrogator, Settings, atomic, build_vocabulary, cli
from ci_engine.cache import cache_file_name, cache_path, read_cache, write_cache
from ci_engine.dataset.files import sidecar_text
from ci_engine.models.caption_families import FAMILIES
from ci_engine.target import Target, fit_to_budget
from ci_engine.testing import make_dataset, synthetic_images


@pytest.mark.parametrize(
    ("prefix", "suffix"),
    [("tok, ", ", end"), ("tok,", ",end"), ("  tok ,  ", " , end  "), ("tok", "end"), ("tok,\n", "\n, end")],
)
def test_a_prefix_typed_with_its_separator_is_not_doubled(prefix, suffix):
    assert sidecar_text(prefix, "a photo, a barn", suffix) == "tok, a photo, a barn, end"
    assert sidecar_text(prefix, "", suffix) == "tok, end"
    assert sidecar_text(", ", "a photo", " ,") == "a photo"


class EmptyCaptions:
    """A caption model whose captions are empty (a tiny random one can write nothing)."""

    spec = FAMILIES["blip"]
    name = "empty"

    def check_style(self, style) -> None:
        pass

    def generate(self, images, max_length=32, style=None) -> list[str]:
        return [""] * len(images)


@pytest.mark.parametrize("mode", ["fast", "classic", "best"])
def test_an_empty_caption_gives_no_leading_separator(clip, vocab, cache, small_settings, mode):
    settings = Settings(**small_settings, max_flavors=4)
    prompt = Interrogator(clip, EmptyCaptions(), settings, vocab=vocab, cache=cache).run(mode, synthetic_images(2))
    for result in prompt:
        assert result.caption == "" and result.prompt.strip()
        assert not result.prompt.startswith((",", " ")) and ", ," not in result.prompt


def test_compat_keeps_upstreams_text_for_an_empty_caption(clip, vocab_dir, cache):
    vocab = build_vocabulary(compat=True, upstream_dir=vocab_dir)
    settings = Settings(compat=True, chunk_size=512, flavor_intermediate_count=512, max_flavors=3)
    result = Interrogator(clip, EmptyCaptions(), settings, vocab=vocab, cache=cache).run("fast", synthetic_images(1))
    assert result[0].prompt.startswith(", ")  # upstream 0.6.0 writes caption + ", " + labels


@pytest.mark.parametrize("name", ["../../evil/x", "..\\\\..\\\\evil/x", ".hidden/y", "...", "./x", ".@x"])
def test_no_cache_file_name_is_hidden(tmp_path, name):
    assert not cache_file_name(name, "flavors").startswith(".")
    path = cache_path(tmp_path, name, "flavors")
    assert path.parent == tmp_path and not path.name.startswith(".")


def test_published_cache_names_keep_upstreams_spelling():
    assert cache_file_name("ViT-L-14/openai", "flavors") == "ViT-L-14_openai_flavors.safetensors"
    assert cache_file_name("ViT-H-14/laion2b_s32b_b79k", "artists") == "ViT-H-14_laion2b_s32b_b79k_artists.safetensors"


def test_a_caption_longer_than_the_decoders_positions_is_capped(captioner):
    """The tiny BLIP's text decoder has 64 positions: 200 new tokens raised an IndexError."""
    images = synthetic_images(16, seed=3)  # some of these run on without an end token
    captions = captioner.generate(images, 200)
    lengths = [len(captioner.processor.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in captions]
    assert len(captions) == 16 and max(lengths) <= 63 and max(lengths) > 32


def test_a_generate_failure_is_a_caption_error_naming_the_model(captioner, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("index 99 is out of bounds")

    monkeypatch.setattr(captioner.model, "generate", broken)
    with pytest.raises(CaptionError, match=r"Caption model '.*blip' \(BLIP\) failed .*RuntimeError: index 99"):
        captioner.generate(synthetic_images(1))

    def out_of_memory(**kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(captioner.model, "generate", out_of_memory)  # a host may free memory and retry
    with pytest.raises(torch.OutOfMemoryError):
        captioner.generate(synthetic_images(1))


def test_the_command_line_prints_a_caption_failure_as_one_error_line(model_dir, tmp_path, monkeypatch, capsys):
    from transformers import BlipForConditionalGeneration

    def broken(self, *args, **kwargs):
        raise IndexError("index out of range in self")

    monkeypatch.setattr(BlipForConditionalGeneration, "generate", broken)
    image = tmp_path / "a.png"
    synthetic_images(1)[0].save(image)
    clip = ["--clip", "TinyCLIP", "--clip-checkpoint", str(model_dir / "clip" / "TinyCLIP.safetensors")]
    status = cli.main([str(image), *clip, "--caption-model", str(model_dir / "blip"), "--mode", "caption"])
    err = capsys.readouterr().err  # after the loaders' progress bars
    assert status == 2 and err.splitlines()[-1].startswith("error: Caption model") and "IndexError" in err
    assert "Traceback" not in err and err.count("error:") == 1


DANGLING = {"a", "an", "the", "and", "or", "of", "in", "on", "with", "under", "at", "by", "for", "to", "its"}
CAPTION = (
    "a weathered red barn with peeling paint, the old walls of a farm and a field of golden wheat under "
    "a stormy sky, at dusk in the autumn of its last year"
)


def test_a_budget_cut_never_ends_on_a_dangling_word_or_a_comma():
    def count(text: str) -> int:
        return len(text.split()) + 2  # a tokenizer's count: the words, start and end

    for budget in range(8, count(CAPTION)):
        text = fit_to_budget(CAPTION, ["a label"], Target(budget, count))
        last = text.split()[-1]
        assert CAPTION.startswith(text) and count(text) <= budget
        assert not last.endswith(",") and last not in DANGLING, (budget, text)
    assert fit_to_budget(CAPTION, ["a label"], Target(count(CAPTION) + 2, count)) == f"{CAPTION}, a label"


def test_a_dataset_rerun_with_another_target_captions_again(model_dir, tmp_path, capsys):
    folder = tmp_path / "set"
    make_dataset(folder, 3, bad=0)
    clip = ["--clip", "TinyCLIP", "--clip-checkpoint", str(model_dir / "clip" / "TinyCLIP.safetensors")]
    words = ["dataset", str(folder), *clip, "--cache-dir", str(tmp_path / "c"), "--caption", "a photo of a barn"]
    words += ["--mode", "fast", "--tables", "mediums", "--on-existing", "overwrite", "--prefix", "tok, "]

    def run(target: str) -> str:
        assert cli.main([*words, "--target", target]) == 0
        return capsys.readouterr().out

    assert run("64").startswith("3 written, 0 skipped")
    assert run("64").startswith("0 written, 3 skipped")  # the same settings: done
    assert run("16").startswith("3 written, 0 skipped")  # the target is in the settings hash
    sidecars = sorted(folder.rglob("*.txt"))
    assert len(sidecars) == 3 and all(p.read_text().startswith("tok, a photo of a barn") for p in sidecars)


def test_a_failed_cache_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    labels = ["red", "blue", "green"]
    rows = torch.nn.functional.normalize(torch.randn(3, 4, generator=torch.Generator().manual_seed(0))).half()
    path = tmp_path / "m_things.safetensors"
    write_cache(path, rows, labels)
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", disk_full)  # after the new bytes were written
    with pytest.raises(OSError):
        write_cache(path, -rows, labels)
    assert path.read_bytes() == before and torch.equal(read_cache(path, labels, 4), rows)
    assert [p.name for p in Path(tmp_path).iterdir()] == [path.name]  # no temp file left
