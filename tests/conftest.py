"""Shared fixtures: tiny random-weight models on disk, loaded through the real loaders."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ci_engine import CacheSettings, Settings, build_vocabulary, load_caption_model, load_clip  # noqa: E402
from tiny_models import save_blip, save_clip, synthetic_images, write_vocab_subset  # noqa: E402


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Tests never reach the network: the hub clients are told to stay offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    save_clip(root / "clip")
    save_blip(root / "blip")
    return root


@pytest.fixture(scope="session")
def clip(model_dir):
    return load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", device="cpu")


@pytest.fixture(scope="session")
def captioner(model_dir):
    return load_caption_model(str(model_dir / "blip"), device="cpu")


@pytest.fixture(scope="session")
def vocab_dir(tmp_path_factory) -> Path:
    """A spread-out subset of upstream's lists (with its near-duplicates) for quick runs."""
    return write_vocab_subset(tmp_path_factory.mktemp("vocab"))


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> CacheSettings:
    return CacheSettings(tmp_path_factory.mktemp("embeds"))


@pytest.fixture(scope="session")
def small_settings() -> dict:
    """Chunk sizes that make upstream's per-chunk quotas matter on the subset vocabulary."""
    return {"chunk_size": 512, "flavor_intermediate_count": 512}


@pytest.fixture(scope="session")
def vocab(vocab_dir):
    return build_vocabulary(compat=False, upstream_dir=vocab_dir)


@pytest.fixture(scope="session")
def images():
    return synthetic_images(8)


@pytest.fixture
def default_settings(small_settings) -> Settings:
    return Settings(**small_settings)


@pytest.fixture(autouse=True)
def _quiet_loggers():
    logging.getLogger("ci_engine").setLevel(logging.INFO)
