"""A dataset run in one process: plan what is left, then decode (ahead, in threads),
interrogate and write sidecars a batch at a time, appending manifest rows as they are made."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..atomic import remove_stale_temps
from ..hooks import Hooks
from ..interrogator import Interrogator
from .files import sidecar_of
from .loader import chunks, prefetched
from .manifest import Manifest, Row
from .work import DatasetOptions, SidecarWriter, Summary, settings_key


def plan(
    images: Iterable[Path], writer: SidecarWriter, done: dict[str, Row], summary: Summary
) -> tuple[list[Path], list[Row]]:
    """The images still to do, and error rows for those that cannot be. Skipped: those done
    with these settings (a matching manifest row and a sidecar), and with ``skip`` those that
    have a sidecar. Temp files a killed run left go."""
    pending, failed, folders, sidecars = [], [], set(), set()
    for path in images:
        if path.parent not in folders:
            folders.add(path.parent)
            remove_stale_temps(path.parent)
        sidecar = sidecar_of(path)
        if sidecar in sidecars:  # photo.png and photo.jpg: one photo.txt
            failed.append(_shared_sidecar(writer, path, sidecar))
            continue
        sidecars.add(sidecar)
        if sidecar.exists() and _kept(path, writer, done.get(writer.relative(path))):
            summary.skipped += 1
        else:
            pending.append(path)
    summary.count(failed)
    return pending, failed


def _kept(path: Path, writer: SidecarWriter, row: Row | None) -> bool:
    if writer.options.on_existing == "skip":
        return True
    stat = path.stat()
    return row is not None and row.matches(stat.st_size, stat.st_mtime, writer.key)


def _shared_sidecar(writer: SidecarWriter, path: Path, sidecar: Path) -> Row:
    stat = path.stat()
    error = f"Another image in this folder already writes {sidecar.name}: rename one of them."
    return Row(writer.relative(path), stat.st_size, stat.st_mtime, writer.key, error=error)


def run_local(
    ci: Interrogator, images: Iterable[Path], root: Path, manifest: Manifest, options: DatasetOptions, hooks: Hooks
) -> Summary:
    """Captions ``images`` under ``root``; ``hooks`` get one "Images" progress step per image
    and may cancel between images (the sidecars already written stay)."""
    name = ci.captioner.name if ci.captioner is not None else None
    writer = SidecarWriter(ci, options, root, settings_key(ci, options, name))
    summary = Summary(manifest=os.fspath(manifest.path))
    pending, failed = plan(images, writer, manifest.rows(), summary)
    done = 0
    try:
        manifest.append(failed)
        for decoded in prefetched(chunks(pending, options.batch_size)):
            hooks.check_cancel()
            rows = writer.write(decoded)
            manifest.append(rows)
            summary.count(rows)
            done += len(decoded)
            hooks.progress("Images", done, len(pending))
    finally:
        manifest.finish()
    return summary
