"""Images decoded ahead of the models: a small thread pool reads the next batches while the
models work on one (Pillow's decoders release the GIL), so decoding never stalls them."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from ..errors import InputError
from ..images import load_image

Decoded = tuple[Path, Image.Image | None, str]  # the path, its RGB image or None, and why not


def decode(path: Path) -> Decoded:
    """One image, or the reason it cannot be used (damaged, not an image, too large, empty)."""
    try:
        image = load_image(path)
    except InputError as exc:
        return path, None, str(exc)
    if 0 in image.size:
        return path, None, f"Image '{path}' has a zero-sized side."
    return path, image, ""


def decode_threads() -> int:
    """Threads that decode: a quarter of the CPUs (1 to 4), so the models keep the rest (on 2
    cores a second decoder gave no gain: it takes the cores the models use)."""
    return min(4, max(1, (os.cpu_count() or 1) // 4))


def prefetched(batches: Iterable[list[Path]], depth: int = 2, workers: int | None = None) -> Iterator[list[Decoded]]:
    """The batches, decoded, in order; up to ``depth`` batches are decoded ahead. Memory holds
    at most ``depth + 1`` batches of images, however many there are."""
    pool = ThreadPoolExecutor(max_workers=workers or decode_threads(), thread_name_prefix="ci-decode")
    ahead: deque[list[Future]] = deque()
    try:
        for batch in batches:
            ahead.append([pool.submit(decode, path) for path in batch])
            if len(ahead) > depth:
                yield [future.result() for future in ahead.popleft()]
        while ahead:
            yield [future.result() for future in ahead.popleft()]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def chunks(paths: list[Path], size: int) -> Iterator[list[Path]]:
    """``paths`` in consecutive batches of ``size`` (the last may be shorter)."""
    for start in range(0, len(paths), size):
        yield paths[start : start + size]
