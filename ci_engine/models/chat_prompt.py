"""Asking a chat model about an image through its processor's own chat template.

Most templates take a message's content as a list of parts (an image, then text). Some, as
JoyCaption's Llama 3 template, take plain strings and place the image token themselves, and
would print a list as Python text: those get string messages and the processor's plain call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from transformers import BatchFeature

_PROBE = "PROBE-INSTRUCTION"


def chat_inputs(processor: Callable, images: list[Image.Image], instruction: str, system: str = "") -> BatchFeature:
    """One user turn per image (the image, then the instruction; after ``system`` if given),
    padded on the left so that every prompt ends where its caption starts."""
    processor.tokenizer.padding_side = "left"
    if takes_content_lists(processor):
        return _with_parts(processor, images, instruction, system)
    return _with_strings(processor, images, instruction, system)


def takes_content_lists(processor: Callable) -> bool:
    """Whether the chat template renders a list of content parts (not as Python text)."""
    from jinja2 import TemplateError

    probe = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": _PROBE}]}]
    try:
        text = processor.apply_chat_template(probe, add_generation_prompt=True, tokenize=False)
    except (TemplateError, TypeError, ValueError, AttributeError):
        return False
    return _PROBE in text and "'type'" not in text


def _with_parts(processor: Callable, images: list[Image.Image], instruction: str, system: str) -> BatchFeature:
    head = [{"role": "system", "content": [{"type": "text", "text": system}]}] if system else []
    turns = [
        [*head, {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": instruction}]}]
        for image in images
    ]
    padding = {"padding": True}
    if "processor_kwargs" in inspect.signature(processor.apply_chat_template).parameters:
        padding = {"processor_kwargs": padding}  # transformers 5 wants processor options here
    return processor.apply_chat_template(
        turns, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt", **padding
    )


def _with_strings(processor: Callable, images: list[Image.Image], instruction: str, system: str) -> BatchFeature:
    head = [{"role": "system", "content": system}] if system else []
    text = processor.apply_chat_template(
        [*head, {"role": "user", "content": instruction}], add_generation_prompt=True, tokenize=False
    )
    token = getattr(processor, "image_token", None) or "<image>"
    if token not in text:  # a template that leaves the image to the caller: before the instruction
        text = text.replace(instruction, f"{token}\n{instruction}", 1)
    bos = getattr(processor.tokenizer, "bos_token", None)
    special = {"add_special_tokens": False} if bos and text.startswith(bos) else {}  # no second BOS
    return processor(text=[text] * len(images), images=images, padding=True, return_tensors="pt", **special)
