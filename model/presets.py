"""UNet sizes. `tiny` is for CPU smoke runs and tests; `small` and `base` for a GPU."""

import math

PRESETS = {
    # Cross-attention only at the 8x8 level: several times cheaper on a CPU than at every level.
    "tiny": {"resolution": 32, "block_out_channels": (32, 64, 64), "layers_per_block": 1,
             "attention_head_dim": 8, "batch_size": 8, "learning_rate": 1e-3, "attention_levels": 1},
    "small": {"resolution": 64, "block_out_channels": (64, 128, 256), "layers_per_block": 2,
              "attention_head_dim": 8, "batch_size": 32, "learning_rate": 3e-4, "attention_levels": 2},
    "base": {"resolution": 64, "block_out_channels": (128, 256, 512), "layers_per_block": 2,
             "attention_head_dim": 16, "batch_size": 64, "learning_rate": 1e-4, "attention_levels": 2},
}


def unet_config(preset: str, cross_attention_dim: int, in_channels: int = 3) -> dict:
    p = PRESETS[preset]
    levels = len(p["block_out_channels"])
    down = ["DownBlock2D"] * (levels - p["attention_levels"]) + ["CrossAttnDownBlock2D"] * p["attention_levels"]
    up = ["CrossAttnUpBlock2D" if b.startswith("CrossAttn") else "UpBlock2D" for b in reversed(down)]
    return {
        "sample_size": p["resolution"], "in_channels": in_channels, "out_channels": in_channels,
        "block_out_channels": p["block_out_channels"], "layers_per_block": p["layers_per_block"],
        "down_block_types": tuple(down), "up_block_types": tuple(up),
        "attention_head_dim": p["attention_head_dim"], "cross_attention_dim": cross_attention_dim,
        "norm_num_groups": 32,
        # The caption, attention-pooled, is also added to the timestep embedding (as in Imagen), so
        # every ResNet block at every resolution sees it, not only the 8x8 cross-attention. On the
        # 8-image overfit test it took samples nearest their own image from 2 of 8 to 5-6 of 8
        # at 600 steps. Heads of 6 channels for MiniLM's 384 (the measured setting); fewer for a
        # narrower encoder.
        "addition_embed_type": "text", "addition_embed_type_num_heads": math.gcd(64, cross_attention_dim),
    }
