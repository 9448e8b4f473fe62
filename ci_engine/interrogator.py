"""The public entry point: an interrogator built from models and tables, one call per mode."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
from PIL import Image

from . import modes
from .caption import Captioner, clean_caption
from .clip_bundle import ClipBundle
from .errors import InputError
from .hooks import Hooks
from .settings import MODES, OPTIONAL_TABLES, Settings
from .tables import CacheSettings, ensure_tables
from .vocab import Vocabulary, build_vocabulary

NEEDS_CAPTION = ("best", "classic", "fast", "caption")
IMAGE_BATCH = 16


@dataclass
class Result:
    """One image's outcome. ``analysis`` maps table -> [(label, score)] in analyze mode."""

    mode: str
    prompt: str
    caption: str
    seconds: float
    image: str | None = None
    analysis: dict[str, list[tuple[str, float]]] | None = field(default=None)

    def to_json(self) -> dict:
        out = asdict(self)
        if self.analysis is None:
            out.pop("analysis")
        return out


class Interrogator:
    """Turns images into prompts with a CLIP bundle and an optional caption model."""

    def __init__(
        self,
        clip: ClipBundle,
        captioner: Captioner | None = None,
        settings: Settings = Settings(),
        vocab: Vocabulary | None = None,
        cache: CacheSettings = CacheSettings(None),
        hooks: Hooks | None = None,
    ) -> None:
        self.clip = clip
        self.captioner = captioner
        self.settings = settings.validate()
        clip.text.batch_size = self.settings.text_batch_size
        self.vocab = vocab or build_vocabulary(compat=settings.compat)
        self.cache = cache
        self.hooks = hooks or Hooks()

    def tables_for(self, mode: str) -> list[str]:
        """The tables a mode ranks (all of them in compat; otherwise the enabled ones)."""
        wanted = {
            "caption": [],
            "negative": ["flavors", "negative"],
            "analyze": [*OPTIONAL_TABLES, "negative"],
        }.get(mode, list(OPTIONAL_TABLES))
        enabled = [n for n in wanted if n == "negative" or n in self.settings.tables]
        return enabled + (self.vocab.custom if mode in ("fast", "best", "analyze") else [])

    def prepare(self, mode: str) -> None:
        """Loads or computes the label tables ``mode`` needs (cached on disk)."""
        ensure_tables(self.clip, self.vocab, self.tables_for(mode), self.cache, self.hooks)

    def captions(self, images: Sequence[Image.Image]) -> list[str]:
        """Captions from the caption model: one batch by default, one image at a time in compat."""
        if self.captioner is None:
            raise InputError("No caption model: load one, or give the caption text yourself.")
        self.hooks.use(self.captioner)
        step = 1 if self.settings.compat else IMAGE_BATCH
        out: list[str] = []
        for start in range(0, len(images), step):
            self.hooks.check_cancel()
            out += self.captioner.generate(images[start : start + step], self.settings.caption_max_length)
        return [clean_caption(c) for c in out] if self.settings.cleans_captions else out

    def image_features(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """(B, D) features; compat encodes one image at a time, as upstream does."""
        self.hooks.use(self.clip)
        step = 1 if self.settings.compat else IMAGE_BATCH
        return torch.cat([self.clip.image_features(images[i : i + step]) for i in range(0, len(images), step)])

    def run(self, mode: str, images: Sequence[Image.Image], captions: Sequence[str] | None = None) -> list[Result]:
        """Runs ``mode`` on every image. Given captions (one, or one per image) skip the caption model."""
        if mode not in MODES:
            raise InputError(f"Unknown mode '{mode}': choose one of {', '.join(MODES)}.")
        if not images:
            raise InputError("No images to interrogate.")
        start = time.perf_counter()
        caps = self._resolve_captions(mode, images, captions)
        if mode == "caption":
            each = (time.perf_counter() - start) / len(images)
            return [Result(mode, c, c, each) for c in caps]
        self.prepare(mode)
        features = self.image_features(images)
        shared = (time.perf_counter() - start) / len(images)
        return self._per_image(mode, features, caps, shared)

    def _resolve_captions(self, mode, images, captions) -> list[str]:
        if captions:
            caps = list(captions) * len(images) if len(captions) == 1 else list(captions)
            if len(caps) != len(images):
                raise InputError(f"Got {len(captions)} captions for {len(images)} images: give one, or one per image.")
            return caps
        if mode in NEEDS_CAPTION:
            return self.captions(images)
        return [""] * len(images)

    def _per_image(self, mode: str, features: torch.Tensor, caps: list[str], shared: float) -> list[Result]:
        ctx = modes.ModeContext(self.clip, self.vocab, self.settings, self.hooks)
        results = []
        for i, caption in enumerate(caps):
            self.hooks.check_cancel()
            self.hooks.use(self.clip)
            t0 = time.perf_counter()
            row = features[i : i + 1]
            if mode == "analyze":
                analysis = modes.analyze(ctx, row, self.settings.top_k)
                seconds = shared + time.perf_counter() - t0
                results.append(Result(mode, _summary(analysis), caption, seconds, analysis=analysis))
            else:
                prompt = modes.PROMPT_MODES[mode](ctx, row, caption, self.settings.flavors_for(mode))
                results.append(Result(mode, prompt, caption, shared + time.perf_counter() - t0))
            self.hooks.progress("Interrogating", i + 1, len(caps))
        return results

    def fast(self, images, captions=None) -> list[Result]:
        return self.run("fast", images, captions)

    def classic(self, images, captions=None) -> list[Result]:
        return self.run("classic", images, captions)

    def best(self, images, captions=None) -> list[Result]:
        return self.run("best", images, captions)

    def negative(self, images) -> list[Result]:
        return self.run("negative", images)

    def caption(self, images) -> list[Result]:
        return self.run("caption", images)

    def analyze(self, images) -> list[Result]:
        return self.run("analyze", images)


def _summary(analysis: dict[str, list[tuple[str, float]]]) -> str:
    """A prompt-like line for analyze mode: each table's best label."""
    return ", ".join(rows[0][0] for rows in analysis.values() if rows)
