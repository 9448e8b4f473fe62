"""CI Interrogator: image to Stable Diffusion prompt nodes for ComfyUI.

Only the V3 entry point and the web folder are exported. The node list (``nodes.py``, which
imports ComfyUI) loads when ComfyUI calls the entry point, so this package also imports
cleanly where ComfyUI is absent (test collection).
"""

WEB_DIRECTORY = "./web"


async def comfy_entrypoint() -> object:
    """ComfyUI's V3 entry point: the pack's extension (``nodes.InterrogatorExtension``)."""
    from .nodes import comfy_entrypoint as entrypoint

    return await entrypoint()


__all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
