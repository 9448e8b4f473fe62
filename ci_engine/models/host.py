"""A CLIP bundle over weights a host already holds (ComfyUI's CLIP vision and text encoders).

The host keeps its weights, its device and its memory accounting: the bundle only calls the
host's modules. Label tables come from caches published or written for the same weights, or
are computed with the host's text tower when it has the matching one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from ..text.hf_layout import HostTextTower
from .bundle import ClipBundle
from .towers import KnownTower


class HostClip:
    """What a ``ClipBundle`` runs when the host holds the weights (a plain object: the bundle
    must not register the host's modules as its own)."""

    def __init__(
        self, vision: nn.Module, encode_image: Callable[[torch.Tensor], torch.Tensor], compute_dtype: torch.dtype
    ) -> None:
        """``encode_image`` maps preprocessed pixels (B, 3, H, W) to projected image features;
        ``compute_dtype`` is what the host computes in (ComfyUI: fp32 on the CPU whatever it stores)."""
        self._vision = vision
        self._encode_image = encode_image
        self.compute_dtype = compute_dtype

    def encode_image(self, batch: torch.Tensor) -> torch.Tensor:
        """Projected image features (unnormalised), computed by the host's model."""
        return self._encode_image(batch)

    def parameters(self) -> Iterator[nn.Parameter]:
        """The host image tower's parameters (where the bundle runs, in what dtype)."""
        return self._vision.parameters()

    def modules(self) -> Iterator[nn.Module]:
        """The host image tower's modules."""
        return self._vision.modules()


def image_transform(arch: str, pretrained: str) -> Callable:
    """open_clip's evaluation preprocessing for ``arch`` with ``pretrained``'s settings."""
    import open_clip

    from .clip import preprocess_overrides
    from .clip_names import pretrained_cfg

    cfg = dict(open_clip.get_model_config(arch)["vision_cfg"])
    pre = pretrained_cfg(arch, pretrained) if open_clip.get_pretrained_cfg(arch, pretrained) else {}
    return open_clip.image_transform(cfg.get("image_size", 224), is_train=False, **preprocess_overrides(pre))


def host_bundle(
    tower: KnownTower, clip: HostClip, text: HostTextTower | None, no_text_reason: str, name: str | None = None
) -> ClipBundle:
    """A bundle for ``tower`` over the host's image model and, when given, its text tower
    (``no_text_reason`` says why there is none). Caches are looked up as ``name`` (default:
    the tower's open_clip name)."""
    import open_clip

    arch, pretrained = tower.name.split("/", 1)
    tokenizer = open_clip.get_tokenizer(arch)
    bundle = ClipBundle(clip, image_transform(arch, pretrained), tokenizer, name or tower.name, text_model=text)
    bundle.host_tower = tower
    bundle.set_embed_dim(tower.embed_dim)
    if text is None:
        bundle.disable_text(no_text_reason)
    return bundle
