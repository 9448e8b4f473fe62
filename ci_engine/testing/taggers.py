"""Tiny random-weight booru taggers in timm's hub layout, as SmilingWolf's v3 taggers ship:
config.json and model.safetensors written by ``timm.models.save_for_hf``, and a
selected_tags.csv with ratings, general and character tags."""

from __future__ import annotations

import csv
from pathlib import Path

import torch

# v3's architectures and their config.json model_args, at tiny width: (timm architecture, arguments)
TINY_TAGGERS: dict[str, tuple[str, dict]] = {
    "vit": (
        "vit_base_patch16_224",
        {"img_size": 32, "patch_size": 8, "embed_dim": 32, "depth": 1, "num_heads": 2, "class_token": False,
         "global_pool": "avg", "fc_norm": False, "act_layer": "gelu_tanh"},
    ),
    "swinv2": (
        "swinv2_tiny_window8_256",
        {"img_size": 32, "window_size": 4, "embed_dim": 16, "depths": (1, 1), "num_heads": (1, 2),
         "act_layer": "gelu_tanh"},
    ),
    "convnext": ("convnext_base", {"depths": (1, 1, 1, 1), "dims": (8, 16, 24, 32), "act_layer": "gelu_tanh"}),
    "eva02": (
        "eva02_large_patch14_448",
        {"img_size": 28, "patch_size": 14, "embed_dim": 32, "depth": 1, "num_heads": 2, "class_token": False,
         "global_pool": "avg", "ref_feat_shape": (2, 2)},
    ),
}  # fmt: skip
# (name, category): 9 rating, 0 general, 4 character; a kaomoji and parentheses included
TINY_TAGS: tuple[tuple[str, int], ...] = (
    *((r, 9) for r in ("general", "sensitive", "questionable", "explicit")),
    *((g, 0) for g in ("1girl", "solo", "long_hair", "smile", "^_^", "hat_(object)", "outdoors", "sky")),
    *((c, 4) for c in ("hatsune_miku", "ganyu_(genshin_impact)", "saber_(fate)", "hakurei_reimu")),
)


def write_tags(path: Path, tags: tuple[tuple[str, int], ...] = TINY_TAGS) -> None:
    """selected_tags.csv as the v3 taggers ship it: tag_id,name,category,count."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["tag_id", "name", "category", "count"])
        out.writerows((i, name, category, 1000 - i) for i, (name, category) in enumerate(tags))


def save_tagger(
    folder: Path, kind: str = "vit", seed: int = 0, mean: tuple = (0.5,) * 3, std: tuple = (0.5,) * 3
) -> Path:
    """A tiny ``kind`` tagger (``TINY_TAGGERS``) with random weights, its classifier scaled so
    scores spread over 0..1 as a trained tagger's do, and the v3 taggers' input config
    (bicubic, no crop; ``mean`` and ``std``); returns the folder."""
    import timm
    from timm.models import save_for_hf

    arch, args = TINY_TAGGERS[kind]
    torch.manual_seed(seed)
    model = timm.create_model(arch, pretrained=False, num_classes=len(TINY_TAGS), **args)
    with torch.no_grad():
        head = model.get_classifier()
        head.weight.normal_(0.0, 3.0 / head.weight.shape[1] ** 0.5)
    size = args.get("img_size", 32)
    data = {"input_size": (3, size, size), "interpolation": "bicubic", "crop_pct": 1.0, "mean": mean, "std": std}
    model.pretrained_cfg = {**model.pretrained_cfg, **data, "num_classes": len(TINY_TAGS)}
    folder.mkdir(parents=True, exist_ok=True)
    save_for_hf(model, str(folder), model_args=dict(args), safe_serialization=True)
    write_tags(folder / "selected_tags.csv")
    return folder


class FixedScores(torch.nn.Module):
    """A tagger's network that gives the same scores for every image: tag choices in tests
    without training a model."""

    def __init__(self, scores: list[float]) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(torch.logit(torch.tensor(scores)), requires_grad=False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """The fixed logits, one row per image."""
        return self.logits.expand(len(pixels), -1)
