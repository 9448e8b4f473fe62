"""CLIP image towers a host may already hold, known by their shapes (data, like the registry).

A host (ComfyUI) loads CLIP weights for its own use: IP-Adapter's image encoders, Revision's
``clip_vision_g``, SDXL's ``clip_g``. Its files carry no open_clip name, but a tower's width,
depth and projection tell which published weights it is, and so which open_clip model's label
caches and tokenizer serve it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class KnownTower:
    """One CLIP model as a host's files hold it.

    ``name`` is the open_clip ``ARCH/PRETRAINED`` whose label caches and tokenizer serve it;
    ``vision`` the image tower's (width, layers, projection dim); ``text`` its text tower's
    (width, layers); ``vision_files`` and ``text_files`` the common files that hold each, for
    messages and docs.
    """

    name: str
    vision: tuple[int, int, int]
    text: tuple[int, int]
    vision_files: str
    text_files: str

    @property
    def embed_dim(self) -> int:
        """Width of the shared image/text feature space."""
        return self.vision[2]


KNOWN_TOWERS: list[KnownTower] = [
    KnownTower(
        "ViT-L-14/openai",
        (1024, 24, 768),
        (768, 12),
        "OpenAI clip-vit-large-patch14's vision tower (clip_vision_l)",
        "the full OpenAI clip-vit-large-patch14 with CLIPLoader (a checkpoint's clip_l lacks the text projection)",
    ),
    KnownTower(
        "ViT-H-14/laion2b_s32b_b79k",
        (1280, 32, 1024),
        (1024, 24),
        "CLIP-ViT-H-14-laion2B-s32B-b79K (IP-Adapter)",
        "an SD2 checkpoint's CLIP (clip_h)",
    ),
    KnownTower(
        "ViT-bigG-14/laion2b_s39b_b160k",
        (1664, 48, 1280),
        (1280, 32),
        "CLIP-ViT-bigG-14-laion2B-39B-b160k (IP-Adapter) or clip_vision_g (Revision)",
        "an SDXL or SD3.5 checkpoint's CLIP, or clip_g with CLIPLoader",
    ),
]


def register_tower(tower: KnownTower) -> None:
    """Adds a tower (tests add their tiny CLIP); a tower of the same shapes is replaced."""
    KNOWN_TOWERS[:] = [t for t in KNOWN_TOWERS if t.vision != tower.vision] + [tower]


def _shape_text(vision: tuple[int, int, int]) -> str:
    return f"width {vision[0]}, {vision[1]} layers, projection {vision[2]}"


def find_tower(vision: tuple[int, int, int]) -> KnownTower:
    """The known tower with these image-tower shapes, or an error listing the supported ones."""
    for tower in KNOWN_TOWERS:
        if tower.vision == tuple(vision):
            return tower
    supported = "; ".join(f"{t.name} ({_shape_text(t.vision)}: {t.vision_files})" for t in KNOWN_TOWERS)
    raise InputError(
        f"This CLIP vision model ({_shape_text(vision)}) is not one the interrogator knows. "
        f"Supported: {supported}. Or load a CLIP with Load CLIP (Interrogator)."
    )


def text_matches(tower: KnownTower, width: int, layers: int) -> bool:
    """Whether a text tower of ``width`` and ``layers`` is this model's."""
    return (width, layers) == tower.text
