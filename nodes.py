"""The pack's node list: ComfyUI's V3 entry point reads it. The nodes are declared in
``ci_comfy/nodes/`` (one file per group) and do their work in ``ci_comfy/host/``."""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io
from typing_extensions import override

from .ci_comfy.host.folders import register_folders
from .ci_comfy.nodes.caption import CaptionStyleNode, LoadCaptionModel
from .ci_comfy.nodes.clip import ClipFromComfy, LoadCLIP
from .ci_comfy.nodes.dataset import CaptionDataset
from .ci_comfy.nodes.prompt import Analyze, Interrogate, NegativePrompt
from .ci_comfy.nodes.tags import TagStyleNode

NODES: list[type[io.ComfyNode]] = [
    LoadCLIP,
    ClipFromComfy,
    LoadCaptionModel,
    CaptionStyleNode,
    TagStyleNode,
    Interrogate,
    NegativePrompt,
    Analyze,
    CaptionDataset,
]


class InterrogatorExtension(ComfyExtension):
    """The pack's V3 extension: its folders and its node list."""

    def __init__(self) -> None:
        """Nothing is registered until the host loads the extension."""
        self.loaded = False

    @override
    async def on_load(self) -> None:
        """Registers the model folders (ComfyUI 0.38 calls this before reading the node list)."""
        register_folders()
        self.loaded = True

    @override
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        """The nine nodes; a host that never calls on_load (before 0.38) gets the folders
        registered here, before any node lists them."""
        if not self.loaded:
            await self.on_load()
        return list(NODES)


async def comfy_entrypoint() -> InterrogatorExtension:
    """ComfyUI's V3 entry point."""
    return InterrogatorExtension()
