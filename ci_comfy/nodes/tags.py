"""Tag Style: a booru tagger's options (thresholds or MCut, rating, order, spelling)."""

from __future__ import annotations

from comfy_api.latest import io

from ...ci_engine.tags.style import ORDERS, RATINGS, TagStyle
from ..host import captions, compat
from ..host.models import ManagedModel
from .inputs import CATEGORY, CICaptionModel

DEFAULTS = TagStyle()
MCUT_TOOLTIP = (
    "off: a tag is kept when its score is above the thresholds below. on: MCut chooses them per image, at the "
    "widest gap between scores (characters never below 0.15)."
)


def _threshold_inputs() -> list[io.Input]:
    def threshold(name: str, tooltip: str) -> io.Float.Input:
        return io.Float.Input(name, default=getattr(DEFAULTS, name), min=0.0, max=1.0, step=0.01, tooltip=tooltip)

    return [
        threshold("general_threshold", "General tags scoring above this are kept (0.35 is usual; lower: more tags)."),
        threshold("character_threshold", "Character tags scoring above this are kept (0.85: only sure ones)."),
    ]


def _spelling_inputs() -> list[io.Input]:
    return [
        io.Boolean.Input(
            "replace_underscores",
            default=not DEFAULTS.underscores,
            tooltip="On: 'long hair'; off: 'long_hair', as the booru writes it. Kaomoji such as ^_^ keep theirs.",
        ),
        io.Combo.Input(
            "rating",
            options=list(RATINGS),
            default=DEFAULTS.rating,
            tooltip="tag: the most likely rating (general, sensitive, questionable, explicit) first; none: left out.",
            **compat.advanced(),
        ),
        io.Combo.Input(
            "order",
            options=list(ORDERS),
            default=DEFAULTS.order,
            tooltip="category: characters, then general tags, each by score; confidence: all by score.",
            **compat.advanced(),
        ),
        io.Boolean.Input(
            "escape_parentheses",
            default=DEFAULTS.escape,
            tooltip="On: hat \\(object\\), so ComfyUI does not read the parentheses as a prompt weight.",
            **compat.advanced(),
        ),
        io.Boolean.Input(
            "weights",
            default=DEFAULTS.weights,
            tooltip="On: each tag weighted by its score, as (smile:0.87).",
            **compat.advanced(),
        ),
    ]


def tag_inputs() -> list[io.Input]:
    """mcut (with ``DynamicCombo`` the thresholds show only when it is off), max_tags, then the
    spelling and rarely changed options."""
    max_tags = io.Int.Input(
        "max_tags",
        default=DEFAULTS.max_tags,
        min=0,
        max=1000,
        tooltip="Keep at most this many, the most confident (the rating aside); 0: no limit. The prompt also "
        "keeps only the most confident tags that fit Interrogate's target.",
    )
    if compat.has_dynamic_combo():
        options = [io.DynamicCombo.Option("off", _threshold_inputs()), io.DynamicCombo.Option("on", [])]
        mcut = [io.DynamicCombo.Input("mcut", options=options, tooltip=MCUT_TOOLTIP)]
    else:
        mcut = [io.Boolean.Input("mcut", default=DEFAULTS.mcut, tooltip=MCUT_TOOLTIP), *_threshold_inputs()]
    return [*mcut, max_tags, *_spelling_inputs()]


def read_tag_style(mcut: bool | dict, **flat: object) -> TagStyle:
    """The options from either form of ``tag_inputs`` (a ``DynamicCombo`` arrives as a dict
    holding its choice under its own name, the choice's inputs beside it)."""
    values = dict(flat)
    if isinstance(mcut, dict):
        values.update(mcut)
        mcut = mcut["mcut"] == "on"

    def get(name: str, default: object) -> object:
        return values.get(name, default)

    return TagStyle(
        general_threshold=float(get("general_threshold", DEFAULTS.general_threshold)),
        character_threshold=float(get("character_threshold", DEFAULTS.character_threshold)),
        mcut=bool(mcut),
        rating=str(get("rating", DEFAULTS.rating)),
        order=str(get("order", DEFAULTS.order)),
        underscores=not bool(get("replace_underscores", not DEFAULTS.underscores)),
        escape=bool(get("escape_parentheses", DEFAULTS.escape)),
        weights=bool(get("weights", DEFAULTS.weights)),
        max_tags=int(get("max_tags", DEFAULTS.max_tags)),
    )


class TagStyleNode(io.ComfyNode):
    """Sets which tags a booru tagger keeps and how they are written."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        """Inputs, outputs and tooltips."""
        return io.Schema(
            node_id="CI_TagStyle",
            display_name="Tag Style (Interrogator)",
            category=CATEGORY,
            description="Which tags a WD tagger keeps (thresholds or MCut, at most how many, the rating) and how they "
            "are written. The model itself is shared, not copied. For a caption model use Caption Style.",
            inputs=[
                CICaptionModel.Input(
                    "caption_model", tooltip="A tagger from Load Caption Model (Interrogator), e.g. wd-vit-tagger-v3."
                ),
                *tag_inputs(),
            ],
            outputs=[CICaptionModel.Output(display_name="caption_model", tooltip="The tagger, with these options.")],
            **compat.schema_extras(["tag threshold", "booru tags", "wd tagger options", "mcut"]),
        )

    @classmethod
    def execute(cls, caption_model: ManagedModel, mcut: bool | dict = False, **flat: object) -> io.NodeOutput:
        """The same tagger with the options; a caption model fails here."""
        return io.NodeOutput(captions.tag_styled(caption_model, read_tag_style(mcut, **flat)))
