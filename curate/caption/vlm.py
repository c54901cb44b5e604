"""A vision-language model from a local folder writes the caption's summary (`--vlm DIR`).

Any checkpoint that transformers' AutoModelForImageTextToText loads works (BLIP, GIT,
Florence-2, LLaVA, Qwen2-VL, SmolVLM, ...), strictly offline. The model is prompted with the
detector facts and asked for the hierarchical description; only its text is used, as the
summary: every count in the record still comes from the detectors.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from curate.caption.describe import number
from curate.caption.records import Facts
from curate.errors import UserError

log = logging.getLogger("curate.caption")
MAX_NEW_TOKENS = 80


def quoted(facts: Facts) -> list[str]:
    return [f'"{t.text}"' for t in facts.text]


def prompt(facts: Facts, original: str | None) -> str:
    """The question, with what the detectors measured, so the model describes rather than counts."""
    c = facts.counts()
    known = [f"{number(c['people'], 'person', 'people')}, {number(c['faces'], 'face')}, "
             f"{number(c['arms'], 'arm')}, {number(c['hands'], 'hand')} and "
             f"{number(c['fingers_extended'], 'counted finger')} extended"]
    if facts.objects:
        known.append("objects: " + ", ".join(number(t.count, t.fine or t.name) for t in facts.objects))
    if facts.labels:
        known.append("it looks like " + ", ".join(lb.name for lb in facts.labels))
    if facts.text:
        known.append("the text " + ", ".join(quoted(facts)))
    if original:
        known.append(f"its web caption: {original.strip()}")
    return ("Detectors found in this image: " + "; ".join(known) + ". "
            "Describe the image: the scene in one sentence, then each person's body, arms, hands "
            "and fingers, the objects, and any text. Use the detector counts.")


@dataclass
class VLM:
    name: str
    model: object
    processor: object
    chat: bool      # the processor has a chat template (LLaVA, Qwen2-VL): the prompt goes in a user turn

    def describe(self, rgb: np.ndarray, facts: Facts, original: str | None) -> str:
        import torch

        text = prompt(facts, original)
        if self.chat:
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
            text = self.processor.apply_chat_template(messages, add_generation_prompt=True)
        inputs = self.processor(images=Image.fromarray(rgb), text=text, return_tensors="pt")
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
        # decoder-only and prefix-conditioned models (LLaVA, BLIP) echo the prompt: keep what follows it
        prompt_ids = inputs["input_ids"][0]
        n = min(len(prompt_ids), out.shape[1])
        echoed = int((out[0, :n] == prompt_ids[:n]).long().cumprod(0).sum())
        return self.processor.batch_decode(out[:, echoed:], skip_special_tokens=True)[0].strip()


def load(folder: str) -> VLM:
    import curate.torchvision_compat  # noqa: F401  (before transformers)
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = Path(folder)
    if not (path / "config.json").is_file():
        raise UserError(f"--vlm {folder}: not a transformers checkpoint folder (no config.json)")
    try:
        processor = AutoProcessor.from_pretrained(path, local_files_only=True)
        vlm = AutoModelForImageTextToText.from_pretrained(path, local_files_only=True).eval()
    except (OSError, ValueError, KeyError) as err:
        raise UserError(f"--vlm {folder}: transformers cannot load it offline as an image-text-to-text "
                        f"model ({str(err).splitlines()[0]})") from None
    chat = getattr(processor, "chat_template", None) is not None
    log.info("captions: summaries by %s (%s)", folder, type(vlm).__name__)
    return VLM(str(folder), vlm, processor, chat)
