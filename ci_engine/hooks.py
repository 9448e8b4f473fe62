"""Callbacks the engine makes during long work: progress, cancel, model use.

The engine never moves models between devices itself; a host (the CLI, or
ComfyUI through ``comfy_host``) is told before a model is used and may load it.
"""

from __future__ import annotations

import torch


class Hooks:
    """Default hooks: no progress display, never cancelled, models left in place."""

    def use(self, module: torch.nn.Module) -> None:
        """Called before ``module`` runs; the host makes it resident on its device."""

    def progress(self, stage: str, done: int, total: int) -> None:
        """Reports ``done`` of ``total`` steps of ``stage`` (e.g. "chain")."""

    def check_cancel(self) -> None:
        """Raises the host's own exception when the user asked to stop."""
