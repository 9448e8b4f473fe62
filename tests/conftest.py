"""Shared fixtures: tiny random-weight models on disk, loaded through the real loaders."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_engine import CacheSettings, Settings, build_vocabulary, load_caption_model, load_clip
from ci_engine.hooks import Hooks
from ci_engine.tables import ensure_tables
from ci_engine.testing import save_blip, save_clip, synthetic_images, write_vocab_subset

pytest_plugins = ["comfy_pack"]  # the node pack under a stand-in or a real ComfyUI


def pytest_collection_modifyitems(config, items):
    """Tests marked ``comfyui`` need a real ComfyUI: they run only when COMFYUI_DIR is set."""
    if os.environ.get("COMFYUI_DIR"):
        return
    skip = pytest.mark.skip(reason="set COMFYUI_DIR (and -o pythonpath=$COMFYUI_DIR) to run against a real ComfyUI")
    for item in items:
        if "comfyui" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Tests never reach the network: the hub clients are told to stay offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """A test that tries the network fails at once instead of waiting on retries: only
    loopback (Ray, a local ComfyUI) and local sockets may be reached."""
    real_connect, real_lookup = socket.socket.connect, socket.getaddrinfo

    def refuse(host: object) -> None:
        if isinstance(host, str) and host not in LOCAL_HOSTS:
            raise OSError(f"tests never reach the network (tried {host})")

    def connect(sock, address):
        refuse(address[0] if isinstance(address, tuple) else None)
        return real_connect(sock, address)

    def lookup(host, *args, **kwargs):
        refuse(host)
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)


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
def full_tables_cache(tmp_path_factory, model_dir) -> Iterator[Path]:
    """A cache folder holding the tiny CLIP's label tables for upstream's whole vocabulary
    (default and compat tables), built once per session. The command line always ranks the
    whole vocabulary: tests that run it give ``--cache-dir`` this folder instead of building
    every table again in a folder of their own. Read-only (checked when the session ends): a
    test that damages or adds cache files works on a copy (``shutil.copytree``)."""
    folder = tmp_path_factory.mktemp("full_tables")
    # a CLIP of its own: the shared ``clip`` keeps the subset's tables in memory
    bundle = load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", device="cpu")
    for compat in (False, True):  # compat adds only its own spelling of the trending table
        vocab = build_vocabulary(compat=compat)
        ensure_tables(bundle, vocab, list(vocab.labels), CacheSettings(folder), Hooks())
    built = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    yield folder
    after = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    assert after == built, "a test wrote into full_tables_cache: give it a copy (shutil.copytree) instead"


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
