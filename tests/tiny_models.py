"""Tiny random-weight vision-language checkpoints, built and saved by the tests (never
downloaded): they test the loading and prompting code, never caption quality."""

import re
from pathlib import Path

import curate.torchvision_compat  # noqa: F401  (before transformers)


def _vocab(words: str) -> list[str]:
    tokens = sorted(set(re.findall(r"[a-z]+|[0-9]|[^\sa-z0-9]", words.lower())))
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + tokens


def blip(out: Path, words: str, favourite: str = "hands") -> Path:
    """A BLIP captioner whose word-level vocabulary covers `words` (the prompt's words). Random
    weights would mostly emit special tokens, which decode to nothing; a bias towards one word
    makes the generated text visible."""
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizer(vocab={token: i for i, token in enumerate(_vocab(words))}, do_lower_case=True)
    processor = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer)
    torch.manual_seed(0)
    small = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    config = BlipConfig(
        vision_config=dict(small, image_size=32, patch_size=8),
        text_config=dict(small, vocab_size=len(tokenizer), max_position_embeddings=256, encoder_hidden_size=32,
                         bos_token_id=tokenizer.cls_token_id, pad_token_id=tokenizer.pad_token_id,
                         sep_token_id=tokenizer.sep_token_id),
        projection_dim=32)
    vlm = BlipForConditionalGeneration(config)
    with torch.no_grad():
        vlm.text_decoder.cls.predictions.bias[tokenizer.convert_tokens_to_ids(favourite)] = 20.0
    vlm.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def llava(out: Path, words: str) -> Path:
    """A LLaVA-style chat VLM (CLIP vision tower, Llama text model, a chat template)."""
    import torch
    from transformers import (BertTokenizer, CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(_vocab(words + " user assistant"))}, do_lower_case=True)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    template = ("{% for m in messages %}{{ m['role'] }}: {% for c in m['content'] %}{% if c['type'] == 'image' %}"
                "<image> {% else %}{{ c['text'] }}{% endif %}{% endfor %}\n{% endfor %}"
                "{% if add_generation_prompt %}assistant:{% endif %}")
    processor = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                                  crop_size={"height": 32, "width": 32}),
                               tokenizer=tokenizer, patch_size=8, vision_feature_select_strategy="default",
                               chat_template=template, image_token="<image>", num_additional_image_tokens=1)
    torch.manual_seed(0)
    small = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(**small, image_size=32, patch_size=8),
        text_config=LlamaConfig(**small, num_key_value_heads=2, vocab_size=len(tokenizer), max_position_embeddings=512,
                                pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.cls_token_id,
                                eos_token_id=tokenizer.sep_token_id),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"), vision_feature_select_strategy="default",
        vision_feature_layer=-1)
    LlavaForConditionalGeneration(config).save_pretrained(out)
    processor.save_pretrained(out)
    return out


def clip_tokenizer(out: Path):
    """A CLIP BPE tokenizer that needs no hub files: one token per printable ASCII character (and
    its end-of-word form), no merges."""
    import json

    from transformers import CLIPTokenizer

    out.mkdir(parents=True, exist_ok=True)
    chars = [chr(c) for c in range(33, 127)]
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    (out / "vocab.json").write_text(json.dumps(vocab))
    (out / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(out / "vocab.json"), str(out / "merges.txt"), model_max_length=16)


def _sd_parts(tokenizer, cross_attention_dim: int, projection_dim: int | None = None, **unet):
    """A tiny UNet, VAE and CLIP text encoder of the widths diffusers' own pipeline tests use."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**{"block_out_channels": (32, 64), "layers_per_block": 1, "sample_size": 16,
                                   "in_channels": 4, "out_channels": 4, "attention_head_dim": 8, "norm_num_groups": 32,
                                   "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
                                   "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"),
                                   "cross_attention_dim": cross_attention_dim, **unet})
    vae = AutoencoderKL(block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=32,
                        sample_size=32)
    text = CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, max_position_embeddings=16, bos_token_id=tokenizer.bos_token_id,
                          eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                          **({"projection_dim": projection_dim} if projection_dim else {}))
    return unet, vae, text


def stable_diffusion(out: Path) -> Path:
    """A random-weight Stable Diffusion 1.x-shaped folder (UNet, VAE, CLIP text encoder,
    tokenizer, DDIM scheduler at epsilon prediction), saved as `StableDiffusionPipeline` saves one."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTextModel

    tokenizer = clip_tokenizer(out.with_name(out.name + "-tokenizer"))
    unet, vae, text = _sd_parts(tokenizer, 32)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=CLIPTextModel(text), tokenizer=tokenizer,
                            scheduler=scheduler, safety_checker=None, feature_extractor=None,
                            requires_safety_checker=False).save_pretrained(out)
    return out


def stable_diffusion_xl(out: Path) -> Path:
    """A random-weight SDXL-shaped folder, as diffusers' SDXL pipeline tests build one: a UNet
    with `text_time` added conditioning (the second encoder's pooled projection and six size and
    crop ids), CLIPTextModel + CLIPTextModelWithProjection whose token states are concatenated
    (cross-attention 32 + 32), two tokenizers, an Euler scheduler at epsilon prediction."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = clip_tokenizer(out.with_name(out.name + "-tokenizer"))
    unet, vae, text = _sd_parts(tokenizer, 64, projection_dim=32, addition_embed_type="text_time",
                                addition_time_embed_dim=8, projection_class_embeddings_input_dim=6 * 8 + 32,
                                use_linear_projection=True)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       steps_offset=1, timestep_spacing="leading")
    StableDiffusionXLPipeline(unet=unet, vae=vae, text_encoder=CLIPTextModel(text), tokenizer=tokenizer,
                              text_encoder_2=CLIPTextModelWithProjection(text), tokenizer_2=tokenizer,
                              scheduler=scheduler).save_pretrained(out)
    return out
