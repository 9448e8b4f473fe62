"""Embedding cache files: upstream's format, validation, recovery, atomic writes."""

from __future__ import annotations

import logging
import os
import stat

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file as load_numpy

from ci_engine import atomic
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
    embed_cache.write_cache(path, unit_rows(4, 7), LABELS)
    assert embed_cache.read_cache(path, LABELS, dim=32) is None
    assert build(clip, tmp_path).embeds.shape == (4, 32)


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def explode(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", explode)  # after the bytes went to the temp file
    path = tmp_path / "m_things.safetensors"
    with pytest.raises(OSError):
        embed_cache.write_cache(path, unit_rows(4, 3), LABELS)
    assert list(tmp_path.iterdir()) == []


def unit_rows(count: int, dim: int) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.randn(count, dim, generator=torch.Generator().manual_seed(0))).half()


def one_bad(e: torch.Tensor, value: float) -> torch.Tensor:
    return e.masked_fill(torch.arange(e.numel()).view(e.shape) == 5, value)


@pytest.mark.parametrize(
    "values",
    [
        lambda e: one_bad(e, float("nan")),
        lambda e: one_bad(e, float("inf")),
        lambda e: torch.zeros_like(e),
        lambda e: (e * 100).to(torch.int16),
        lambda e: e.double(),
    ],
    ids=["nan", "inf", "zeros", "integers", "float64"],
)
def test_cache_with_the_right_hash_but_bad_values_is_recomputed(clip, tmp_path, values):
    from safetensors.torch import save_file

    good = build(clip, tmp_path).embeds.clone()
    path = cache_file(clip, tmp_path)
    stored = load_numpy(str(path))
    bad = values(torch.from_numpy(stored["embeds"]))
    save_file({"embeds": bad, "hash": torch.from_numpy(stored["hash"])}, str(path))
    assert embed_cache.read_cache(path, LABELS, dim=good.shape[1]) is None
    assert torch.equal(build(clip, tmp_path).embeds, good)
    assert embed_cache.read_cache(path, LABELS, dim=good.shape[1]) is not None  # rewritten


def test_cache_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        embed_cache.write_cache(tmp_path / "a.safetensors", unit_rows(4, 3), LABELS)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.safetensors").stat().st_mode) == 0o640


def test_unwritable_cache_folder_warns_once_and_keeps_tables_in_memory(clip, tmp_path, caplog):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="ci_engine"):
        first = build(clip, blocked).embeds.clone()
        second = build(clip, blocked, LABELS[::-1]).embeds
    assert first.shape == (4, second.shape[1]) and blocked.is_file()
    assert caplog.text.count("Cannot write label embeddings") == 1


def test_published_cache_is_not_fetched_offline(tmp_path):
    assert embed_cache.published_cache("ViT-L-14/openai", "flavors", str(tmp_path), allow_download=True) is None
    assert embed_cache.published_cache("TinyCLIP/x", "flavors", str(tmp_path), allow_download=True) is None
