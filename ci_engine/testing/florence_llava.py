"""Tiny random-weight image-to-text models (Florence-2, LLaVA) saved as local HF folders.

Everything is built offline: a small BPE tokenizer is trained from a written word list,
weights are drawn from a seeded generator, and only whole-word tokens can win the argmax
(the LM-head rows of special tokens and sub-word pieces are zero), so greedy captions are
non-empty runs of readable words that depend on the image.
"""

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    BartConfig,
    CLIPImageProcessor,
    CLIPVisionConfig,
    Florence2Config,
    Florence2ForConditionalGeneration,
    Florence2Processor,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    PreTrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

WORDS = (
    "a an the this that is are of in on with and at near by over under above below photo image picture "
    "what does describe detail shown show paragraph text region regions locate objects category name "
    "cat dog bird horse cow sheep person man woman child boy girl people car bus truck bicycle boat train "
    "plane tree trees grass sky cloud clouds sun water river sea beach mountain hill road street city "
    "building house room table chair bed window door wall floor field flower flowers red green blue yellow "
    "white black brown gray orange pink small large big little old young bright dark sunny cloudy standing "
    "sitting walking running lying flying eating holding looking playing parked close view front back side "
    "top left right middle background user assistant you helpful caption for it has there two three several "
    "some many one scene day night"
).split()
PROMPTS = [  # Florence-2 task prompts and the LLaVA chat prompt, so they tokenize into few tokens
    "What does the image describe?",
    "Describe in detail what is shown in the image.",
    "Describe with a paragraph what is shown in the image.",
    "USER: \nDescribe this image. ASSISTANT:",
]
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<image>"]  # ids 0..4, BART/Florence order
LLAVA_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'].upper() + ': ' }}"
    "{% if m['content'] is string %}{{ m['content'] + ' ' }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}{{ '<image>\n' }}{% elif c['type'] == 'text' %}{{ c['text'] + ' ' }}{% endif %}"
    "{% endfor %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def _tokenizer(padding_side: str = "right") -> PreTrainedTokenizerFast:
    """Train a small (478-token) Metaspace BPE on the word list (deterministic) and wrap it."""
    corpus = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(0, len(WORDS), 7)]
    corpus += PROMPTS * 4 + ["!?,.;:'\"()-0123456789"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.Metaspace(), decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": "<image>"},
        padding_side=padding_side,
    )


def _build(
    model_cls: type[PreTrainedModel], config: PreTrainedConfig, tok: PreTrainedTokenizerFast, seed: int
) -> PreTrainedModel:
    """Seeded model: fan-in init of >=2-D params, LM head keeps only whole-word rows (no EOS/specials)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)  # covers 1-D params drawn at construction (e.g. CLIP class_embedding)
        model = model_cls(config)
        for _, p in sorted(model.named_parameters()):
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * p[0].numel() ** -0.5)
        words = {tok.convert_tokens_to_ids("\u2581" + w) for w in WORDS} - {tok.unk_token_id}
        keep = torch.tensor([i in words for i in range(len(tok))])
        model.get_output_embeddings().weight[~keep] = 0.0
    return model.eval()


def _florence2_config(tok: PreTrainedTokenizerFast) -> Florence2Config:
    """A 1-layer BART and a 4-stage DaViT of width 8-32."""
    text = BartConfig(
        vocab_size=len(tok),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        tie_word_embeddings=False,
        dropout=0.0,
    )
    vision = dict(
        depths=[1, 1, 1, 1],
        embed_dim=[8, 16, 16, 32],
        num_heads=[1, 2, 2, 4],
        num_groups=[1, 2, 2, 4],
        window_size=2,
        projection_dim=32,
        max_position_embeddings=8,
        max_temporal_embeddings=4,
        drop_path_rate=0.0,
    )
    return Florence2Config(
        text_config=text.to_dict(), vision_config=vision, image_token_id=tok.image_token_id, tie_word_embeddings=False
    )


def save_florence2(folder: Path, seed: int = 0) -> Path:
    """Save a tiny Florence2ForConditionalGeneration + Florence2Processor (64 px, 5 image tokens)."""
    folder, tok = Path(folder), _tokenizer()
    config = _florence2_config(tok)
    # 64 px / total stride 32 -> 2x2 spatial tokens + 1 temporal token = 5 image tokens
    images = CLIPImageProcessor(
        size={"height": 64, "width": 64},
        crop_size={"height": 64, "width": 64},
        do_center_crop=False,
        image_seq_length=5,
    )
    _build(Florence2ForConditionalGeneration, config, tok, seed).save_pretrained(folder, safe_serialization=True)
    Florence2Processor(image_processor=images, tokenizer=tok).save_pretrained(folder)
    return folder


def _llava_config(tok: PreTrainedTokenizerFast) -> LlavaConfig:
    """A 2-layer CLIP vision tower and a 2-layer Llama of width 32."""
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=32,
        patch_size=8,
        projection_dim=32,
    )
    text = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
    )
    return LlavaConfig(
        vision_config=vision.to_dict(),
        text_config=text.to_dict(),
        image_token_index=tok.image_token_id,
        image_seq_length=16,
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
    )


def save_llava(folder: Path, seed: int = 0) -> Path:
    """Save a tiny LlavaForConditionalGeneration (CLIP + Llama) + LlavaProcessor with a chat template."""
    folder, tok = Path(folder), _tokenizer(padding_side="left")
    config = _llava_config(tok)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    _build(LlavaForConditionalGeneration, config, tok, seed).save_pretrained(folder, safe_serialization=True)
    # (32 / 8)^2 patches + 1 CLS - 1 ("default" drops CLS) = 16 <image> tokens per image
    LlavaProcessor(
        image_processor=images,
        tokenizer=tok,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        image_token="<image>",
        chat_template=LLAVA_CHAT_TEMPLATE,
    ).save_pretrained(folder)
    return folder
