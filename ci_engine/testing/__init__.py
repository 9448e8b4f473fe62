"""Tiny random-weight models saved to disk, for tests, benchmarks and offline demos.

Like ``numpy.testing``: nothing in the engine imports this module; it never touches the network.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
# ViT-B-32's text tower (the part the fast paths change) with a small vision tower.
B32_TEXT_CONFIG = {
    "embed_dim": 512,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12},
}
CAPTION_WORDS = (
    "a an the of on in with and at by cat dog man woman child tree house city street sky sea river "
    "mountain forest field car boat bird horse red blue green yellow black white small large old young "
    "painting photo drawing picture portrait view night day sunset snow rain standing sitting walking"
).split()


def save_clip(folder: Path, arch: str = "TinyCLIP", config: dict = TINY_CLIP_CONFIG, seed: int = 0) -> Path:
    """Writes ``{arch}.safetensors`` with a sidecar ``{arch}.json``; returns the checkpoint path."""
    import open_clip
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{arch}.json"
    config_path.write_text(json.dumps(config))
    open_clip.add_model_config(config_path)
    torch.manual_seed(seed)
    model = open_clip.create_model(arch)
    checkpoint = folder / f"{arch}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(checkpoint))
    return checkpoint


def save_blip(folder: Path, seed: int = 0) -> Path:
    """A tiny BLIP captioner with its processor and a tokenizer built from a written vocab."""
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", *CAPTION_WORDS]
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(str(vocab_file), bos_token="[DEC]")  # positional: 4.x and 5.x differ in its name
    text = {
        "vocab_size": len(vocab),
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 64,
        "encoder_hidden_size": 32,
        "bos_token_id": 5,
        "eos_token_id": 3,
        "sep_token_id": 3,
        "pad_token_id": 0,
        "initializer_range": 0.3,
    }  # large weights: captions then depend on the image
    vision = {
        "hidden_size": 32,
        "image_size": 32,
        "patch_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "initializer_range": 0.3,
    }
    torch.manual_seed(seed)
    model = BlipForConditionalGeneration(BlipConfig(text_config=text, vision_config=vision, projection_dim=32))
    model.save_pretrained(folder)
    image_processor = BlipImageProcessor(size={"height": 32, "width": 32})
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


# the families with a tiny model here; "image-text-to-text" is the generic chat family (a Qwen2-VL)
CAPTION_FAMILIES = ("blip", "florence2", "llava", "qwen2.5-vl", "qwen3-vl", "smolvlm", "image-text-to-text")


def save_caption_model(family: str, folder: Path, seed: int = 0) -> Path:
    """A tiny random-weight caption model of ``family`` with its real processor class, saved
    as a local Hugging Face folder (safetensors) that transformers' native classes load."""
    from .chat_models import save_qwen2_5_vl, save_qwen2_vl, save_qwen3_vl, save_smolvlm
    from .florence_llava import save_florence2, save_llava

    builders = {
        "blip": save_blip,
        "florence2": save_florence2,
        "llava": save_llava,
        "qwen2.5-vl": save_qwen2_5_vl,
        "qwen3-vl": save_qwen3_vl,
        "smolvlm": save_smolvlm,
        "image-text-to-text": save_qwen2_vl,
    }
    return builders[family](Path(folder), seed)


def synthetic_images(count: int, seed: int = 0) -> list[Image.Image]:
    """Varied images: noise, gradients, stripes, flat colours, of different sizes."""
    rng = np.random.RandomState(seed)
    out = []
    for i in range(count):
        h, w = 24 + 8 * (i % 4), 40 - 4 * (i % 3)
        kind = i % 4
        if kind == 0:
            arr = rng.rand(h, w, 3) * 255
        elif kind == 1:
            arr = np.linspace(0, 255, w)[None, :, None] * rng.rand(1, 1, 3) + np.zeros((h, 1, 3))
        elif kind == 2:
            arr = ((np.arange(w) // (2 + i % 5)) % 2)[None, :, None] * rng.rand(1, 1, 3) * 255 + np.zeros((h, 1, 3))
        else:
            arr = np.ones((h, w, 3)) * rng.rand(3) * 255
        out.append(Image.fromarray(arr.clip(0, 255).astype(np.uint8)))
    return out


def write_vocab_subset(folder: Path, flavor_step: int = 30, artist_step: int = 20) -> Path:
    """Every n-th line of upstream's flavors and artists, all of the small lists, plus the
    labels that tokenize alike across tables (so exact ties are exercised)."""
    from ci_engine.vocab import UPSTREAM_LISTS, load_list, normalized, upstream_data_dir

    src = upstream_data_dir()
    lists = {name: load_list(src / f"{name}.txt") for name in UPSTREAM_LISTS}
    flavors = lists["flavors"][::flavor_step]
    artist_forms = {normalized(f"by {a}") for a in lists["artists"]}
    flavors += [f for f in lists["flavors"] if normalized(f) in artist_forms]  # "by greg rutkowski"
    artists = lists["artists"][::artist_step]
    artists += [a for a in lists["artists"] if normalized(f"by {a}") in {normalized(f) for f in flavors}]
    subset = {**lists, "flavors": flavors, "artists": list(dict.fromkeys(artists))}
    folder.mkdir(parents=True, exist_ok=True)
    for name, labels in subset.items():
        (folder / f"{name}.txt").write_text("\n".join(labels), encoding="utf-8")
    return folder


DATASET_FORMATS = (("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP"), ("bmp", "BMP"), ("gif", "GIF"))
BAD_KINDS = ("truncated", "bomb", "empty")


def make_dataset(root: Path, count: int, bad: int = 3, seed: int = 0, sides: tuple[int, int] = (24, 96)) -> list[Path]:
    """``count`` images in nested folders (``a/``, ``a/b/``, ``c/``), mixed formats, sides
    drawn from ``sides``; the last ``bad`` are damaged: pixels cut short, a header claiming
    20000x10000, an empty file. Returns the paths of the good ones."""
    rng = np.random.RandomState(seed)
    folders = [root, root / "a", root / "a" / "b", root / "c"]
    good = []
    for i in range(count):
        suffix, fmt = DATASET_FORMATS[i % len(DATASET_FORMATS)]
        path = folders[i % len(folders)] / f"img{i:05}.{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        side = int(rng.randint(*sides))
        arr = rng.rand(side, side + int(rng.randint(0, 40)), 3) * 255
        Image.fromarray(arr.astype(np.uint8)).save(path, fmt)
        if i >= count - bad:
            _damage(path, BAD_KINDS[(count - 1 - i) % len(BAD_KINDS)])
        else:
            good.append(path)
    return good


def _damage(path: Path, kind: str) -> None:
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    else:  # a PNG whose header claims 20000 x 10000 pixels: a decompression bomb
        import struct
        import zlib

        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, "PNG")
        data = bytearray(buffer.getvalue())
        ihdr = data.index(b"IHDR")
        data[ihdr + 4 : ihdr + 12] = struct.pack(">II", 20000, 10000)
        data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
        path.write_bytes(bytes(data))
