"""The public entry point: an interrogator built from models and tables, one call per mode."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
from PIL import Image

from .errors import InputError
from .hooks import Hooks
from .models.bundle import ClipBundle
from .models.caption_text import clean_caption
from .models.captioner import Captioner
from .modes import MODES, Analysis, ModeContext, ModeSpec, mode_spec
from .settings import Settings
from .tables import CacheSettings, ensure_tables
from .target import Target, fit_to_budget, scoring_caption
from .vocab import Vocabulary, build_vocabulary

IMAGE_BATCH = 16


@dataclass
class Result:
    """One image's outcome. ``analysis`` maps table -> [(label, score)] in analyze mode."""

    mode: str
    prompt: str
    caption: str
    seconds: float
    image: str | None = None
    analysis: Analysis | None = field(default=None)
    negative: str | None = None  # with_negative: the image's negative prompt

    def to_json(self) -> dict:
        """A JSON-ready dict, without ``analysis`` outside analyze mode nor an unasked ``negative``."""
        out = asdict(self)
        for key in ("analysis", "negative"):
            if out[key] is None:
                out.pop(key)
        return out


class Interrogator:
    """Turns images into prompts with a CLIP bundle and an optional caption model.

    ``run(mode, images)`` is the one entry point; ``MODES`` in ``ci_engine.modes`` lists the modes.
    """

    def __init__(
        self,
        clip: ClipBundle,
        captioner: Captioner | None = None,
        settings: Settings = Settings(),
        vocab: Vocabulary | None = None,
        cache: CacheSettings = CacheSettings(None),
        hooks: Hooks | None = None,
        target: Target | None = None,
    ) -> None:
        """``vocab`` defaults to upstream's lists; ``cache`` to no cache folder (compute in memory);
        ``target`` to CLIP's 77-token window (see ``ci_engine.target``)."""
        self.clip = clip
        self.captioner = captioner
        self.settings = settings
        self.vocab = vocab or build_vocabulary(compat=settings.compat)
        self.cache = cache
        self.hooks = hooks or Hooks()
        self.target = target
        if settings.compat and self.vocab.custom:
            raise InputError("Compat mode reproduces upstream's tables only: leave the extra label lists out.")
        if captioner is not None:
            captioner.check_style(settings.caption_style)  # before any work: a style it cannot write
        self._context = ModeContext(clip, self.vocab, settings, self.hooks)

    def prepare(self, mode: str) -> None:
        """Loads or computes the label tables ``mode`` ranks (cached on disk)."""
        names = [n for n in mode_spec(mode).table_names(self.vocab) if self._context.enabled(n)]
        ensure_tables(self.clip, self.vocab, names, self.cache, self.hooks, self.settings.text_batch_size)
        self.hooks.use(self.clip)
        self.clip.text.verify()  # here rather than mid-chain: the check costs a few plain encodes

    def generate_captions(self, images: Sequence[Image.Image]) -> list[str]:
        """Caption texts from the caption model: batched by default, one image at a time in compat."""
        if self.captioner is None:
            raise InputError("No caption model: load one, or give the caption text yourself.")
        self.hooks.use(self.captioner)
        step = 1 if self.settings.compat else self.captioner.spec.batch
        out: list[str] = []
        for start in range(0, len(images), step):
            self.hooks.check_cancel()
            batch = images[start : start + step]
            out += self.captioner.generate(batch, self.settings.caption_max_length, self.settings.caption_style)
        return [clean_caption(c) for c in out] if self.settings.cleans_captions else out

    def image_features(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """(B, D) features; compat encodes one image at a time, as upstream does."""
        self.hooks.use(self.clip)
        step = 1 if self.settings.compat else IMAGE_BATCH
        return torch.cat([self.clip.image_features(images[i : i + step]) for i in range(0, len(images), step)])

    def run(
        self,
        mode: str,
        images: Sequence[Image.Image],
        captions: str | Sequence[str] | None = None,
        with_negative: bool = False,
    ) -> list[Result]:
        """Runs ``mode`` on every image (PIL images). Given captions (one, or one per image) skip
        the caption model; a blank one leaves its image to the caption model. ``with_negative``
        also chains each image's negative prompt from the same image features (one more chain,
        no second image encode or caption)."""
        spec = mode_spec(mode)
        images = checked_images(images)
        self._check_tables(spec)
        start = time.perf_counter()
        caps = self._resolve_captions(spec, images, captions)
        if spec.build is None and not with_negative:
            each = (time.perf_counter() - start) / len(images)
            return [Result(mode, self._fitted(c, []), c, each) for c in caps]
        for needed in (mode, *(["negative"] if with_negative else [])):
            self.prepare(needed)
        features = self.image_features(images)
        shared = (time.perf_counter() - start) / len(images)
        return self._per_image(spec, features, caps, shared, with_negative)

    def _check_tables(self, spec: ModeSpec) -> None:
        names = spec.table_names(self.vocab)
        if spec.build is not None and names and not any(self._context.enabled(n) for n in names):
            raise InputError(
                f"Every label table is switched off, so mode '{spec.name}' has nothing to add: "
                "switch a table on, or use mode 'caption'."
            )

    def _resolve_captions(self, spec: ModeSpec, images, captions) -> list[str]:
        caps = caption_list(captions, len(images))
        missing = [i for i, caption in enumerate(caps) if not caption.strip()] if spec.needs_caption else []
        if missing:
            for i, caption in zip(missing, self.generate_captions([images[i] for i in missing])):
                caps[i] = caption
        return caps

    def _per_image(
        self, spec: ModeSpec, features: torch.Tensor, caps: list[str], shared: float, with_negative: bool
    ) -> list[Result]:
        results = []
        for i, caption in enumerate(caps):
            self.hooks.check_cancel()
            self.hooks.use(self.clip)
            t0 = time.perf_counter()
            result = self._one(spec, features[i : i + 1], caption)
            if with_negative:
                result.negative = self._one(MODES["negative"], features[i : i + 1], caption).prompt
            result.seconds = shared + time.perf_counter() - t0
            results.append(result)
            self.hooks.progress("Interrogating", i + 1, len(caps))
        return results

    def _one(self, spec: ModeSpec, features: torch.Tensor, caption: str) -> Result:
        """One image's result of ``spec`` (the caption itself for caption mode). With a target,
        CLIP chooses the labels after the caption cut to a share of its window (so it scores
        them), then the whole caption and those labels are fitted to the target's budget."""
        if spec.build is None:
            return Result(spec.name, self._fitted(caption, []), caption, 0.0)
        scoring = caption if self.target is None else scoring_caption(caption, self.clip.tokens)
        out = spec.build(self._context, features, scoring, spec.max_flavors(self.settings))
        prompt = out.prompt
        if self.target is not None and spec.needs_caption and prompt.startswith(scoring):
            labels = [part for part in prompt[len(scoring) :].split(", ") if part.strip()]
            prompt = self._fitted(caption, labels)
        return Result(spec.name, prompt, caption, 0.0, analysis=out.analysis)

    def _fitted(self, caption: str, labels: list[str]) -> str:
        return caption if self.target is None else fit_to_budget(caption, labels, self.target)


def checked_images(images: Sequence[Image.Image]) -> list[Image.Image]:
    """``images`` as a list, or an ``InputError`` naming the first one that is not a usable image."""
    if isinstance(images, Image.Image):
        raise InputError("Pass a list of images: wrap a single image as [image].")
    images = list(images)
    if not images:
        raise InputError("No images to interrogate.")
    for i, image in enumerate(images):
        if not isinstance(image, Image.Image):
            raise InputError(
                f"Image {i} is a {type(image).__name__}, not a PIL image: open files with ci_engine.load_image "
                "and arrays with PIL.Image.fromarray."
            )
        if 0 in image.size:
            raise InputError(f"Image {i} has a zero-sized side ({image.width}x{image.height}).")
    return images


def caption_list(captions: str | Sequence[str] | None, count: int) -> list[str]:
    """One caption per image ("" where none was given): one caption is used for every image."""
    if captions is None:
        return [""] * count
    caps = [captions] if isinstance(captions, str) else list(captions)
    for caption in caps:
        if not isinstance(caption, str):
            raise InputError(f"Captions must be strings, not {type(caption).__name__} ({caption!r}).")
    if len(caps) <= 1:
        return (caps or [""]) * count
    if len(caps) != count:
        raise InputError(f"Got {len(caps)} captions for {count} images: give one, or one per image.")
    return caps
