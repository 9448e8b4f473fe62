"""Differential tests against the oracle: the installed clip-interrogator 0.6.0 package.

Both engines get the same tiny models, the same vocabulary and the same cache files
(ours writes them in upstream's format; upstream must load them, not recompute).
"""

from __future__ import annotations

import warnings

import pytest

from ci_engine import CacheSettings, Interrogator, Settings, build_vocabulary, load_clip

UPSTREAM_MODES = {
    "caption": "generate_caption",
    "fast": "interrogate_fast",
    "classic": "interrogate_classic",
    "negative": "interrogate_negative",
    "best": "interrogate",
}


def upstream(clip, captioner, cache_folder, data_path=None, **config):
    from clip_interrogator import Config
    from clip_interrogator import Interrogator as Upstream

    c = Config(device="cpu", cache_path=str(cache_folder), download_cache=False, quiet=True, **config)
    if data_path is not None:
        c.data_path = str(data_path)
    # model fields are plain class attributes of upstream's Config: set them after construction
    c.clip_model, c.clip_preprocess = clip.model, clip.preprocess
    c.caption_model, c.caption_processor = captioner.model, captioner.processor
    c.clip_model_name = clip.name  # same sanitized name, so the same cache files
    c.caption_model_name = "blip-large"  # only its "git-" prefix is read: the model is given
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Upstream(c)


def ours_and_upstream(model_dir, captioner, cache_folder, data_path=None, **config):
    # a CLIP of our own: one that other tests used would keep tables in memory and so not
    # write them to this cache folder
    clip = load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", device="cpu")
    cache = CacheSettings(cache_folder / ("subset" if data_path else "full"))
    vocab = build_vocabulary(compat=True, upstream_dir=data_path)
    ours = Interrogator(clip, captioner, Settings(compat=True, **config), vocab=vocab, cache=cache)
    for mode in ("best", "negative"):
        ours.prepare(mode)
    theirs = upstream(clip, captioner, cache.folder, data_path, **config)
    for name in ("artists", "flavors", "mediums", "movements", "trendings", "negative"):
        assert getattr(theirs, name).labels == vocab.labels[name], name
    return ours, theirs


def assert_same_prompts(ours, theirs, images, modes=UPSTREAM_MODES, captions=None):
    mismatches = []
    for mode in modes:
        mine = [r.prompt for r in ours.run(mode, images, captions)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kwargs = {"caption": captions[0]} if captions and mode in ("fast", "classic", "best") else {}
            reference = [getattr(theirs, UPSTREAM_MODES[mode])(image, **kwargs) for image in images]
        mismatches += [(mode, i, a, b) for i, (a, b) in enumerate(zip(mine, reference)) if a != b]
    assert not mismatches, "\n".join(f"{m} image {i}:\n  ours:     {a}\n  upstream: {b}" for m, i, a, b in mismatches)


def test_compat_matches_upstream_on_vocabulary_subset(model_dir, captioner, vocab_dir, images, cache, small_settings):
    ours, theirs = ours_and_upstream(model_dir, captioner, cache.folder, vocab_dir, **small_settings)
    assert_same_prompts(ours, theirs, images, modes=("caption", "fast", "classic"))
    # upstream's negative and best chains cost ~1.5 s an image here: one image of each kind
    # (noise, gradient, stripes, flat colour); the slow full-vocabulary test takes all eight
    assert_same_prompts(ours, theirs, images[:4], modes=("negative", "best"))


def test_compat_matches_upstream_with_given_caption(model_dir, captioner, vocab_dir, images, cache, small_settings):
    ours, theirs = ours_and_upstream(model_dir, captioner, cache.folder, vocab_dir, **small_settings)
    assert_same_prompts(
        ours, theirs, images[:3], modes=("fast", "classic", "best"), captions=["a red house, by a river"]
    )


def test_upstream_reads_our_cache_files(model_dir, captioner, vocab_dir, cache, small_settings):
    ours, theirs = ours_and_upstream(model_dir, captioner, cache.folder, vocab_dir, **small_settings)
    import numpy as np

    table = ours.clip.tables["flavors"]
    assert np.array_equal(np.stack(theirs.flavors.embeds), table.embeds.half().numpy().astype(np.float32))


@pytest.mark.slow
def test_compat_matches_upstream_full_vocabulary(model_dir, captioner, images, cache):
    ours, theirs = ours_and_upstream(model_dir, captioner, cache.folder)
    assert_same_prompts(ours, theirs, images)
