"""Progress and Cancel for the engine's long loops, through ComfyUI.

ComfyUI 0.38 throttles progress bars and never sends a value lower than the last one sent, so
each stage gets a bar of its own (its values only go up) and its name as progress text.
"""

from __future__ import annotations

import comfy.model_management as mm
import comfy.utils
import torch

from ...ci_engine.hooks import Hooks
from . import compat
from .models import ManagedModel


class ComfyHooks(Hooks):
    """Loads our models through ComfyUI before use, drives the node's progress bar, and
    raises ComfyUI's interrupt exception when the user presses Cancel."""

    def __init__(self, *managed: ManagedModel | None) -> None:
        """``managed``: the models this run uses (None entries are skipped)."""
        self._managed = {id(m.module): m for m in managed if m is not None}
        self._node = compat.executing_node_id()
        self._stage: str | None = None
        self._done = 0
        self._bar: comfy.utils.ProgressBar | None = None

    def use(self, module: torch.nn.Module) -> None:
        """Loads ``module``'s model through ComfyUI before the engine runs it."""
        self._managed[id(module)].load()

    def progress(self, stage: str, done: int, total: int) -> None:
        """Moves the node's progress bar; a new stage, or a stage run again, starts a new bar."""
        if self._bar is None or stage != self._stage or done < self._done:
            self._stage = stage
            self._bar = comfy.utils.ProgressBar(total, node_id=self._node)
            compat.send_progress_text(stage, self._node)
        self._done = done
        self._bar.update_absolute(done, total)

    def check_cancel(self) -> None:
        """Raises ComfyUI's interrupt exception after Cancel (progress updates that 0.38
        throttles away no longer check for it, so every loop asks here)."""
        mm.throw_exception_if_processing_interrupted()
