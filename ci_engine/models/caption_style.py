"""What kind of caption to ask a caption model for, and how to decode it."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

STYLES = ("short", "detailed", "tags", "custom")
# What chat models are asked; "custom" is the user's own instruction.
INSTRUCTIONS = {
    "short": "Write one short sentence that describes this image.",
    "detailed": (
        "Describe this image in one detailed paragraph: the subject, the setting, the composition, the "
        "lighting, the colours and the style or medium. Write plain prose, with no lists or headings."
    ),
    "tags": (
        "List tags for this image, separated by commas: the subject, objects, setting, style, medium, "
        "colours and mood. Write only the tags, in lowercase."
    ),
}
# New tokens a caption may take when none is set; short's comes from Settings.caption_max_length
# (upstream's 32).
DEFAULT_TOKENS = {"detailed": 320, "tags": 160, "custom": 320}
MAX_TOKENS = 4096


@dataclass(frozen=True)
class CaptionStyle:
    """A caption style and its decoding. Greedy (repeatable) unless ``sample``; then ``seed``
    makes a sampled caption repeatable for the same images in the same batch.

    Making one with an unusable value raises an ``InputError`` naming it.
    """

    style: str = "short"
    instruction: str = ""  # custom's instruction, e.g. "Describe the clothing in detail."
    max_new_tokens: int | None = None  # None: the style's default
    sample: bool = False
    seed: int = 0
    temperature: float = 0.7

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise InputError(f"Unknown caption style {self.style!r}: choose one of {', '.join(STYLES)}.")
        if not isinstance(self.instruction, str):
            raise InputError(f"The caption instruction must be text, not {self.instruction!r}.")
        if self.style == "custom" and not self.instruction.strip():
            raise InputError("Caption style 'custom' needs an instruction: write what the model should describe.")
        if self.style != "custom" and self.instruction.strip():
            raise InputError(f"An instruction is used with caption style 'custom' only, not '{self.style}'.")
        self._check_numbers()

    def _check_numbers(self) -> None:
        tokens = self.max_new_tokens
        if tokens is not None and (not _whole(tokens) or not 1 <= tokens <= MAX_TOKENS):
            raise InputError(f"max_new_tokens must be a whole number from 1 to {MAX_TOKENS}, not {tokens!r}.")
        if not isinstance(self.sample, bool):
            raise InputError(f"sample must be True or False, not {self.sample!r}.")
        if not _whole(self.seed) or self.seed < 0:
            raise InputError(f"seed must be a whole number of 0 or more, not {self.seed!r}.")
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)):
            raise InputError(f"temperature must be a number, not {self.temperature!r}.")
        if not 0.0 < self.temperature <= 5.0:
            raise InputError(f"temperature must be above 0 and at most 5, not {self.temperature}.")

    @property
    def prompt(self) -> str:
        """The instruction a chat model gets."""
        return self.instruction.strip() if self.style == "custom" else INSTRUCTIONS[self.style]

    def token_limit(self, short_tokens: int) -> int:
        """New tokens a caption may take; ``short_tokens`` is the short style's default."""
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        return short_tokens if self.style == "short" else DEFAULT_TOKENS[self.style]


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
