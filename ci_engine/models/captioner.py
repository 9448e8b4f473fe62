"""A loaded caption model and how each family is asked for captions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from PIL import Image
from torch import nn

if TYPE_CHECKING:
    from transformers import BatchFeature

from ..errors import CaptionError, InputError, InterrogatorError
from .caption_families import FAMILIES, Family, check_style
from .caption_style import CaptionStyle
from .caption_text import drop_cut_tail
from .chat_prompt import chat_inputs

log = logging.getLogger(__name__)
SHORT = CaptionStyle()


class Captioner(nn.Module):
    """A caption model and its processor. Decoding is greedy (as upstream 0.6.0) unless the
    style asks for sampling; a sampled caption is repeatable through the style's seed."""

    def __init__(
        self, model: nn.Module, processor: Callable, family: str | Family, name: str, system: str = ""
    ) -> None:
        """``family``: a ``FAMILIES`` entry or its name; ``name`` is what the user asked for;
        ``system``: a chat model's system prompt (the one it was trained with; "" for none)."""
        super().__init__()
        self.model = model
        self.processor = processor
        self.spec = FAMILIES[family] if isinstance(family, str) else family
        self.name = name
        self.system = system
        self._capped = False  # whether the position limit has been reported

    @property
    def family(self) -> str:
        """The family's name ("blip", "florence2", "qwen2.5-vl", ...)."""
        return self.spec.name

    @property
    def device(self) -> torch.device:
        """Where the caption model's weights are now."""
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the caption model computes in (transformers' own answer: a half-precision
        model may keep a few modules in fp32)."""
        dtype = getattr(self.model, "dtype", None)
        return dtype if isinstance(dtype, torch.dtype) else next(self.model.parameters()).dtype

    def check_style(self, style: CaptionStyle) -> None:
        """An ``InputError`` when this model cannot write ``style`` (never a silent fallback)."""
        check_style(self.spec, style.style, self.name)

    @torch.no_grad()
    def generate(self, images: Sequence[Image.Image], max_length: int = 32, style: CaptionStyle = SHORT) -> list[str]:
        """One caption per image, all images in one ``generate`` call; ``max_length`` is the
        short style's token limit (upstream's caption_max_length)."""
        self.check_style(style)
        inputs = self._inputs(list(images), style).to(self.device)
        if self.spec.cast_inputs:
            inputs = inputs.to(self.dtype)  # floating tensors only: token ids stay integers
        options = decoding(self.spec, style, max_length)
        options["max_new_tokens"] = self._within_positions(options["max_new_tokens"], inputs)
        tokens = self._generate(inputs, options, style.seed)
        if self.spec.asking == "chat":  # a decoder-only chat model repeats the prompt first
            tokens = tokens[:, inputs["input_ids"].shape[1] :]
        texts = [text.strip() for text in self.processor.batch_decode(tokens, skip_special_tokens=True)]
        if self.spec.asking == "plain":  # upstream's captions, untouched
            return texts
        return [drop_cut_tail(t, style.style) if cut else t for t, cut in zip(texts, self._cut_rows(tokens))]

    def _generate(self, inputs: BatchFeature, options: dict, seed: int) -> torch.Tensor:
        """``generate``, with any failure but running out of memory (which a host may retry)
        as a ``CaptionError`` naming the model; the traceback is logged (``-v`` shows it)."""
        try:
            with _seeded(seed, self.device):
                return self.model.generate(**inputs, **options)
        except (InterrogatorError, torch.OutOfMemoryError):
            raise
        except Exception as exc:
            log.info("Caption model %s failed in generate", self.name, exc_info=True)
            raise CaptionError(
                f"Caption model '{self.name}' ({self.spec.label}) failed while writing captions: "
                f"{type(exc).__name__}: {exc}. Run with -v for the traceback."
            ) from exc

    def _within_positions(self, new_tokens: int, inputs: BatchFeature) -> int:
        """``new_tokens``, capped so the text decoder never reads past its position table
        (``max_position_embeddings``): beyond it BLIP and BART-style decoders raise an
        ``IndexError``. A decoder-only chat model's prompt takes positions too."""
        config = self.model.config
        text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
        limit = getattr(text, "max_position_embeddings", None)
        if not isinstance(limit, int):
            return new_tokens
        prompt = inputs["input_ids"].shape[1] if self.spec.asking == "chat" else 1  # else one start token
        room = limit - prompt - int(getattr(config, "num_query_tokens", 0) or 0)  # BLIP-2's query tokens
        if room < 1:
            raise InputError(
                f"Caption model '{self.name}' reads at most {limit} positions and its prompt takes {prompt}: "
                "no room for a caption. Use smaller images or a model with a longer context."
            )
        if new_tokens > room and not self._capped:
            log.warning(
                "Caption model '%s' reads at most %d positions: captions capped at %d tokens.", self.name, limit, room
            )
            self._capped = True
        return min(new_tokens, room)

    def _cut_rows(self, tokens: torch.Tensor) -> list[bool]:
        """Which rows the token limit stopped (no end-of-text or padding token last)."""
        config = self.model.generation_config
        stops = config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id]
        stops = {t for t in [*stops, config.pad_token_id] if t is not None}
        return [int(row[-1]) not in stops for row in tokens] if tokens.shape[1] else [False] * len(tokens)

    def _inputs(self, images: list[Image.Image], style: CaptionStyle) -> BatchFeature:
        if self.spec.asking == "plain":
            return self.processor(images=images, return_tensors="pt")
        if self.spec.asking == "task":
            task = dict(self.spec.tasks)[style.style]
            return self.processor(text=[task] * len(images), images=images, return_tensors="pt")
        return chat_inputs(self.processor, images, style.prompt, self.system)


def decoding(family: Family, style: CaptionStyle, max_length: int) -> dict:
    """``generate``'s options. Greedy BLIP/GIT keep their own generation config, as upstream;
    every other family is told greedy or sampled outright (chat models ship sampling configs)."""
    options: dict = {"max_new_tokens": style.token_limit(max_length)}
    if style.sample:
        return options | {"do_sample": True, "num_beams": 1, "temperature": style.temperature, "top_p": 0.9}
    return options if family.asking == "plain" else options | {"do_sample": False, "num_beams": 1}


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seeds torch's generators for one call and restores them after, so a sampled caption is
    repeatable and the caller's random state is left as it was."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield
