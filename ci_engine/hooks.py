"""Callbacks the engine makes during long work: progress, cancel, model use.

The engine never moves models between devices itself; a host (the CLI, or
ComfyUI through ``comfy_host``) is told before a model is used and may load it.
"""

from __future__ import annotations

from typing import Any

import torch


class Hooks:
    """Default hooks: no progress display, never cancelled, models left in place."""

    def use(self, module: torch.nn.Module) -> None:
        """Called before ``module`` runs; the host makes it resident on its device."""

    def progress(self, stage: str, done: int, total: int) -> None:
        """Reports ``done`` of ``total`` steps of ``stage`` (e.g. "chain")."""

    def check_cancel(self) -> None:
        """Raises the host's own exception when the user asked to stop."""


class TqdmHooks(Hooks):
    """Progress bars on stderr, one per stage, for the command line."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bars: dict[str, Any] = {}

    def progress(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None or bar.total != total or done < bar.n:
            if bar is not None:
                bar.close()
            bar = self._bars[stage] = tqdm(total=total, desc=stage, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del self._bars[stage]

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
