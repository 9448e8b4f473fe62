"""Stand-in for comfy_api.latest: the V3 node schema, UI outputs and the extension entry point."""

from __future__ import annotations

from abc import ABC, abstractmethod

from . import _io as io
from . import _ui as ui


class ComfyExtension(ABC):
    async def on_load(self) -> None:
        """Called when the extension is loaded (never called by ComfyUI 0.3.64)."""

    @abstractmethod
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        """The V3 node classes of this extension."""


__all__ = ["ComfyExtension", "io", "ui"]
