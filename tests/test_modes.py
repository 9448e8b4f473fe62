"""Every mode in the default (fixed) behaviour, settings, hooks and errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ci_engine import Hooks, Interrogator, Settings
from ci_engine.errors import InputError
from ci_engine.models.caption_text import clean_caption
from ci_engine.vocab import normalized


@pytest.fixture
def make(clip, captioner, vocab, cache, small_settings):
    def factory(captioner=captioner, hooks=None, **overrides):
        settings = Settings(**{**small_settings, **overrides})
        return Interrogator(clip, captioner, settings, vocab=vocab, cache=cache, hooks=hooks)

    return factory


def labels_in(prompt: str, caption: str) -> list[str]:
    return prompt[len(caption) :].lstrip(", ").split(", ") if prompt.startswith(caption) else prompt.split(", ")


DETERMINISM_SCRIPT = """
import json, sys
from pathlib import Path
from ci_engine import CacheSettings, Interrogator, Settings, build_vocabulary, load_caption_model, load_clip
from ci_engine.testing import synthetic_images

clip_file, blip_dir, vocab_dir, cache_dir = sys.argv[1:]
ci = Interrogator(
    load_clip("", checkpoint=clip_file, device="cpu"),
    load_caption_model(blip_dir, device="cpu"),
    Settings(chunk_size=512, flavor_intermediate_count=512, max_flavors=12),
    vocab=build_vocabulary(upstream_dir=vocab_dir),
    cache=CacheSettings(Path(cache_dir)),
)
modes = ("fast", "classic", "best", "negative", "caption")
print(json.dumps({mode: [[r.prompt, r.caption] for r in ci.run(mode, synthetic_images(2))] for mode in modes}))
"""


@pytest.fixture(scope="module")
def twin_vocab_dir(vocab_dir, tmp_path_factory):
    """The subset vocabulary with every 8th flavor (and every flavor that tokenizes like an
    artist's label), and an upper-case twin of each of these flavors in the negative list:
    twins tokenize alike, so every negative chain step is an exact tie between twins. Fewer
    flavors keep the negative chain's candidates (flavors and twins) few."""
    folder = tmp_path_factory.mktemp("twins")
    for path in vocab_dir.glob("*.txt"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    flavors = (vocab_dir / "flavors.txt").read_text(encoding="utf-8").splitlines()
    artists = {normalized(f"by {a}") for a in (vocab_dir / "artists.txt").read_text(encoding="utf-8").splitlines()}
    flavors = list(dict.fromkeys(flavors[::8] + [f for f in flavors if normalized(f) in artists]))
    negative = (vocab_dir / "negative.txt").read_text(encoding="utf-8").splitlines()
    (folder / "flavors.txt").write_text("\n".join(flavors), encoding="utf-8")
    (folder / "negative.txt").write_text("\n".join(negative + [f.upper() for f in flavors]), encoding="utf-8")
    return folder


def run_in_processes(hash_seeds: list[str], *args) -> list[dict]:
    """The script's output in one process per hash seed; the processes run side by side (one
    torch thread each), each with a cache folder of its own (each computes its label tables)."""
    *args, cache = map(str, args)
    started = [
        subprocess.Popen(
            [sys.executable, "-c", DETERMINISM_SCRIPT, *args, f"{cache}/{seed}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "OMP_NUM_THREADS": "1"},
        )
        for seed in hash_seeds
    ]
    outputs = []
    for process in started:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def test_every_mode_gives_the_same_prompts_in_every_process(model_dir, twin_vocab_dir, tmp_path):
    args = (model_dir / "clip" / "TinyCLIP.safetensors", model_dir / "blip", twin_vocab_dir, tmp_path)
    first, second = run_in_processes(["1", "2"], *args)  # string hashes differ
    assert first == second
    assert all(prompt for prompt, _ in first["negative"] + first["best"])
    for mode in ("fast", "classic", "best", "caption"):
        assert all(prompt.startswith(caption) for prompt, caption in first[mode])


@pytest.mark.parametrize("mode", ["fast", "best", "negative"])
def test_default_prompts_have_no_repeated_labels_and_fit_the_window(make, clip, images, mode):
    for result in make().run(mode, images[:4]):
        parts = [normalized(p) for p in labels_in(result.prompt, result.caption)]
        assert len(parts) == len(set(parts)), result.prompt
        assert not clip.tokens.at_max_len(result.prompt)


def test_given_caption_needs_no_caption_model(make, images):
    results = make(captioner=None).run("fast", images[:2], ["a red barn"])
    assert all(r.caption == "a red barn" and r.prompt.startswith("a red barn, ") for r in results)


def test_table_toggles_leave_tables_out(make, vocab, images):
    artists = set(vocab.labels["artists"])
    result = make(enabled_tables=frozenset({"flavors"})).run("fast", images[:1], ["x"])[0]
    assert not artists & set(labels_in(result.prompt, "x"))
    classic = make(enabled_tables=frozenset({"flavors"}), max_flavors=2).run("classic", images[:1], ["x"])[0]
    assert len(labels_in(classic.prompt, "x")) == 2
    assert set(labels_in(classic.prompt, "x")) <= set(vocab.labels["flavors"])


def test_exclusions_remove_labels(make, images):
    before = make().run("fast", images[:1], ["x"])[0]
    banned = labels_in(before.prompt, "x")[:3]
    after = make(exclusions=frozenset(normalized(b) for b in banned)).run("fast", images[:1], ["x"])[0]
    assert not set(banned) & set(labels_in(after.prompt, "x"))


def test_exclusions_apply_to_the_negative_labels_too(make, vocab, images, monkeypatch):
    import ci_engine.modes

    offered = []
    original = ci_engine.modes.chain
    monkeypatch.setattr(
        ci_engine.modes,
        "chain",
        lambda scorer, phrases, *a, **k: offered.append(phrases) or original(scorer, phrases, *a, **k),
    )
    banned = {normalized(label) for label in vocab.labels["negative"][:10] if label.strip()}
    make(exclusions=frozenset(banned)).run("negative", images[:1])
    assert offered and not {normalized(p) for p in offered[0]} & banned


def test_analyze_gives_scored_labels_per_table(make, vocab, images):
    result = make(max_flavors=4).run("analyze", images[:1])[0]
    assert set(result.analysis) == {"artists", "flavors", "mediums", "movements", "trendings", "negative"}
    for table, rows in result.analysis.items():
        assert len(rows) == 4
        assert all(label in vocab.labels[table] for label, _ in rows)
        scores = [score for _, score in rows]
        assert scores == sorted(scores, reverse=True)
    assert result.to_json()["analysis"]["mediums"][0][0] == result.analysis["mediums"][0][0]


def test_caption_cleanup():
    assert clean_caption("there is a araffe cat sitting on a arafed chair") == "there is a cat sitting on a chair"
    assert clean_caption("forest small small small small house") == "forest small house"
    assert clean_caption("a photo") == "a photo"


def test_default_cleans_captions_and_compat_does_not(make, images):
    raw = make(compat=True, chunk_size=2048).generate_captions(images)
    cleaned = make().generate_captions(images)
    assert raw != cleaned  # the tiny captioner repeats words
    assert cleaned == [clean_caption(c) for c in raw]


class Recorder(Hooks):
    def __init__(self, cancel_after: int | None = None):
        self.used, self.steps, self.cancel_after = [], 0, cancel_after

    def use(self, module):
        self.used.append(type(module).__name__)

    def progress(self, stage, done, total):
        self.steps += stage.endswith("chain")

    def check_cancel(self):
        if self.cancel_after is not None and self.steps >= self.cancel_after:
            raise KeyboardInterrupt("cancelled")


def test_hooks_load_captioner_then_clip_and_report_progress(make, images):
    hooks = Recorder()
    make(hooks=hooks).run("best", images[:2])
    assert hooks.used[0] == "Captioner" and "ClipBundle" in hooks.used[1:]
    assert "Captioner" not in hooks.used[1:]  # all captions first, then CLIP
    assert hooks.steps > 0


def test_cancel_stops_within_one_chain_step(make, clip, images, monkeypatch):
    calls = []
    original = clip.text.encode_candidates
    monkeypatch.setattr(clip.text, "encode_candidates", lambda *a: calls.append(1) or original(*a))
    with pytest.raises(KeyboardInterrupt):
        make(hooks=Recorder(cancel_after=2)).run("best", images[:1], ["x"])
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_flavors": -1}, "max_flavors"),
        ({"enabled_tables": frozenset({"colors"})}, "Unknown tables"),
        ({"compat": True, "enabled_tables": frozenset({"flavors"})}, "Compat"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_settings_are_clear_errors(make, kwargs, message):
    with pytest.raises(InputError, match=message):
        make(**kwargs)


def test_run_errors(make, images):
    with pytest.raises(InputError, match="Unknown mode"):
        make().run("fastest", images[:1])
    with pytest.raises(InputError, match="No caption model"):
        make(captioner=None).run("best", images[:1])
    with pytest.raises(InputError, match="2 captions for 3 images"):
        make().run("fast", images[:3], ["a", "b"])
    with pytest.raises(InputError, match="No images"):
        make().run("fast", [])


def test_small_text_batches_bound_work_and_keep_prompts(make, clip, images, monkeypatch):
    # short chains: with 7 texts a batch, each chain step over 512 labels is 74 batches
    reference = [r.prompt for r in make(max_flavors=4).run("best", images[:2], ["a barn"])]
    sizes = []
    original = clip.text.tower.embed
    monkeypatch.setattr(
        clip.text.tower, "embed", lambda tokens, start=0: sizes.append(len(tokens)) or original(tokens, start)
    )
    small = [r.prompt for r in make(text_batch_size=7, max_flavors=4).run("best", images[:2], ["a barn"])]
    assert small == reference
    assert sizes and max(sizes) <= 7
    assert clip.text.batch_size == 1024  # the shared model is not changed by a run's setting
