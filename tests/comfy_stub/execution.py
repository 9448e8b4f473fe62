"""Stand-in for execution.validate_inputs as ComfyUI 0.38 validates one node of a prompt:
combo values must be in their options and numbers within their bounds, unless the node's
``validate_inputs`` names that input (then it checks it itself); that function then runs.
Links are taken as valid; a DynamicCombo's choice brings its inputs as "combo.input"."""

from __future__ import annotations

import inspect

from comfy_api.latest import io

import nodes


def _flat_inputs(inputs: list, values: dict, prefix: str = "") -> list:
    """(key, input) pairs, DynamicCombo choices expanded as 0.38 does."""
    out = []
    for inp in inputs or []:
        key = prefix + inp.id
        out.append((key, inp))
        if isinstance(inp, io.DynamicCombo.Input):
            chosen = [o for o in inp.options if o.key == values.get(key)]
            out += _flat_inputs(chosen[0].inputs, values, key + ".") if chosen else []
    return out


def _core_error(key: str, inp, value) -> dict | None:
    if isinstance(inp, io.Combo.Input) and value not in (inp.options or []):
        details = f"{key}: {value!r} not in {inp.options}"
        return {"type": "value_not_in_list", "message": "Value not in list", "details": details}
    low, high = getattr(inp, "min", None), getattr(inp, "max", None)
    if isinstance(value, int | float) and ((low is not None and value < low) or (high is not None and value > high)):
        return {"type": "value_out_of_range", "message": "Value out of range", "details": f"{key}: {value}"}
    return None


def _nested(values: dict, dynamic: set) -> dict:
    """ "combo.input" keys as 0.38 passes them: a DynamicCombo is one dict under its id, holding
    its choice under that id again and the choice's inputs beside it."""
    out = {key: ({key: value} if key in dynamic else value) for key, value in values.items() if "." not in key}
    for key, value in values.items():
        if "." in key:
            head, rest = key.split(".", 1)
            out.setdefault(head, {})[rest] = value
    return out


async def validate_inputs(prompt_id, prompt, item, validated, visiting=None):
    cls = nodes.NODE_CLASS_MAPPINGS[prompt[item]["class_type"]]
    values = prompt[item]["inputs"]
    function = cls.__dict__.get("validate_inputs")
    spec = inspect.getfullargspec(function.__func__) if function is not None else None
    named, kwargs = (spec.args, spec.varkw is not None) if spec else ([], False)
    errors = []
    flat = _flat_inputs(cls.GET_SCHEMA().inputs, values)
    for key, inp in flat:
        if key not in values:
            if not inp.optional and "." not in key:
                errors.append(
                    {"type": "required_input_missing", "message": "Required input is missing", "details": key}
                )
            continue
        linked = isinstance(values[key], list)
        if not linked and key not in named and not kwargs:
            errors += [e for e in [_core_error(key, inp, values[key])] if e]
    if function is not None:
        given = {k: (None if isinstance(v, list) else v) for k, v in values.items()}
        dynamic = {key for key, inp in flat if isinstance(inp, io.DynamicCombo.Input)}
        chosen = {k: v for k, v in _nested(given, dynamic).items() if k in named or kwargs}
        result = function.__func__(cls, **chosen)
        if result is not True:
            for key in chosen or [None]:
                details = str(result) if key is None else (key if result is False else f"{key} - {result}")
                errors.append({"type": "custom_validation_failed", "message": "Custom validation failed for node",
                               "details": details})  # fmt: skip
    validated[item] = (not errors, errors, item)
    return validated[item]
