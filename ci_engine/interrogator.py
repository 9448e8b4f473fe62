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
from .models.tagger import BATCH as TAG_BATCH
from .models.tagger import Tagger
from .modes import MODES, Analysis, ModeContext, ModeSpec, mode_spec
from .settings import Settings
from .tables import CacheSettings, ensure_tables
from .tagging import check_source, fit_tagged, scoring_tags, tag_scores
from .tags.text import Tag, joined
from .target import Target, clip_window, fit_to_budget, scoring_caption
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
    tags: list[tuple[str, float]] | None = None  # a tagger's tags (as written) and scores

    def to_json(self) -> dict:
        """A JSON-ready dict, without ``analysis`` outside analyze mode, an unasked ``negative``
        nor ``tags`` when no tagger ran."""
        out = asdict(self)
        for key in ("analysis", "negative", "tags"):
            if out[key] is None:
                out.pop(key)
        return out


class Interrogator:
    """Turns images into prompts with a CLIP bundle and an optional caption source: a caption
    model or a tagger (whose tags take the caption's place).

    ``run(mode, images)`` is the one entry point; ``MODES`` in ``ci_engine.modes`` lists the modes.
    """

    def __init__(
        self,
        clip: ClipBundle | None,
        captioner: Captioner | Tagger | None = None,
        settings: Settings = Settings(),
        vocab: Vocabulary | None = None,
        cache: CacheSettings = CacheSettings(None),
        hooks: Hooks | None = None,
        target: Target | None = None,
    ) -> None:
        """``vocab`` defaults to upstream's lists; ``cache`` to no cache folder (compute in memory);
        ``target`` to CLIP's 77-token window (see ``ci_engine.target``). ``clip`` may be None
        for mode caption only (a tagger then needs ``target``: its tags are fitted to it)."""
        self.clip = clip
        self.captioner = captioner
        self.settings = settings
        self.vocab = vocab or build_vocabulary(compat=settings.compat)
        self.cache = cache
        self.hooks = hooks or Hooks()
        self.target = target
        if settings.compat and self.vocab.custom:
            raise InputError("Compat mode reproduces upstream's tables only: leave the extra label lists out.")
        check_source(captioner, settings)  # before any work: options the source cannot take
        self._context = ModeContext(clip, self.vocab, settings, self.hooks)

    def prepare(self, mode: str) -> None:
        """Loads or computes the label tables ``mode`` ranks (cached on disk)."""
        if self.clip is None:  # mode caption without CLIP's weights: nothing to prepare
            return
        names = [n for n in mode_spec(mode).table_names(self.vocab) if self._context.enabled(n)]
        ensure_tables(self.clip, self.vocab, names, self.cache, self.hooks, self.settings.text_batch_size)
        self._check_text(mode_spec(mode))  # again: the host text's safety net may have turned it off
        self.hooks.use(self.clip)
        self.clip.text.verify()  # here rather than mid-chain: the check costs a few plain encodes

    def generate_captions(self, images: Sequence[Image.Image]) -> list[str]:
        """Caption texts from the caption source: batched by default, one image at a time in
        compat; a tagger's are its tags, ", "-joined."""
        if isinstance(self.captioner, Tagger):
            return [joined(tags, self.settings.tag_style) for tags in self.tag_images(images)]
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

    def tag_images(self, images: Sequence[Image.Image]) -> list[list[Tag]]:
        """Each image's tags from the tagger, chosen by the tag style, without the exclusions."""
        if not isinstance(self.captioner, Tagger):
            raise InputError("No tagger: load one (e.g. wd-vit-tagger-v3) to tag images.")
        self.hooks.use(self.captioner)
        out: list[list[Tag]] = []
        for start in range(0, len(images), TAG_BATCH):
            self.hooks.check_cancel()
            batch = images[start : start + TAG_BATCH]
            out += self.captioner.tag(batch, self.settings.tag_style, self.settings.exclusions)
            self.hooks.progress("Tagging", len(out), len(images))
        return out

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
        for needed in (spec, *([MODES["negative"]] if with_negative else [])):
            self._check_text(needed)
        start = time.perf_counter()
        caps, tags = self._resolve_captions(spec, images, captions)
        if spec.build is None and not with_negative:
            each = (time.perf_counter() - start) / len(images)
            return [self._caption_result(mode, c, t, each) for c, t in zip(caps, tags)]
        for needed in (mode, *(["negative"] if with_negative else [])):
            self.prepare(needed)
        features = self.image_features(images)
        shared = (time.perf_counter() - start) / len(images)
        return self._per_image(spec, features, list(zip(caps, tags)), shared, with_negative)

    def _check_tables(self, spec: ModeSpec) -> None:
        names = spec.table_names(self.vocab)
        if spec.build is not None and names and not any(self._context.enabled(n) for n in names):
            raise InputError(
                f"Every label table is switched off, so mode '{spec.name}' has nothing to add: "
                "switch a table on, or use mode 'caption'."
            )

    def _check_text(self, spec: ModeSpec) -> None:
        """Before any work: a mode that chains labels needs a CLIP that can encode text."""
        problem = self.clip.text_problem if self.clip is not None else None
        if spec.encodes_text and problem:
            raise InputError(f"Mode '{spec.name}' chains labels, so it needs CLIP's text encoder. {problem}")

    def _resolve_captions(self, spec: ModeSpec, images, captions) -> tuple[list[str], list[list[Tag] | None]]:
        """Each image's caption, and its tags when a tagger wrote it (analyze shows a tagger's
        tags too); given captions are kept."""
        caps = caption_list(captions, len(images))
        tags: list[list[Tag] | None] = [None] * len(images)
        tagging = isinstance(self.captioner, Tagger)
        wanted = spec.needs_caption or (tagging and spec.name == "analyze")
        missing = [i for i, caption in enumerate(caps) if not caption.strip()] if wanted else []
        if missing and tagging:
            for i, found in zip(missing, self.tag_images([images[i] for i in missing])):
                caps[i], tags[i] = joined(found, self.settings.tag_style), found
        elif missing:
            for i, caption in zip(missing, self.generate_captions([images[i] for i in missing])):
                caps[i] = caption
        return caps, tags

    def _per_image(
        self, spec: ModeSpec, features: torch.Tensor, described: list, shared: float, with_negative: bool
    ) -> list[Result]:
        """``described``: (caption, tags or None) per image."""
        results = []
        for i, (caption, tags) in enumerate(described):
            self.hooks.check_cancel()
            self.hooks.use(self.clip)
            t0 = time.perf_counter()
            result = self._one(spec, features[i : i + 1], caption, tags)
            if with_negative:
                result.negative = self._one(MODES["negative"], features[i : i + 1], caption, None).prompt
            result.seconds = shared + time.perf_counter() - t0
            results.append(result)
            self.hooks.progress("Interrogating", i + 1, len(described))
        return results

    def _one(self, spec: ModeSpec, features: torch.Tensor, caption: str, tags: list[Tag] | None) -> Result:
        """One image's result of ``spec`` (the caption itself for caption mode). With a target
        (always, for tags), CLIP chooses the labels after the caption cut to a share of its
        window (so it scores them), then the whole caption and those labels are fitted to the
        target's budget; tags are cut by confidence, not from the end."""
        if spec.build is None:
            return self._caption_result(spec.name, caption, tags, 0.0)
        scoring = self._scoring(caption, tags)
        out = spec.build(self._context, features, scoring, spec.max_flavors(self.settings))
        prompt, analysis = out.prompt, out.analysis
        fitting = self.target is not None or tags is not None
        if fitting and spec.needs_caption and prompt.startswith(scoring):
            labels = [part for part in prompt[len(scoring) :].split(", ") if part.strip()]
            prompt = self._fitted(caption, labels, tags)
        if tags is not None and analysis is not None:
            analysis = {"tags": tag_scores(tags, self.settings.tag_style), **analysis}
        return Result(spec.name, prompt, caption, 0.0, analysis=analysis, tags=self._tag_rows(tags))

    def _caption_result(self, mode: str, caption: str, tags: list[Tag] | None, seconds: float) -> Result:
        return Result(mode, self._fitted(caption, [], tags), caption, seconds, tags=self._tag_rows(tags))

    def _scoring(self, caption: str, tags: list[Tag] | None) -> str:
        """What CLIP ranks labels after: the caption, or its share of CLIP's window."""
        if tags is not None:
            return scoring_tags(tags, self.settings.tag_style, self.clip.tokens)
        return caption if self.target is None else scoring_caption(caption, self.clip.tokens)

    def _fitted(self, caption: str, labels: list[str], tags: list[Tag] | None = None) -> str:
        if tags is not None:
            return fit_tagged(tags, labels, self.settings.tag_style, self._tag_target())
        return caption if self.target is None else fit_to_budget(caption, labels, self.target)

    def _tag_target(self) -> Target:
        """Tags always fit a budget: the target's, else CLIP's window."""
        if self.target is None and self.clip is None:
            raise ValueError("An interrogator without CLIP needs a target to fit tags to.")
        return self.target or clip_window(self.clip.tokens)

    def _tag_rows(self, tags: list[Tag] | None) -> list[tuple[str, float]] | None:
        return None if tags is None else tag_scores(tags, self.settings.tag_style)


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
