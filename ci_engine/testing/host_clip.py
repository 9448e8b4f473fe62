"""An open_clip CLIP's weights in the Hugging Face layout ComfyUI's CLIP models use, with the
configs that build those models at any size: "CLIP from ComfyUI" tested on the same weights
as Load CLIP (ComfyUI's own loaders only recognise towers of real depth)."""

from __future__ import annotations

import torch

QUICK_GELU = "quick_gelu"


def _layers(state: dict, src: str, dst: str) -> dict:
    """open_clip residual blocks (packed q/k/v) as Hugging Face encoder layers."""
    out, index = {}, 0
    while f"{src}{index}.ln_1.weight" in state:
        s, d = f"{src}{index}.", f"{dst}{index}."
        for part in ("weight", "bias"):
            q, k, v = state[f"{s}attn.in_proj_{part}"].chunk(3)
            out |= {
                f"{d}self_attn.q_proj.{part}": q,
                f"{d}self_attn.k_proj.{part}": k,
                f"{d}self_attn.v_proj.{part}": v,
            }
            out[f"{d}self_attn.out_proj.{part}"] = state[f"{s}attn.out_proj.{part}"]
            out[f"{d}layer_norm1.{part}"] = state[f"{s}ln_1.{part}"]
            out[f"{d}layer_norm2.{part}"] = state[f"{s}ln_2.{part}"]
            out[f"{d}mlp.fc1.{part}"] = state[f"{s}mlp.c_fc.{part}"]
            out[f"{d}mlp.fc2.{part}"] = state[f"{s}mlp.c_proj.{part}"]
        index += 1
    return out


def hf_text_state(state: dict) -> dict[str, torch.Tensor]:
    """The text tower of an open_clip state dict as ``text_model.*`` and ``text_projection.weight``."""
    out = _layers(state, "transformer.resblocks.", "text_model.encoder.layers.")
    out["text_model.embeddings.token_embedding.weight"] = state["token_embedding.weight"]
    out["text_model.embeddings.position_embedding.weight"] = state["positional_embedding"]
    out["text_model.final_layer_norm.weight"] = state["ln_final.weight"]
    out["text_model.final_layer_norm.bias"] = state["ln_final.bias"]
    out["text_projection.weight"] = state["text_projection"].T
    return {k: v.contiguous() for k, v in out.items()}


def hf_vision_state(state: dict) -> dict[str, torch.Tensor]:
    """The image tower of an open_clip state dict as ``vision_model.*`` and ``visual_projection.weight``."""
    out = _layers(state, "visual.transformer.resblocks.", "vision_model.encoder.layers.")
    out["vision_model.embeddings.class_embedding"] = state["visual.class_embedding"]
    out["vision_model.embeddings.patch_embedding.weight"] = state["visual.conv1.weight"]
    out["vision_model.embeddings.position_embedding.weight"] = state["visual.positional_embedding"]
    for ours, theirs in (("pre_layrnorm", "ln_pre"), ("post_layernorm", "ln_post")):
        for part in ("weight", "bias"):
            out[f"vision_model.{ours}.{part}"] = state[f"visual.{theirs}.{part}"]
    out["visual_projection.weight"] = state["visual.proj"].T
    return {k: v.contiguous() for k, v in out.items()}


def comfy_vision_config(config: dict, quick_gelu: bool = False) -> dict:
    """ComfyUI's CLIP vision config for an open_clip model config."""
    vision = config["vision_cfg"]
    width = vision["width"]
    return {
        "hidden_act": QUICK_GELU if quick_gelu else "gelu",
        "hidden_size": width,
        "image_size": vision["image_size"],
        "intermediate_size": int(width * vision.get("mlp_ratio", 4.0)),
        "layer_norm_eps": 1e-5,
        "model_type": "clip_vision_model",
        "num_attention_heads": width // vision.get("head_width", 64),
        "num_channels": 3,
        "num_hidden_layers": vision["layers"],
        "patch_size": vision["patch_size"],
        "projection_dim": config["embed_dim"],
    }


def comfy_text_config(config: dict, quick_gelu: bool = False) -> dict:
    """ComfyUI's CLIP text config for an open_clip model config (its projection is square:
    the text width must equal ``embed_dim``, as in ViT-L-14, ViT-H-14 and ViT-bigG-14)."""
    text = config["text_cfg"]
    return {
        "hidden_act": QUICK_GELU if quick_gelu else "gelu",
        "hidden_size": text["width"],
        "intermediate_size": int(text["width"] * text.get("mlp_ratio", 4.0)),
        "num_attention_heads": text["heads"],
        "num_hidden_layers": text["layers"],
        "max_position_embeddings": text["context_length"],
        "vocab_size": text["vocab_size"],
        "eos_token_id": 49407,
        "bos_token_id": 49406,
        "layer_norm_eps": 1e-5,
        "projection_dim": config["embed_dim"],
    }
