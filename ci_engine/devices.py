"""Device and precision choices shared by the loaders."""

from __future__ import annotations

import torch

from .errors import InputError

PRECISIONS = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/"auto" picks CUDA, then MPS, then CPU, as upstream does."""
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as exc:
        raise InputError(f"Unknown device '{device}': use auto, cpu, cuda, cuda:N or mps.") from exc
    _check_available(chosen)
    return chosen


def _check_available(device: torch.device) -> None:
    """A device that is named but absent fails here, not deep inside torch."""
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError(f"Device '{device}' asked for, but this machine has no usable CUDA GPU: use cpu or auto.")
        if device.index is not None and device.index >= count:
            raise InputError(f"Device '{device}' does not exist: this machine has cuda:0 to cuda:{count - 1}.")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"Device '{device}' asked for, but MPS is not available here: use cpu or auto.")


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """ "auto" is fp16 on CUDA (as upstream) and fp32 elsewhere."""
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if precision not in PRECISIONS:
        raise InputError(f"Unknown precision '{precision}': use auto, {', '.join(PRECISIONS)}.")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise InputError("This GPU does not support bf16: use fp16 or fp32.")
    return PRECISIONS[precision]


def autocast_for(device: torch.device, dtype: torch.dtype) -> torch.autocast:
    """Upstream runs CLIP under CUDA autocast; do the same so reductions round alike."""
    enabled = device.type == "cuda" and dtype in (torch.float16, torch.bfloat16)
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=enabled)


def weights_dtype(model: torch.nn.Module) -> torch.dtype:
    """The dtype a model computes in: its first Linear or Conv weight's, as open_clip reads it.
    fp16/bf16 models keep norms and embeddings in fp32, so the first parameter can mislead."""
    for module in model.modules():
        if isinstance(module, torch.nn.Linear | torch.nn.Conv2d):
            return module.weight.dtype
    return next(model.parameters()).dtype
