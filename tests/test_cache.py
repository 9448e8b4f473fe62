"""Embedding cache files: upstream's format, validation, recovery, atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file as load_numpy

from ci_engine import cache as embed_cache
from ci_engine.hooks import Hooks
from ci_engine.tables import CacheSettings, ensure_tables
from ci_engine.vocab import Vocabulary

LABELS = ["a cat", "a dog", "by Claude Monet", "oil on canvas"]


def fresh_vocab(labels=LABELS) -> Vocabulary:
    return Vocabulary({"things": list(labels)}, {"things": "things"})


def build(clip, folder, labels=LABELS):
    if "things" in clip.tables:
        del clip.tables["things"]
    ensure_tables(clip, fresh_vocab(labels), ["things"], CacheSettings(folder), Hooks())
    return clip.tables["things"]


def cache_file(clip, folder):
    return folder / embed_cache.cache_file_name(clip.name, "things")


def test_file_name_and_keys_follow_upstream(clip, tmp_path):
    table = build(clip, tmp_path)
    path = cache_file(clip, tmp_path)
    assert path.name == clip.name.replace("/", "_").replace("@", "_") + "_things.safetensors"
    stored = load_numpy(str(path))  # upstream reads with safetensors.numpy
    assert stored["embeds"].dtype == np.float16 and stored["embeds"].shape == (4, table.embeds.shape[1])
    digest = embed_cache.labels_hash(LABELS)
    assert np.array_equal(stored["hash"], np.array([ord(c) for c in digest], dtype=np.int8))
    assert np.array_equal(stored["embeds"].astype(np.float32), table.embeds.numpy())


def test_round_trip_uses_the_cache(clip, tmp_path, monkeypatch):
    first = build(clip, tmp_path).embeds.clone()
    monkeypatch.setattr(clip.text, "encode_texts", lambda *a, **k: pytest.fail("recomputed a valid cache"))
    assert torch.equal(build(clip, tmp_path).embeds, first)


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),  # truncated
        lambda p: p.write_bytes(b"not a safetensors file"),  # garbage
        lambda p: p.write_bytes(b""),  # empty
    ],
    ids=["truncated", "garbage", "empty"],
)
def test_corrupt_cache_is_recomputed_and_rewritten(clip, tmp_path, damage):
    good = build(clip, tmp_path).embeds.clone()
    path = cache_file(clip, tmp_path)
    damage(path)
    assert torch.equal(build(clip, tmp_path).embeds, good)
    assert load_numpy(str(path))["embeds"].shape == (4, good.shape[1])


def test_cache_for_other_labels_is_replaced(clip, tmp_path):
    build(clip, tmp_path)
    changed = build(clip, tmp_path, LABELS + ["a horse"])
    assert changed.embeds.shape[0] == 5
    assert load_numpy(str(cache_file(clip, tmp_path)))["embeds"].shape[0] == 5


def test_cache_of_wrong_width_is_rejected(clip, tmp_path):
    path = cache_file(clip, tmp_path)
    embed_cache.write_cache(path, torch.zeros(4, 7), LABELS)
    assert embed_cache.read_cache(path, LABELS, dim=32) is None
    assert build(clip, tmp_path).embeds.shape == (4, 32)


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    import safetensors.torch

    def explode(tensors, filename):
        with open(filename, "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", explode)
    path = tmp_path / "m_things.safetensors"
    with pytest.raises(OSError):
        embed_cache.write_cache(path, torch.zeros(4, 3), LABELS)
    assert list(tmp_path.iterdir()) == []


def test_published_cache_is_not_fetched_offline(tmp_path):
    assert embed_cache.published_cache("ViT-L-14/openai", "flavors", str(tmp_path), allow_download=True) is None
    assert embed_cache.published_cache("TinyCLIP/x", "flavors", str(tmp_path), allow_download=True) is None
