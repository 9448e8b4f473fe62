"""The work of a dataset run shared by one process and Ray actors: options, counts, the
settings hash, and writing a batch's sidecars."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from ..atomic import write_atomic
from ..cache import labels_hash
from ..errors import InputError
from ..hooks import Hooks
from ..interrogator import Interrogator
from ..modes import PROMPT_MODE_NAMES
from ..tags.style import TagStyle
from .files import ON_EXISTING, appended, sidecar_of, sidecar_text
from .loader import Decoded
from .manifest import Row, settings_hash

KEPT_ERRORS = 100  # error messages a summary keeps for display


@dataclass(frozen=True)
class DatasetOptions:
    """What a dataset run writes. ``caption``: one fixed caption for every image (no caption model)."""

    mode: str = "best"
    prefix: str = ""
    suffix: str = ""
    on_existing: str = "skip"  # skip, overwrite or append, for a sidecar this run did not write
    caption: str | None = None
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.mode not in PROMPT_MODE_NAMES:
            raise InputError(f"Mode '{self.mode}' gives no prompt: use one of {', '.join(PROMPT_MODE_NAMES)}.")
        if self.on_existing not in ON_EXISTING:
            raise InputError(f"on_existing must be one of {', '.join(ON_EXISTING)}, not '{self.on_existing}'.")
        if self.batch_size < 1:
            raise InputError(f"The batch size must be at least 1, not {self.batch_size}.")


@dataclass
class Summary:
    """Counts of a run: sidecars written, images skipped (done or kept), images that failed."""

    written: int = 0
    skipped: int = 0
    failed: int = 0
    manifest: str = ""
    errors: list[str] = field(default_factory=list)

    def count(self, rows: list[Row]) -> None:
        """Adds the outcome of freshly made rows."""
        for row in rows:
            if row.error:
                self.failed += 1
                if len(self.errors) < KEPT_ERRORS:  # the manifest has them all
                    self.errors.append(f"{row.path}: {row.error}")
            else:
                self.written += 1

    def line(self) -> str:
        """One line for the end of a run."""
        return f"{self.written} written, {self.skipped} skipped, {self.failed} failed; manifest: {self.manifest}"


class DatasetHooks(Hooks):
    """Passes model use and Cancel through; of the engine's progress only label-table building,
    so the run's own bar (images) is the one shown."""

    def __init__(self, inner: Hooks) -> None:
        """``inner``: the host's hooks."""
        self.inner = inner

    def use(self, module: torch.nn.Module) -> None:
        """Forwards to the host."""
        self.inner.use(module)

    def check_cancel(self) -> None:
        """Forwards to the host."""
        self.inner.check_cancel()

    def progress(self, stage: str, done: int, total: int) -> None:
        """Only "Embedding …" (tables) and "Images" reach the host."""
        if stage.startswith("Embedding") or stage == "Images":
            self.inner.progress(stage, done, total)


def settings_key(ci: Interrogator, options: DatasetOptions, caption_model: str | None) -> str:
    """The hash that says whether a sidecar was made with these settings (``caption_model``:
    the caption model's name, None when captions are given)."""
    settings = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in asdict(ci.settings).items()}
    if ci.settings.tag_style == TagStyle():  # as before taggers came: older manifests keep their hash
        settings.pop("tag_style")
    captioner = None if options.caption else caption_model
    custom = {name: labels_hash(ci.vocab.labels[name]) for name in ci.vocab.custom}
    shaping = {k: v for k, v in asdict(options).items() if k not in ("on_existing", "batch_size")}
    target = ci.target.budget if ci.target is not None else "clip"
    clip = ci.clip.name if ci.clip is not None else None  # None: mode caption without CLIP's weights
    payload = {"options": shaping, "settings": settings, "clip": clip, "target": target}
    return settings_hash(payload | {"captioner": captioner, "custom": custom})


class SidecarWriter:
    """Interrogates a decoded batch and writes each image's sidecar; the work of one batch,
    in one process or in a Ray actor."""

    def __init__(self, ci: Interrogator, options: DatasetOptions, root: Path, key: str) -> None:
        """``root``: the dataset folder manifest paths are relative to; ``key``: ``settings_key``.
        A token budget then counts the prompt as the sidecar holds it, prefix and suffix included
        (``ci`` is this run's own interrogator)."""
        self.ci, self.options, self.root, self.key = ci, options, root, key
        if ci.target is not None:
            count = ci.target.count
            ci.target = replace(ci.target, count=lambda text: count(sidecar_text(options.prefix, text, options.suffix)))

    def write(self, decoded: list[Decoded]) -> list[Row]:
        """Rows in the batch's order: one per image, with an error for those that failed."""
        good = [(path, image) for path, image, _ in decoded if image is not None]
        start = time.perf_counter()
        results = self.ci.run(self.options.mode, [image for _, image in good], self.options.caption) if good else []
        made = {path: result for (path, _), result in zip(good, results)}
        each = (time.perf_counter() - start) / max(1, len(good))
        return [self._row(path, made.get(path), error, each) for path, _, error in decoded]

    def _row(self, path: Path, result, error: str, seconds: float) -> Row:
        stat = path.stat() if path.exists() else None
        row = Row(self.relative(path), stat.st_size if stat else 0, stat.st_mtime if stat else 0.0, self.key)
        if result is None:
            row.error = error or "not interrogated"
            return row
        text = sidecar_text(self.options.prefix, result.prompt, self.options.suffix)
        sidecar = sidecar_of(path)
        if self.options.on_existing == "append" and sidecar.exists():
            text = appended(sidecar.read_text(encoding="utf-8", errors="replace"), text)
        write_atomic(sidecar, (text + "\n").encode())
        row.caption, row.prompt, row.seconds = result.caption, result.prompt, round(seconds, 4)
        return row

    def relative(self, path: Path) -> str:
        """``path`` as the manifest names it: relative to the dataset folder, with "/"."""
        return Path(os.path.relpath(path, self.root)).as_posix()


@dataclass(frozen=True)
class ModelRecipe:
    """How to build the interrogator, as a picklable recipe: Ray actors build their own from it.
    ``build(with_caption_model)``; ``caption_model``: its name for the settings hash, or None."""

    build: Callable[[bool], Interrogator]
    caption_model: str | None
