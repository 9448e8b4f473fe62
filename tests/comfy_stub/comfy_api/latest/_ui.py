"""Stand-in for comfy_api.latest._ui (text preview only)."""

from __future__ import annotations


class _UIOutput:
    def as_dict(self) -> dict:
        raise NotImplementedError


class PreviewText(_UIOutput):
    def __init__(self, value: str, **kwargs) -> None:
        self.value = value

    def as_dict(self) -> dict:
        return {"text": (self.value,)}
