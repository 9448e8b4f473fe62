"""What the running ComfyUI offers, from 0.3.60 to 0.38.x.

Each newer facility is used where the host has it, and the older way where it does not. Every
check reads the host's own objects, never its version number (forks and backports differ).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from functools import cache

import comfy.model_management as mm
import torch
from comfy_api.latest import io

log = logging.getLogger(__name__)


@cache
def takes_advanced() -> bool:
    """Whether inputs take ``advanced=True`` (hidden until the user asks for them; 0.38)."""
    return "advanced" in inspect.signature(io.Boolean.Input.__init__).parameters


def advanced() -> dict:
    """Keyword arguments that mark an input as advanced where the host can (else none)."""
    return {"advanced": True} if takes_advanced() else {}


def has_dynamic_combo() -> bool:
    """Whether ``io.DynamicCombo`` exists: a combo that shows only its choice's inputs (0.38)."""
    return hasattr(io, "DynamicCombo")


def schema_extras(search_aliases: list[str]) -> dict:
    """``io.Schema`` keyword arguments the host knows: ``search_aliases`` (0.38)."""
    fields = {field.name for field in dataclasses.fields(io.Schema)}
    return {"search_aliases": search_aliases} if "search_aliases" in fields else {}


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error: the host's ``is_oom`` where it has one (0.38
    also counts accelerator errors), else its ``OOM_EXCEPTION``."""
    check = getattr(mm, "is_oom", None)
    if check is not None:
        return bool(check(exc))
    return isinstance(exc, getattr(mm, "OOM_EXCEPTION", torch.OutOfMemoryError))


def free_device_memory(device: torch.device) -> None:
    """After an out-of-memory error: unloads what ComfyUI holds on ``device`` (our models are
    loaded again before their next use) and empties the allocator's cache."""
    mm.free_memory(1e30, device)
    mm.soft_empty_cache()


def executing_node_id() -> str | None:
    """The id of the node ComfyUI is running now, where the host tells (else None)."""
    try:
        from comfy_execution.utils import get_executing_context
    except ImportError:
        return None
    context = get_executing_context()
    return None if context is None else context.node_id


def send_progress_text(text: str, node_id: str | None) -> None:
    """Shows ``text`` under the node's progress bar, where the host can (0.3.60 and later
    running a server; nothing otherwise)."""
    if node_id is None:
        return
    try:
        from server import PromptServer
    except ImportError:
        return
    send = getattr(getattr(PromptServer, "instance", None), "send_progress_text", None)
    if send is not None:
        send(text, node_id)
