"""Tiny random-weight chat models (Qwen2.5-VL, Qwen3-VL, SmolVLM2) saved as local Hugging Face folders.

Each ``save_*`` function writes a folder that loads offline with transformers' native
``AutoModelForImageTextToText`` / ``AutoProcessor`` (no remote code): config.json,
model.safetensors, generation_config.json, tokenizer.json (+config), processor config
with image *and* video processors, and chat_template.jinja.
"""

from __future__ import annotations

import string
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
from transformers import (
    GenerationConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    ProcessorMixin,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessor,
    Qwen2VLProcessor,
    Qwen2VLVideoProcessor,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
    Qwen3VLVideoProcessor,
    SmolVLMConfig,
    SmolVLMForConditionalGeneration,
    SmolVLMImageProcessor,
    SmolVLMProcessor,
    SmolVLMVideoProcessor,
)

_CAPTIONS = (
    "a photo of a red cat sitting on a green chair near the window . "
    "a small dog runs across the yellow field under a blue sky . "
    "two people walk along the beach at sunset with white waves . "
    "an old car parked beside a tall brick building in the city . "
    "a bowl of fresh fruit on a wooden table in the kitchen . "
    "the bright image shows a dark forest with trees and a river . "
)
_CORPUS = (
    _CAPTIONS + "describe this image , what is in the picture ? it is a scene . you are a helpful assistant user system"
)

QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
SMOL_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<end_of_utterance>",
    "<image>",
    "<video>",
    "<fake_token_around_image>",
    "<global-img>",
] + [f"<row_{r}_col_{c}>" for r in (1, 2) for c in (1, 2)]

_QWEN_SYSTEM = (
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
)
_QWEN_BODY = (
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
)
_QWEN_TAIL = "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
QWEN25_TEMPLATE = "{% for message in messages %}" + _QWEN_SYSTEM + _QWEN_BODY + _QWEN_TAIL
QWEN3_TEMPLATE = "{% for message in messages %}" + _QWEN_BODY + _QWEN_TAIL
SMOL_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


def _written_vocab(specials: list[str]) -> dict[str, int]:
    """Deterministic vocab: specials, single chars (word-initial and '##' continuation), corpus words."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    words = sorted(set(_CORPUS.split()) - set(chars))
    tokens = ["<unk>", *specials, *chars, *("##" + c for c in chars), *words]
    return {t: i for i, t in enumerate(dict.fromkeys(tokens))}


def build_bpe_tokenizer(specials: list[str], eos: str, pad: str, bos: str | None = None) -> PreTrainedTokenizerFast:
    """BPE over a written vocab: known words are single tokens (ignore_merges), others fall back to chars.

    Not trained with BpeTrainer on purpose: its tie-breaking makes token ids differ between runs.
    The WordPiece decoder joins tokens with spaces and glues '##' pieces back together.
    """
    bpe = models.BPE(
        vocab=_written_vocab(specials), merges=[], unk_token="<unk>", continuing_subword_prefix="##", ignore_merges=True
    )
    tok = Tokenizer(bpe)
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tok.add_special_tokens(specials)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        eos_token=eos,
        pad_token=pad,
        bos_token=bos,
        padding_side="left",
        clean_up_tokenization_spaces=False,
        model_max_length=4096,
    )


def _gen_config(tok: PreTrainedTokenizerFast) -> GenerationConfig:
    """Greedy config that only emits caption words (or EOS, never as the first token)."""
    eos = tok.eos_token_id
    words = {tok.convert_tokens_to_ids(w) for w in _CAPTIONS.split() if w.isalpha()}
    return GenerationConfig(
        bos_token_id=tok.bos_token_id,
        eos_token_id=eos,
        pad_token_id=tok.pad_token_id,
        do_sample=False,
        suppress_tokens=sorted(set(range(len(tok))) - words - {eos}),
        begin_suppress_tokens=[eos],
        repetition_penalty=1.3,
    )


def _seeded(model_cls: type[PreTrainedModel], config, seed: int) -> PreTrainedModel:
    """The model built with ``seed``, leaving the caller's random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model_cls(config)


def _save(model: PreTrainedModel, processor: ProcessorMixin, tok: PreTrainedTokenizerFast, folder: Path) -> Path:
    """Attach generation config and write model + processor (safetensors only)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.generation_config = _gen_config(tok)
    model.eval().save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder


def _qwen_tokenizer() -> PreTrainedTokenizerFast:
    """Qwen-style tokenizer: <|im_end|> ends a turn, <|endoftext|> pads."""
    return build_bpe_tokenizer(QWEN_SPECIALS, eos="<|im_end|>", pad="<|endoftext|>")


def _qwen_ids(tok: PreTrainedTokenizerFast) -> dict[str, int]:
    """Top-level special token ids shared by the Qwen-VL configs."""
    ids = tok.convert_tokens_to_ids
    return {
        "image_token_id": ids("<|image_pad|>"),
        "video_token_id": ids("<|video_pad|>"),
        "vision_start_token_id": ids("<|vision_start|>"),
        "vision_end_token_id": ids("<|vision_end|>"),
    }


def _qwen_text(tok: PreTrainedTokenizerFast, **extra) -> dict:
    """Tiny text-decoder kwargs (hidden 64, 2 layers, head_dim 16, mrope 2+3+3=8)."""
    return dict(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        initializer_range=0.2,
        **extra,
    )


def _qwen_processor(proc_cls: type, vid_cls: type, tok: PreTrainedTokenizerFast, template: str) -> ProcessorMixin:
    """Qwen-VL processor with tiny pixel budget (patch 8, merge 2 -> 16px per visual token)."""
    size = {"shortest_edge": 16 * 16, "longest_edge": 48 * 48}
    common = {"size": size, "patch_size": 8, "temporal_patch_size": 2, "merge_size": 2}
    return proc_cls(
        image_processor=Qwen2VLImageProcessor(**common),
        tokenizer=tok,
        video_processor=vid_cls(**common),
        chat_template=template,
    )


def _qwen_vision(**extra) -> dict:
    """A 2-block vision tower of width 32 with 8 px patches, merged 2x2 into width-64 tokens."""
    return {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "patch_size": 8,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 64,
        **extra,
    }


def save_qwen2_5_vl(folder: Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen2_5_VLForConditionalGeneration + Qwen2_5_VLProcessor folder."""
    tok = _qwen_tokenizer()
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}
    vision = _qwen_vision(window_size=32, fullatt_block_indexes=[1])
    config = Qwen2_5_VLConfig(text_config=_qwen_text(tok, rope_parameters=rope), vision_config=vision, **_qwen_ids(tok))
    model = _seeded(Qwen2_5_VLForConditionalGeneration, config, seed)
    proc = _qwen_processor(Qwen2_5_VLProcessor, Qwen2VLVideoProcessor, tok, QWEN25_TEMPLATE)
    return _save(model, proc, tok, folder)


def save_qwen2_vl(folder: Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen2VLForConditionalGeneration + Qwen2VLProcessor folder: a chat model
    this pack has no family of its own for (the generic image-text-to-text one loads it)."""
    tok = _qwen_tokenizer()
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}
    vision = {"depth": 2, "embed_dim": 32, "hidden_size": 64, "mlp_ratio": 2, "num_heads": 2, "patch_size": 8}
    config = Qwen2VLConfig(text_config=_qwen_text(tok, rope_parameters=rope), vision_config=vision, **_qwen_ids(tok))
    model = _seeded(Qwen2VLForConditionalGeneration, config, seed)
    proc = _qwen_processor(Qwen2VLProcessor, Qwen2VLVideoProcessor, tok, QWEN25_TEMPLATE)
    return _save(model, proc, tok, folder)


def save_qwen3_vl(folder: Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen3VLForConditionalGeneration + Qwen3VLProcessor folder."""
    tok = _qwen_tokenizer()
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3], "mrope_interleaved": True}
    vision = _qwen_vision(num_position_embeddings=36, deepstack_visual_indexes=[1])
    text = _qwen_text(tok, head_dim=16, rope_parameters=rope)
    config = Qwen3VLConfig(text_config=text, vision_config=vision, **_qwen_ids(tok))
    model = _seeded(Qwen3VLForConditionalGeneration, config, seed)
    proc = _qwen_processor(Qwen3VLProcessor, Qwen3VLVideoProcessor, tok, QWEN3_TEMPLATE)
    return _save(model, proc, tok, folder)


def _smol_processor(tok: PreTrainedTokenizerFast) -> SmolVLMProcessor:
    """SmolVLM processor: 32x32 square images, no splitting -> 4 <image> tokens per image."""
    edge = {"longest_edge": 32}
    img = SmolVLMImageProcessor(size=edge, max_image_size=edge, do_image_splitting=False)
    vid = SmolVLMVideoProcessor(size=edge, max_image_size=edge, do_image_splitting=False)
    # image_seq_len = (image_size / patch_size)^2 / scale_factor^2 = (32 / 8)^2 / 2^2 = 4
    return SmolVLMProcessor(img, tok, vid, image_seq_len=4, chat_template=SMOL_TEMPLATE)


def save_smolvlm(folder: Path, seed: int = 0) -> Path:
    """Write a tiny random SmolVLMForConditionalGeneration + SmolVLMProcessor (needs `num2words`)."""
    tok = build_bpe_tokenizer(SMOL_SPECIALS, eos="<end_of_utterance>", pad="<|im_end|>", bos="<|im_start|>")
    text = dict(model_type="llama", **_qwen_text(tok))
    vision = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 32,
        "patch_size": 8,
        "initializer_range": 0.2,
    }
    config = SmolVLMConfig(
        text_config=text,
        vision_config=vision,
        scale_factor=2,
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        pad_token_id=tok.pad_token_id,
    )
    model = _seeded(SmolVLMForConditionalGeneration, config, seed)
    return _save(model, _smol_processor(tok), tok, folder)
