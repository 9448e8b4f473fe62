"""CLIP names: which open_clip architecture and weights a name, a config or a checkpoint file
stands for, checked without loading any weights."""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
from pathlib import Path

from ..errors import InputError, ModelNotFoundError
from .registry import safe_name
from .weights import expected_sha256, file_sha256

log = logging.getLogger(__name__)


def register_private_config(config_path: str | os.PathLike) -> str:
    """Registers an open_clip model config file (plain, or wrapped as ``{"model_cfg": ...}``)
    under a name of its own, derived from its content, and returns that name.

    A user's config never replaces one open_clip or another file registered: a name taken
    from a workflow or a file name could otherwise change ``ViT-L-14`` for the whole process.
    """
    from open_clip import factory

    path = Path(config_path)
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read CLIP config '{path}': {exc}. Give an open_clip model config JSON.") from exc
    cfg = cfg.get("model_cfg", cfg) if isinstance(cfg, dict) else cfg
    if not isinstance(cfg, dict) or not all(key in cfg for key in ("embed_dim", "vision_cfg", "text_cfg")):
        raise InputError(
            f"CLIP config '{path}' is not an open_clip model config: it needs embed_dim, vision_cfg and text_cfg."
        )
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:10]
    name = f"ci-private-{safe_name(path.stem)}-{digest}"
    factory._MODEL_CONFIGS[name] = cfg  # private to open_clip, but the name is ours alone
    return name


def sidecar_config(checkpoint: Path) -> Path | None:
    """The ``name.json`` beside ``name.safetensors``, if there is one."""
    candidate = checkpoint.with_suffix(".json")
    return candidate if candidate.is_file() else None


def known_architectures() -> list[str]:
    """Every architecture name open_clip knows."""
    import open_clip

    return open_clip.list_models()


def unknown_error(what: str, name: str, choices: list[str]) -> ModelNotFoundError:
    """The error for an unknown CLIP architecture or weights ``name``, with close matches from ``choices``."""
    close = difflib.get_close_matches(name, choices, n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    listing = "`python -m ci_engine --list-models` lists them all."
    return ModelNotFoundError(f"Unknown CLIP {what} '{name}'.{hint} {listing}")


def pretrained_cfg(arch: str, tag: str) -> dict:
    """open_clip's pretrained config of ``ARCH/TAG``, or an error naming what is unknown."""
    import open_clip

    if arch not in known_architectures():
        raise unknown_error("architecture", arch, known_architectures())
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not cfg:
        raise unknown_error("weights", f"{arch}/{tag}", ["/".join(p) for p in open_clip.list_pretrained()])
    return cfg


def local_architecture(arch: str, cfg: dict) -> str:
    """The architecture name that loads the weights of a pretrained tag from a local file:
    weights trained with QuickGELU (OpenAI's, MetaCLIP's, DFN's) need the ``-quickgelu``
    variant, which a plain ``--clip ARCH --clip-checkpoint FILE`` would not use."""
    variant = f"{arch}-quickgelu"
    needed = cfg.get("quick_gelu") and not arch.endswith("-quickgelu")
    return variant if needed and variant in known_architectures() else arch


def quick_gelu_origin(path: Path, arch: str) -> tuple[str, str] | None:
    """Which QuickGELU-trained weights of ``arch`` the file ``path`` recognisably is, and how it
    was recognised (e.g. ("openai", "its sha256")), or None. Recognised by open_clip's sha256 for the file, by the
    file name open_clip downloads it as, by its hub repository's name in the path (a hub
    cache or a downloaded repository folder), or by the tag in the file name ("…openai….pt")."""
    import open_clip

    tags = [tag for a, tag in open_clip.list_pretrained() if a == arch]
    parts = [part.lower() for part in path.resolve().parts]
    for tag in tags:
        cfg = open_clip.get_pretrained_cfg(arch, tag)
        if not cfg.get("quick_gelu"):
            continue
        url, repo = cfg.get("url", ""), cfg.get("hf_hub", "").strip("/").split("/")[1:2]
        sha = expected_sha256(url) if url else ""
        if sha and file_sha256(path).startswith(sha):
            return tag, "its sha256"
        if url and path.name == os.path.basename(url):
            return tag, "its file name"
        if repo and any(part == repo[0].lower() or part.endswith(f"--{repo[0].lower()}") for part in parts):
            return tag, f"its hub repository {repo[0]}"
        if tag.lower() in path.stem.lower():
            return tag, "its file name"
    return None


def checkpoint_architecture(
    name: str, path: Path, config: str | os.PathLike | None, recognise: bool = True
) -> tuple[str, str]:
    """The architecture to build checkpoint ``path`` with, and the name its caches go by:
    from ``config``, a sidecar config, or ``name``'s ARCH. With ``recognise``, a file that is
    recognisably QuickGELU-trained weights (OpenAI's) named with plain ARCH gets ARCH-quickgelu,
    with a warning: the plain architecture would quietly give wrong embeddings."""
    arch = name.split("/", 1)[0] if name else ""
    config = config or sidecar_config(path)
    if config:
        return register_private_config(config), arch or Path(config).stem
    if not arch:
        raise InputError(
            f"No architecture for '{path}': give ARCH, a config JSON, or put '{path.stem}.json' beside it."
        )
    if arch not in known_architectures():
        raise unknown_error("architecture", arch, known_architectures())
    variant = local_architecture(arch, {"quick_gelu": True})
    origin = quick_gelu_origin(path, arch) if recognise and variant != arch else None
    if origin is None:
        return arch, arch
    log.warning(
        "'%s' is %s weights of %s (%s), trained with QuickGELU: loading it as %s. Pass --clip %s to say so.",
        path,
        origin[0],
        arch,
        origin[1],
        variant,
        variant,
    )
    return variant, variant
