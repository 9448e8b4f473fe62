"""Stand-in for comfy_api.latest._io: the parts of the V3 schema the pack uses, as in ComfyUI
0.38 (``advanced`` inputs, ``DynamicCombo``, ``Schema.search_aliases``, ``validate_inputs``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Input:
    def __init__(
        self,
        id: str,
        display_name: str = None,
        optional=False,
        tooltip: str = None,
        lazy: bool = None,
        extra_dict=None,
        raw_link: bool = None,
        advanced: bool = None,
    ):
        self.id, self.display_name, self.optional, self.tooltip, self.lazy = id, display_name, optional, tooltip, lazy
        self.extra_dict = extra_dict or {}
        self.advanced = advanced


class WidgetInput(Input):
    def __init__(
        self,
        id: str,
        display_name: str = None,
        optional=False,
        tooltip: str = None,
        lazy: bool = None,
        default: Any = None,
        socketless: bool = None,
        widget_type: str = None,
        force_input: bool = None,
        extra_dict=None,
        raw_link: bool = None,
        advanced: bool = None,
    ):
        super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
        self.default, self.socketless, self.widget_type, self.force_input = (
            default,
            socketless,
            widget_type,
            force_input,
        )


class Output:
    def __init__(self, id: str = None, display_name: str = None, tooltip: str = None, is_output_list=False):
        self.id, self.display_name, self.tooltip, self.is_output_list = id, display_name, tooltip, is_output_list


class ComfyTypeIO:
    io_type = None

    class Input(Input):
        pass

    class Output(Output):
        pass


def _with_io_type(cls, io_type: str):
    cls.io_type = io_type
    cls.Input = type("Input", (cls.Input,), {"io_type": io_type})
    cls.Output = type("Output", (cls.Output,), {"io_type": io_type})
    return cls


def Custom(io_type: str) -> type[ComfyTypeIO]:  # noqa: N802 (ComfyUI's name)
    return _with_io_type(type("CustomComfyType", (ComfyTypeIO,), {}), io_type)


class Boolean(ComfyTypeIO):
    class Input(WidgetInput):
        def __init__(
            self,
            id: str,
            display_name: str = None,
            optional=False,
            tooltip: str = None,
            lazy: bool = None,
            default: bool = None,
            label_on: str = None,
            label_off: str = None,
            socketless: bool = None,
            force_input: bool = None,
            advanced: bool = None,
        ):
            super().__init__(
                id, display_name, optional, tooltip, lazy, default, socketless, None, force_input, advanced=advanced
            )


class Int(ComfyTypeIO):
    class Input(WidgetInput):
        def __init__(
            self,
            id: str,
            display_name: str = None,
            optional=False,
            tooltip: str = None,
            lazy: bool = None,
            default: int = None,
            min: int = None,
            max: int = None,
            step: int = None,
            control_after_generate: bool = None,
            display_mode=None,
            socketless: bool = None,
            force_input: bool = None,
            advanced: bool = None,
        ):
            super().__init__(
                id, display_name, optional, tooltip, lazy, default, socketless, None, force_input, advanced=advanced
            )
            self.min, self.max, self.step = min, max, step


class Float(ComfyTypeIO):
    class Input(WidgetInput):
        def __init__(
            self,
            id: str,
            display_name: str = None,
            optional=False,
            tooltip: str = None,
            lazy: bool = None,
            default: float = None,
            min: float = None,
            max: float = None,
            step: float = None,
            round: float = None,
            display_mode=None,
            socketless: bool = None,
            force_input: bool = None,
            advanced: bool = None,
        ):
            super().__init__(
                id, display_name, optional, tooltip, lazy, default, socketless, None, force_input, advanced=advanced
            )
            self.min, self.max, self.step = min, max, step


class String(ComfyTypeIO):
    class Input(WidgetInput):
        def __init__(
            self,
            id: str,
            display_name: str = None,
            optional=False,
            tooltip: str = None,
            lazy: bool = None,
            multiline=False,
            placeholder: str = None,
            default: str = None,
            dynamic_prompts: bool = None,
            socketless: bool = None,
            force_input: bool = None,
            advanced: bool = None,
        ):
            super().__init__(
                id, display_name, optional, tooltip, lazy, default, socketless, None, force_input, advanced=advanced
            )
            self.multiline = multiline


class Combo(ComfyTypeIO):
    class Input(WidgetInput):
        def __init__(
            self,
            id: str,
            options: list = None,
            display_name: str = None,
            optional=False,
            tooltip: str = None,
            lazy: bool = None,
            default: Any = None,
            control_after_generate: bool = None,
            upload=None,
            image_folder=None,
            remote=None,
            socketless: bool = None,
            advanced: bool = None,
        ):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, advanced=advanced)
            self.options = options


class Image(ComfyTypeIO):
    pass


class DynamicCombo(ComfyTypeIO):
    """A combo whose choice brings its own inputs; ``execute`` gets one dict under the combo's
    id: the choice under that id again, the choice's inputs beside it."""

    class Option:
        def __init__(self, key: str, inputs: list):
            self.key, self.inputs = key, inputs

    class Input(Input):
        def __init__(
            self,
            id: str,
            options: list,
            display_name: str = None,
            optional=False,
            tooltip: str = None,
            lazy: bool = None,
            extra_dict=None,
        ):
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            self.options = options


Clip = type("Clip", (ComfyTypeIO,), {})  # wire types with nothing of their own
ClipVision = type("ClipVision", (ComfyTypeIO,), {})


_TYPES = (
    (Boolean, "BOOLEAN"),
    (Int, "INT"),
    (Float, "FLOAT"),
    (String, "STRING"),
    (Combo, "COMBO"),
    (Image, "IMAGE"),
    (Clip, "CLIP"),
    (ClipVision, "CLIP_VISION"),
    (DynamicCombo, "COMFY_DYNAMICCOMBO_V3"),
)
for _cls, _name in _TYPES:
    _with_io_type(_cls, _name)


class Hidden(str, Enum):
    unique_id = "UNIQUE_ID"
    prompt = "PROMPT"


@dataclass
class Schema:
    node_id: str
    display_name: str = None
    category: str = "sd"
    inputs: list = None
    outputs: list = None
    hidden: list = None
    description: str = ""
    search_aliases: list = None
    is_input_list: bool = False
    is_output_node: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_api_node: bool = False
    not_idempotent: bool = False
    enable_expand: bool = False

    def validate(self) -> None:
        ids = [i.id for i in self.inputs or []] + [o.id for o in self.outputs or [] if o.id]
        if len(ids) != len(set(ids)):
            raise ValueError(f"Ids must be unique between inputs and outputs: {ids}")


class NodeOutput:
    def __init__(self, *args: Any, ui=None, expand: dict = None, block_execution: str = None):
        self.args, self.ui, self.expand, self.block_execution = args, ui, expand, block_execution

    @property
    def result(self):
        return self.args if len(self.args) > 0 else None


class ComfyNode:
    hidden = None  # ComfyUI's executor sets a HiddenHolder on a clone before execute

    @classmethod
    def define_schema(cls) -> Schema:
        raise NotImplementedError

    @classmethod
    def execute(cls, **kwargs) -> NodeOutput:
        raise NotImplementedError

    @classmethod
    def validate_inputs(cls, **kwargs) -> bool | str:
        """Only run where a node overrides it (as V1's VALIDATE_INPUTS)."""
        raise NotImplementedError

    @classmethod
    def GET_SCHEMA(cls) -> Schema:  # noqa: N802 (ComfyUI's name)
        schema = cls.define_schema()
        schema.validate()
        return schema
