"""Loading models from local files, and the errors users see when that is not possible."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import torch

from ci_engine import load_caption_model, load_clip
from ci_engine.errors import InputError, ModelNotFoundError, OfflineError
from ci_engine.models.registry import CAPTION_MODELS
from ci_engine.testing import TINY_CLIP_CONFIG, save_clip, synthetic_images


def test_checkpoint_with_sidecar_config(model_dir):
    bundle = load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", device="cpu")
    assert bundle.name.startswith("TinyCLIP/TinyCLIP-")
    assert bundle.device.type == "cpu" and bundle.dtype == torch.float32
    assert bundle.text.truncate and bundle.text.prefix


def test_explicit_config_registers_the_given_architecture(model_dir, tmp_path):
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps(TINY_CLIP_CONFIG))
    bundle = load_clip("MyArch", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", config=config, device="cpu")
    reference = load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", device="cpu")
    assert bundle.name.startswith("MyArch/")
    for a, b in zip(bundle.model.state_dict().values(), reference.model.state_dict().values()):
        assert torch.equal(a, b)


def test_pt_checkpoint_loads_through_weights_only(model_dir, tmp_path):
    reference = load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", device="cpu")
    pt = tmp_path / "tiny.pt"
    torch.save(reference.model.state_dict(), pt)
    bundle = load_clip("TinyCLIP", checkpoint=pt, device="cpu")
    assert torch.equal(bundle.model.positional_embedding, reference.model.positional_embedding)


def test_pickled_objects_are_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("executed",))

    evil = tmp_path / "evil.pt"
    torch.save({"x": Payload()}, evil)
    with pytest.raises(InputError, match="pickled objects"):
        load_clip("TinyCLIP", checkpoint=evil, device="cpu")


def test_different_weights_get_different_cache_names(model_dir, tmp_path):
    from ci_engine.testing import save_clip

    other = save_clip(tmp_path, seed=1)
    a = load_clip("", checkpoint=model_dir / "clip" / "TinyCLIP.safetensors", device="cpu")
    b = load_clip("", checkpoint=other, device="cpu")
    assert a.name != b.name


def test_unknown_architecture_suggests_names():
    with pytest.raises(ModelNotFoundError, match="Did you mean:.*ViT-L-14"):
        load_clip("ViT-L-41/openai", device="cpu")


def test_unknown_pretrained_tag():
    with pytest.raises(ModelNotFoundError, match="Unknown CLIP weights 'ViT-L-14/opneai'"):
        load_clip("ViT-L-14/opneai", device="cpu")


def test_missing_checkpoint(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_clip("TinyCLIP", checkpoint=tmp_path / "nope.safetensors", device="cpu")


def test_checkpoint_without_architecture(tmp_path):
    lonely = tmp_path / "weights.safetensors"
    lonely.write_bytes(b"x")
    with pytest.raises(InputError, match="No architecture"):
        load_clip("", checkpoint=lonely, device="cpu")


def test_hub_clip_offline_names_model_and_places(tmp_path):
    with pytest.raises(OfflineError) as info:
        load_clip("ViT-B-32/openai", device="cpu", cache_dir=str(tmp_path))
    message = str(info.value)
    assert "ViT-B-32/openai" in message and str(tmp_path) in message and "--clip-checkpoint" in message


def test_hub_caption_model_offline(tmp_path):
    with pytest.raises(OfflineError, match="blip-base"):
        load_caption_model("blip-base", device="cpu", cache_dir=str(tmp_path))


def test_caption_folder_checks(tmp_path):
    with pytest.raises(InputError, match="config.json"):
        load_caption_model(str(tmp_path), device="cpu")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(InputError, match="supported"):
        load_caption_model(str(tmp_path), device="cpu")
    with pytest.raises(ModelNotFoundError, match="Unknown caption model"):
        load_caption_model("blip-huge", device="cpu")


def test_bad_device_and_precision():
    with pytest.raises(InputError, match="Unknown device"):
        load_clip("ViT-B-32/openai", device="gpu0")
    with pytest.raises(InputError, match="Unknown precision"):
        load_clip("ViT-B-32/openai", device="cpu", precision="fp8")


def test_fingerprint_covers_the_whole_file(tmp_path):
    from ci_engine.models.weights import weights_fingerprint

    path = tmp_path / "w.safetensors"
    data = bytearray(b"\0" * (5 << 20))
    path.write_bytes(bytes(data))
    before = weights_fingerprint(path)
    data[len(data) // 2] = 1  # same size, first and last MiB unchanged
    path.write_bytes(bytes(data))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert weights_fingerprint(path) != before


def test_token_table_smaller_than_the_tokenizer_is_refused(tmp_path):
    config = copy.deepcopy(TINY_CLIP_CONFIG)
    config["text_cfg"]["vocab_size"] = 1000
    checkpoint = save_clip(tmp_path, arch="SmallVocab", config=config)
    with pytest.raises(InputError, match="1000 token embeddings but its tokenizer has 49408"):
        load_clip("", checkpoint=checkpoint, device="cpu")


def test_unreadable_safetensors_is_a_clear_error(tmp_path, model_dir):
    broken = tmp_path / "TinyCLIP.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a header")
    with pytest.raises(InputError, match="not a readable .safetensors file"):
        load_clip("", checkpoint=broken, config=model_dir / "clip" / "TinyCLIP.json", device="cpu")


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (torch.OutOfMemoryError("CUDA out of memory"), "Not enough memory"),
        (RuntimeError("size mismatch for positional_embedding"), "do not fit"),
        (RuntimeError("CUDA error: an illegal memory access"), None),
    ],
    ids=["out-of-memory", "shape-mismatch", "other-runtime-error"],
)
def test_only_mismatches_are_reported_as_not_fitting(model_dir, monkeypatch, raised, expected):
    import open_clip

    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(open_clip, "create_model_and_transforms", fail)
    checkpoint = model_dir / "clip" / "TinyCLIP.safetensors"
    with pytest.raises(InputError if expected else RuntimeError, match=expected or "illegal memory access"):
        load_clip("", checkpoint=checkpoint, device="cpu")


def test_download_failures_are_download_errors(monkeypatch, tmp_path):
    import open_clip
    import transformers

    from ci_engine.errors import DownloadError
    from ci_engine.models import hub

    def no_network(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(hub, "downloads_allowed", lambda allow: True)
    monkeypatch.setattr(hub, "unreachable", lambda url=None: None)  # the hub answers; the download then fails
    monkeypatch.setattr(open_clip, "download_pretrained", no_network)
    with pytest.raises(DownloadError, match="ViT-B-32/openai.*Connection refused"):
        load_clip("ViT-B-32/openai", device="cpu", cache_dir=str(tmp_path))
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", no_network)  # loaded first
    monkeypatch.setattr(transformers.BlipForConditionalGeneration, "from_pretrained", no_network)
    with pytest.raises(DownloadError, match="blip-base"):
        load_caption_model("blip-base", device="cpu", cache_dir=str(tmp_path))


def test_caption_folder_with_only_pickled_weights_is_refused(model_dir, tmp_path):
    from transformers import BlipForConditionalGeneration

    folder = tmp_path / "pickled-blip"
    for path in (model_dir / "blip").iterdir():
        if path.suffix != ".safetensors":
            (folder / path.name).parent.mkdir(exist_ok=True)
            (folder / path.name).write_bytes(path.read_bytes())
    model = BlipForConditionalGeneration.from_pretrained(model_dir / "blip")
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(InputError, match=r"only pickled weights \(pytorch_model.bin\).*safetensors"):
        load_caption_model(str(folder), device="cpu")


@pytest.mark.parametrize("wrapped", [False, True], ids=["plain", "model_cfg"])
def test_sidecar_config_never_replaces_a_known_architecture(model_dir, tmp_path, wrapped):
    import open_clip

    checkpoint = tmp_path / "ViT-L-14.safetensors"
    checkpoint.write_bytes((model_dir / "clip" / "TinyCLIP.safetensors").read_bytes())
    config = {"model_cfg": TINY_CLIP_CONFIG} if wrapped else TINY_CLIP_CONFIG
    checkpoint.with_suffix(".json").write_text(json.dumps(config))
    bundle = load_clip("ViT-L-14", checkpoint=checkpoint, device="cpu")
    assert bundle.name.startswith("ViT-L-14/ViT-L-14-")
    assert open_clip.get_model_config("ViT-L-14")["embed_dim"] == 768  # the built-in one is intact
    assert bundle.model.positional_embedding.shape[-1] == TINY_CLIP_CONFIG["text_cfg"]["width"]


@pytest.mark.parametrize("name", ["..\\\\..\\\\evil/x", "C:\\\\Windows/y", "a b@c/../../d", "../../etc"])
def test_cache_file_names_stay_inside_the_cache_folder(tmp_path, name):
    from ci_engine import cache

    path = cache.cache_path(tmp_path, name, "flavors")
    assert path.parent == tmp_path and all(c.isalnum() or c in "._-" for c in path.name)


def test_hub_text_tower_offline_is_a_clear_error_without_requests(model_dir, tmp_path, monkeypatch):
    import huggingface_hub

    def no_requests(*args, **kwargs):
        raise AssertionError("reached for the hub while downloads are off")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_requests)
    config = copy.deepcopy(TINY_CLIP_CONFIG)
    config["text_cfg"] = {"hf_model_name": "some-org/some-bert", "hf_tokenizer_name": "some-org/some-bert"}
    (tmp_path / "HubText.json").write_text(json.dumps(config))
    checkpoint = tmp_path / "HubText.safetensors"
    checkpoint.write_bytes((model_dir / "clip" / "TinyCLIP.safetensors").read_bytes())
    with pytest.raises(OfflineError, match="some-org/some-bert"):
        load_clip("", checkpoint=checkpoint, device="cpu", allow_download=False, cache_dir=str(tmp_path / "hub"))


def test_cached_openai_file_with_the_wrong_sha256_is_not_used(tmp_path):
    (tmp_path / "ViT-B-32.pt").write_bytes(b"not the published weights")
    with pytest.raises(OfflineError, match="sha256 does not match"):
        load_clip("ViT-B-32/openai", device="cpu", cache_dir=str(tmp_path))


def test_expected_sha256_follows_open_clip():
    from ci_engine.models.weights import expected_sha256

    sha = "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"
    assert expected_sha256(f"https://openaipublic.azureedge.net/clip/models/{sha}/ViT-B-32.pt") == sha
    assert expected_sha256(
        "https://github.com/mlfoundations/open_clip/releases/x/rn50-quickgelu-cc12m-f000538c.pt"
    ) == ("f000538c")
    assert expected_sha256("https://example.com/weights.pt") == ""


def _hub_snapshot(cache: Path, repo: str, commit: str, model_dir: Path) -> None:
    """A hub cache entry as huggingface_hub lays it out, holding the tiny BLIP at ``commit``."""
    entry = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(model_dir / "blip", entry / "snapshots" / commit)
    (entry / "refs").mkdir(exist_ok=True)
    (entry / "refs" / "main").write_text(commit)


def test_caption_models_by_name_load_their_pinned_revision_only(model_dir, tmp_path):
    spec = CAPTION_MODELS["blip-large"]
    assert all(re.fullmatch(r"[0-9a-f]{40}", s.revision) for s in CAPTION_MODELS.values())
    newer = tmp_path / "newer"  # the cache holds a later commit of the repository, as main
    _hub_snapshot(newer, spec.hub_id, "f" * 40, model_dir)
    with pytest.raises(OfflineError, match="not available locally"):
        load_caption_model("blip-large", cache_dir=newer, allow_download=False)
    pinned = tmp_path / "pinned"
    _hub_snapshot(pinned, spec.hub_id, spec.revision, model_dir)
    captioner = load_caption_model("blip-large", cache_dir=pinned, allow_download=False)
    assert captioner.family == "blip" and captioner.generate(synthetic_images(1), 5)


def test_caption_folder_with_custom_code_is_refused(model_dir, tmp_path):
    folder = tmp_path / "remote"
    shutil.copytree(model_dir / "blip", folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "modeling_evil.py").write_text("raise SystemExit('remote code ran')\n")
    with pytest.raises(InputError, match="auto_map"):
        load_caption_model(str(folder), device="cpu")
