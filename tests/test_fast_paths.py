"""The exact fast paths give the plain path's features, rankings and ties; ineligible towers fall back."""

from __future__ import annotations

import copy
import logging

import open_clip
import pytest
import torch

from ci_engine.testing import B32_TEXT_CONFIG, TINY_CLIP_CONFIG
from ci_engine.text.encoder import TextEncoder
from ci_engine.text.tokens import Tokens
from ci_engine.vocab import build_vocabulary

TOLERANCE = 1e-5
PREFIXES = ["a red house by a river", "by Eduard von Grützner, café au lait", ", ".join(["tall trees"] * 30)]


def make_encoder(name: str, config: dict, seed: int = 0) -> TextEncoder:
    open_clip.factory._MODEL_CONFIGS[name] = copy.deepcopy(config)
    torch.manual_seed(seed)
    model = open_clip.create_model(name).eval()
    return TextEncoder(model, Tokens(open_clip.get_tokenizer(name)), batch_size=64)


def with_text(**changes) -> dict:
    config = copy.deepcopy(TINY_CLIP_CONFIG)
    config["text_cfg"].update(changes)
    return config


@pytest.fixture(scope="module")
def labels():
    vocab = build_vocabulary(compat=True)
    picked = vocab.labels["flavors"][::997] + vocab.labels["artists"][::701] + vocab.labels["negative"]
    return picked + ["by Greg Rutkowski", "by greg rutkowski", "Adélaïde Labille-Guiard", "d&d", "/!\\ sign"]


@pytest.fixture(scope="module", params=["tiny", "b32"])
def encoder(request):
    config = TINY_CLIP_CONFIG if request.param == "tiny" else B32_TEXT_CONFIG
    return make_encoder(f"FastPath-{request.param}", config)


def subset(encoder, labels):
    # the ViT-B-32-shaped plain path costs ~75 ms a text here: keep its share small
    return labels if encoder.tower.module.transformer.width < 512 else labels[::4]


def test_tiny_and_b32_shapes_are_eligible(encoder):
    assert encoder.truncate and encoder.prefix


def test_truncated_batches_equal_plain_path(encoder, labels):
    labels = subset(encoder, labels)
    fast = encoder.encode_texts(labels)
    plain = encoder.encode_exact(labels)
    assert (fast - plain).abs().max().item() < TOLERANCE


@pytest.mark.parametrize("prefix", PREFIXES)
def test_prefix_reuse_equals_plain_path(encoder, labels, prefix):
    labels = subset(encoder, labels)
    fast = encoder.encode_candidates(prefix, labels)
    plain = encoder.encode_exact([f"{prefix}, {label}" for label in labels])
    assert (fast - plain).abs().max().item() < TOLERANCE
    image = torch.nn.functional.normalize(torch.randn(1, fast.shape[1], generator=torch.Generator().manual_seed(1)))
    # per-row products: a matrix product may round its remainder rows differently, and
    # identical features must give identical scores here
    fast_order = (fast * image).sum(dim=-1).argsort(descending=True, stable=True)[:32]
    plain_order = (plain * image).sum(dim=-1).argsort(descending=True, stable=True)[:32]
    assert torch.equal(fast_order, plain_order)


def test_labels_that_tokenize_alike_get_identical_features(encoder):
    features = encoder.encode_candidates("a cat", ["by Greg Rutkowski", "x", "by greg rutkowski"])
    assert torch.equal(features[0], features[2])


@pytest.mark.parametrize(
    ("config", "truncate", "prefix", "reason"),
    [
        (with_text(no_causal_mask=True), False, False, "not causal"),
        (with_text(pool_type="last"), False, False, "pools by 'last'"),
        (with_text(qk_norm=True), True, False, "CustomResidualAttentionBlock"),
    ],
    ids=["bidirectional", "last-token-pool", "custom-blocks"],
)
def test_ineligible_towers_fall_back_and_say_why(config, truncate, prefix, reason, caplog, labels):
    with caplog.at_level(logging.INFO, logger="ci_engine"):
        encoder = make_encoder(f"Ineligible-{reason[:8]}", config)
    assert (encoder.truncate, encoder.prefix) == (truncate, prefix)
    assert reason in caplog.text and "plain path" in caplog.text
    few = labels[:20]
    fast = encoder.encode_candidates("a red house", few)
    plain = encoder.encode_exact([f"a red house, {label}" for label in few])
    assert (fast - plain).abs().max().item() < TOLERANCE


def bundle_pair(name: str, config: dict):
    """Two bundles over one model: fast paths on, and the plain path (upstream's
    ``encode_text`` on whole windows) everywhere."""
    from ci_engine import ClipBundle

    open_clip.factory._MODEL_CONFIGS[name] = copy.deepcopy(config)
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(name)
    model.eval()
    fast = ClipBundle(model, preprocess, open_clip.get_tokenizer(name), f"{name}/x")
    plain = ClipBundle(model, preprocess, open_clip.get_tokenizer(name), f"{name}/x")
    plain.text.truncate = plain.text.prefix = False
    return fast, plain


@pytest.mark.parametrize(
    ("shape", "config"),
    [("tiny", TINY_CLIP_CONFIG), pytest.param("b32", B32_TEXT_CONFIG, marks=pytest.mark.slow)],  # ~1 min each
)
@pytest.mark.parametrize("compat", [True, False], ids=["compat", "default"])
def test_prompts_identical_with_and_without_fast_paths(shape, config, compat, images, tmp_path):
    from ci_engine import CacheSettings, Interrogator, Settings
    from ci_engine.vocab import Vocabulary

    full = build_vocabulary(compat=compat)
    step = 160 if shape == "tiny" else 400  # the B32-shaped plain path costs ~75 ms a text
    tables = {name: labels[::step] or labels[:3] for name, labels in full.labels.items()}
    vocab = Vocabulary(tables, dict(full.cache_keys))
    settings = Settings(compat=compat, max_flavors=4, chunk_size=64, flavor_intermediate_count=48)
    fast, plain = bundle_pair(f"Prompts-{shape}", config)
    captions = ["a red barn by a river at night"]
    results = {}
    for label, bundle in (("fast", fast), ("plain", plain)):
        # each side computes its own label tables: a shared cache would hide a wrong one
        ci = Interrogator(bundle, None, settings, vocab=vocab, cache=CacheSettings(tmp_path / label))
        results[label] = [r.prompt for mode in ("best", "negative", "fast") for r in ci.run(mode, images[:2], captions)]
    assert fast.text.truncate and fast.text.prefix  # the self-check kept them: fast really ran fast
    assert results["fast"] == results["plain"]


def test_fast_paths_that_disagree_with_open_clip_are_turned_off(caplog, labels, monkeypatch):
    from ci_engine.text import prefix_attention

    encoder = make_encoder("SelfCheck", TINY_CLIP_CONFIG)
    original = prefix_attention._attention
    # a broken fast path, as a changed open_clip or torch internal could make it
    monkeypatch.setattr(prefix_attention, "_attention", lambda *a: original(*a) * 1.5)
    with caplog.at_level(logging.WARNING, logger="ci_engine"):
        fast = encoder.encode_candidates("a red house", labels[:20])
    assert not (encoder.truncate or encoder.prefix)
    assert "disagree" in caplog.text and "plain path" in caplog.text
    plain = encoder.encode_exact([f"a red house, {label}" for label in labels[:20]])
    assert (fast - plain).abs().max().item() < TOLERANCE


def test_self_check_keeps_correct_fast_paths(labels):
    encoder = make_encoder("SelfCheckOk", TINY_CLIP_CONFIG)
    encoder.encode_texts(labels[:5])
    assert encoder.truncate and encoder.prefix and encoder._checked
