"""Cheap adaptation: --base (a pretrained diffusers folder), --lora RANK, --region-weights.
Every base here is a tiny random-weight folder the test writes (tests/tiny_models.py)."""

import re
import shutil

import numpy as np
import pytest
import torch

from curate import manifest
from curate.workspace import Workspace
from curate_model import lora, regions
from tests.helpers import curate, ingest_corpus
from tests.test_model import PICTURES
from tests.tiny_models import stable_diffusion, stable_diffusion_xl

needs_peft = pytest.mark.skipif(not __import__("importlib").util.find_spec("peft"),
                                reason="peft is not installed (pip install -c constraints.txt peft)")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return ingest_corpus(tmp_path_factory.mktemp("adapt") / "ds", PICTURES, PICTURES)


@pytest.fixture(scope="module")
def sd_base(tmp_path_factory):
    return stable_diffusion(tmp_path_factory.mktemp("sd") / "sd")


@pytest.fixture(scope="module")
def sdxl_base(tmp_path_factory):
    return stable_diffusion_xl(tmp_path_factory.mktemp("sdxl") / "sdxl")


def _pipe(folder, xl=False):
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    pipe = (StableDiffusionXLPipeline if xl else StableDiffusionPipeline).from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _draw(pipe, **kwargs) -> np.ndarray:
    return pipe("a cup of coffee", num_inference_steps=3, generator=torch.Generator().manual_seed(0),
                output_type="np", height=32, width=32, **kwargs).images


def test_fine_tuned_sd_base_loads_with_plain_diffusers(dataset, sd_base, tmp_path):
    out = tmp_path / "ft"
    assert curate("train", dataset, "--out", out, "--base", sd_base, "--steps", 2, "--batch-size", 4,
                  "--learning-rate", 1e-3) == 0
    pipe = _pipe(out)  # no curate code: the folder is an ordinary StableDiffusionPipeline
    assert pipe.scheduler.config.prediction_type == "epsilon"  # the base's own, kept
    assert _draw(pipe).shape == (1, 32, 32, 3)
    before, after = _pipe(sd_base).unet.state_dict(), pipe.unet.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert "StableDiffusionPipeline.from_pretrained" in (out / "README.md").read_text()


def test_fine_tuned_sdxl_base_loads_with_plain_diffusers(dataset, sdxl_base, tmp_path):
    out = tmp_path / "ft"
    assert curate("train", dataset, "--out", out, "--base", sdxl_base, "--steps", 2, "--batch-size", 4,
                  "--learning-rate", 1e-3) == 0
    pipe = _pipe(out, xl=True)  # an ordinary StableDiffusionXLPipeline folder: both encoders, both tokenizers
    assert type(pipe).__name__ == "StableDiffusionXLPipeline" and pipe.text_encoder_2 is not None
    assert _draw(pipe).shape == (1, 32, 32, 3)
    before, after = _pipe(sdxl_base, xl=True).unet.state_dict(), pipe.unet.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any(k.startswith("add_embedding.") for k in changed)  # the pooled text and size/crop ids were trained on
    assert "StableDiffusionXLPipeline.from_pretrained" in (out / "README.md").read_text()


def test_sdxl_time_ids_are_original_size_crop_and_target():
    from curate_model.crop import sdxl_time_ids

    # 200x100 covered to 64x32, 16 px cropped off the left: (h, w), (top, left), (h, w)
    assert sdxl_time_ids((200, 100), (32, 32)) == [100, 200, 0, 16, 32, 32]
    assert sdxl_time_ids((32, 48), (32, 32)) == [48, 32, 8, 0, 32, 32]


@needs_peft
def test_lora_on_sdxl_base_loads_with_load_lora_weights(dataset, sdxl_base, tmp_path):
    out = tmp_path / "lora"
    assert curate("train", dataset, "--out", out, "--base", sdxl_base, "--lora", 4, "--steps", 3, "--batch-size", 4,
                  "--learning-rate", 1e-2) == 0
    pipe = _pipe(sdxl_base, xl=True)
    plain = _draw(pipe)
    pipe.load_lora_weights(out)
    adapted = _draw(pipe)
    assert np.abs(adapted - plain).max() > 1e-3
    again = _pipe(sdxl_base, xl=True)
    again.load_lora_weights(out, weight_name=lora.KOHYA)  # the single file reads back as the same adapters
    assert np.allclose(_draw(again), adapted, atol=1e-5)


def _prompt_states(pipe) -> torch.Tensor:
    with torch.no_grad():
        return pipe.encode_prompt("a cup of coffee", device="cpu", num_images_per_prompt=1,
                                  do_classifier_free_guidance=False)[0]


@needs_peft
@pytest.mark.parametrize("xl", [False, True], ids=["sd", "sdxl"])
def test_text_encoder_lora_loads_and_changes_the_prompt_encoding(dataset, sd_base, sdxl_base, tmp_path, xl):
    from safetensors.torch import load_file

    folder, out = sdxl_base if xl else sd_base, tmp_path / "lora"
    assert curate("train", dataset, "--out", out, "--base", folder, "--lora", 2, "--lora-text-encoder", "--steps", 3,
                  "--batch-size", 4, "--learning-rate", 1e-2) == 0
    parts = {k.split(".", 1)[0] for k in load_file(out / lora.WEIGHTS)}
    assert parts == ({"unet", "text_encoder", "text_encoder_2"} if xl else {"unet", "text_encoder"})
    kohya = {k.split(".", 1)[0].split("_text_model_")[0] for k in load_file(out / lora.KOHYA) if "_text_model_" in k}
    assert kohya == ({"lora_te1", "lora_te2"} if xl else {"lora_te"})  # kohya's names: one encoder, or SDXL's two
    pipe = _pipe(folder, xl)
    plain_states, plain = _prompt_states(pipe), _draw(pipe)
    pipe.load_lora_weights(out)
    assert not torch.allclose(_prompt_states(pipe), plain_states, atol=1e-4)  # the text encoder's adapters act
    adapted = _draw(pipe)
    assert np.abs(adapted - plain).max() > 1e-3
    again = _pipe(folder, xl)
    again.load_lora_weights(out, weight_name=lora.KOHYA)
    assert np.allclose(_draw(again), adapted, atol=1e-5)


@needs_peft
def test_lora_on_sd_base_loads_with_load_lora_weights_and_follows_kohya_keys(dataset, sd_base, tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "lora"
    assert curate("train", dataset, "--out", out, "--base", sd_base, "--lora", 4, "--steps", 3, "--batch-size", 4,
                  "--learning-rate", 1e-2) == 0
    assert not (out / "model_index.json").exists()  # adapters only, the base is untouched
    pipe = _pipe(sd_base)
    plain = _draw(pipe)
    pipe.load_lora_weights(out)
    adapted = _draw(pipe)
    assert np.abs(adapted - plain).max() > 1e-3

    # kohya: lora_unet_<module path, dots as underscores>.{lora_down.weight, lora_up.weight, alpha}
    kohya = load_file(out / lora.KOHYA)
    unet = _pipe(sd_base).unet
    modules = {"lora_unet_" + name.replace(".", "_"): m for name, m in unet.named_modules()
               if re.search(r"\.(to_q|to_k|to_v|to_out\.0)$", name)}
    names = {k.split(".", 1)[0] for k in kohya}
    assert names == set(modules) and len(kohya) == 3 * len(modules)
    for name, module in modules.items():
        assert kohya[f"{name}.lora_down.weight"].shape == (4, module.in_features)
        assert kohya[f"{name}.lora_up.weight"].shape == (module.out_features, 4)
        assert kohya[f"{name}.alpha"].item() == 4.0
    # diffusers' own kohya reader turns the single file back into the same adapters
    again = _pipe(sd_base)
    again.load_lora_weights(out, weight_name=lora.KOHYA)
    assert np.allclose(_draw(again), adapted, atol=1e-5)


@needs_peft
def test_lora_on_the_bundled_model_and_sample_with_it(dataset, tmp_path, capsys):
    from safetensors.torch import load_file

    from curate_model.sample import load_pipeline

    bundled, adapter = tmp_path / "bundled", tmp_path / "lora"
    assert curate("train", dataset, "--out", bundled, "--steps", 2) == 0
    assert curate("train", dataset, "--out", adapter, "--base", bundled, "--lora", 2, "--steps", 3,
                  "--learning-rate", 1e-2) == 0
    adapted = {k.split(".lora_")[0].rsplit(".", 1)[-1] for k in load_file(adapter / lora.WEIGHTS)}
    assert {"to_q", "conv1", "conv2", "time_emb_proj"} <= adapted  # its attention alone cannot draw a new subject
    latents = {}
    for scale in (None, 0.0, 1.0):
        pipe = load_pipeline(bundled, adapter if scale is not None else None, scale or 0.0)
        latents[scale] = pipe("a cup of coffee", num_inference_steps=3, output_type="latent",
                              generator=torch.Generator().manual_seed(0)).images
    assert torch.allclose(latents[None], latents[0.0], atol=1e-6)  # scale 0: the base model
    assert not torch.allclose(latents[None], latents[1.0], atol=1e-3)
    assert curate("sample", bundled, "--lora", adapter, "--lora-scale", 0.5, "--prompt", "a cup of coffee",
                  "--seeds", "0", "--steps", 2, "--out", tmp_path / "samples") == 0
    (row,) = manifest.read_table(Workspace(tmp_path / "samples"), "samples").to_pylist()
    assert (tmp_path / "samples" / row["path"]).exists() and "lora" in row["model"]
    assert curate("sample", bundled, "--lora", tmp_path, "--prompt", "x", "--out", tmp_path / "s2") == 2
    assert "no pytorch_lora_weights.safetensors" in capsys.readouterr().err
    assert curate("train", dataset, "--out", tmp_path / "te", "--base", bundled, "--lora", 2, "--lora-text-encoder",
                  "--steps", 1) == 2  # MiniLM stays frozen: one line, before any training
    err = capsys.readouterr().err
    assert "--lora-text-encoder adapts a CLIP text encoder" in err and len(err.strip().splitlines()) == 1


@needs_peft
def test_lora_resume_continues_bit_for_bit(dataset, sd_base, tmp_path):
    args = ["--base", sd_base, "--lora", 2, "--batch-size", 4, "--checkpoint-every", 2, "--learning-rate", 1e-2]
    assert curate("train", dataset, "--out", tmp_path / "straight", "--steps", 4, *args) == 0
    assert curate("train", dataset, "--out", tmp_path / "split", "--steps", 2, *args) == 0
    assert curate("train", dataset, "--out", tmp_path / "split", "--steps", 4, "--resume", *args) == 0
    from safetensors.torch import load_file

    a, b = (load_file(tmp_path / run / lora.WEIGHTS) for run in ("straight", "split"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_adamw8bit_keeps_8_bit_moments_and_resumes_bit_for_bit(dataset, sd_base, tmp_path):
    """bitsandbytes' 8-bit AdamW (it runs on a CPU too): its moments are uint8 in the
    safetensors checkpoint (bitsandbytes keeps tensors under 4,096 values in fp32, so this is
    a full fine-tune: a tiny LoRA has none that large), and a resumed run ends where an
    uninterrupted one does."""
    pytest.importorskip("bitsandbytes")
    from safetensors import safe_open
    from safetensors.torch import load_file

    args = ["--base", sd_base, "--batch-size", 4, "--checkpoint-every", 2, "--learning-rate", 1e-3]
    runs = {"straight": 4, "split": 2}
    for run, steps in runs.items():
        assert curate("train", dataset, "--out", tmp_path / run, "--steps", steps, "--optimizer", "adamw8bit", *args) == 0
    assert curate("train", dataset, "--out", tmp_path / "split", "--steps", 4, "--resume", "--optimizer", "adamw8bit", *args) == 0
    assert curate("train", dataset, "--out", tmp_path / "fp32", "--steps", 4, *args) == 0
    a, b, fp32 = (load_file(tmp_path / run / "unet" / "diffusion_pytorch_model.safetensors") for run in ("straight", "split", "fp32"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], fp32[k]) for k in a)  # another optimizer: other weights
    with safe_open(next((tmp_path / "straight" / "checkpoints").glob("*.safetensors")), "pt") as f:
        moments = {f.get_slice(k).get_dtype() for k in f.keys() if k.startswith("/optimizer/state/")}
    assert "U8" in moments


def test_bad_adaptation_input_is_one_line_exit_2(dataset, sd_base, tmp_path, capsys):
    not_diffusers = tmp_path / "nd"
    shutil.copytree(sd_base / "unet", not_diffusers)  # weights, but no pipeline around them
    vae_pipeline = tmp_path / "other"
    shutil.copytree(sd_base, vae_pipeline)
    (vae_pipeline / "model_index.json").write_text('{"_class_name": "KandinskyPipeline"}')
    no_unet = tmp_path / "no-unet"  # says it is a Stable Diffusion folder, but a part is missing
    shutil.copytree(sd_base, no_unet)
    shutil.rmtree(no_unet / "unet")
    cases = [(["--base", not_diffusers], "is not a diffusers Stable Diffusion (XL) checkpoint"),
             (["--base", vae_pipeline], "a KandinskyPipeline folder"),
             (["--base", no_unet], "cannot load it as a StableDiffusionPipeline"),
             (["--base", tmp_path / "nowhere"], "no readable model_index.json"),
             (["--base", sd_base, "--lora", 0], "rank must be a positive integer"),
             (["--base", sd_base, "--lora", -4], "rank must be a positive integer"),
             (["--lora", 4], "give it --base"),
             (["--base", sd_base, "--lora-text-encoder"], "give it --lora RANK"),
             (["--region-weights", "feet=2"], "unknown region 'feet'"),
             (["--region-weights", "hands=lots"], "expected NAME=NUMBER"),
             (["--region-weights", "hands=0"], "must be above 0")]
    for argv, needle in cases:
        assert curate("train", dataset, "--out", tmp_path / "m", "--steps", 1, *argv) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_weight_map_follows_the_crop_and_keeps_a_mean_of_one():
    from PIL import Image

    from curate_model.data import fit

    # a 200x100 image fitted to 32x32: scaled by 0.32 to 64x32, 16 px cut off each side
    box = [100, 20, 150, 60]
    image = Image.new("L", (200, 100))
    image.paste(255, box)
    seen = np.asarray(fit(image.convert("RGB"), (32, 32)))[..., 0] > 127
    weights = regions.pixel_map([(box, 3.0), ([0, 0, 10, 10], 2.0)], (200, 100), (32, 32))  # 2nd box: cropped away
    assert weights.shape == (32, 32) and set(np.unique(weights)) == {1.0, 3.0}
    inside = weights == 3.0
    assert (inside & seen).sum() >= 0.8 * seen.sum() and (inside & ~seen).sum() <= 0.3 * seen.sum()
    # overlapping boxes merge (the larger weight), they do not add up
    merged = regions.pixel_map([([0, 0, 100, 100], 2.0), ([50, 50, 100, 100], 3.0)], (100, 100), (8, 8))
    assert merged.max() == 3.0 and (merged == 2.0).sum() == 48
    grid = regions.on_grid(torch.from_numpy(np.stack([weights, np.ones_like(weights)]))[:, None], (16, 16))
    assert grid.shape == (2, 1, 16, 16)
    assert torch.allclose(grid.mean(dim=(1, 2, 3)), torch.ones(2))
    assert torch.equal(grid[1], torch.ones(1, 16, 16))  # no boxes: weight 1 everywhere


def test_caption_boxes_by_region():
    caption = {"people": [{"box": [0, 0, 100, 200], "face": True, "body": "full",
                           "arms": [{"side": "left", "visible": True, "hand": {"box": [5, 90, 20, 110], "visible": True}},
                                    {"side": "right", "visible": False, "hand": None}]},
                          {"box": [200, 0, 240, 40], "face": True, "body": "head", "arms": []}],
               "hands": [{"box": [300, 300, 320, 320]}], "text": [{"text": "HOTEL", "box": [1, 2, 3, 4]}]}
    boxes = regions.caption_boxes(caption)
    assert boxes["hands"] == [[5, 90, 20, 110], [300, 300, 320, 320]]
    assert boxes["faces"] == [[35.0, 0, 65.0, 30.0], [200.0, 0, 240.0, 40.0]]  # top 15% of a full body; a head box
    assert boxes["people"] == [[0, 0, 100, 200], [200, 0, 240, 40]] and boxes["text"] == [[1, 2, 3, 4]]


def write_hand_captions(dataset) -> None:
    """A captions table written by the test: every picture keeps its caption and gets one hand
    box, the middle third of its width and height (what a hand detector would have written)."""
    ws = Workspace.open(dataset)
    for part in ws.partition_names("images"):
        rows = [{"id": r["id"], "status": "ok", "captioner": "test", "short": r["text"], "dense": r["text"],
                 "caption": {"summary": r["text"], "hands": [{"box": [r["width"] // 3, r["height"] // 3,
                                                                      2 * r["width"] // 3, 2 * r["height"] // 3],
                                                              "visible": True}]}}
                for r in manifest.read_partition(ws.partition("images", part)).to_pylist() if r["status"] == "ok"]
        manifest.write_partition(ws, "captions", part, rows)


def region_errors(dataset, model_dir, weights="hands=2") -> tuple[float, float]:
    from curate_model.region_loss import inside_outside
    from curate_model.sample import load_pipeline

    return inside_outside(Workspace.open(dataset), load_pipeline(model_dir), regions.parse(weights))


def test_region_weights_make_the_loss_in_hand_boxes_fall_faster(dataset, tmp_path, capsys):
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    write_hand_captions(copy)
    args = ["--steps", 60, "--checkpoint-every", 1000, "--seed", 3]
    assert curate("train", copy, "--out", tmp_path / "plain", *args) == 0
    assert curate("train", copy, "--out", tmp_path / "hands", *args, "--region-weights", "hands=4") == 0
    assert "hands=4" in (tmp_path / "hands" / "README.md").read_text()  # the card records the weights
    plain, hands = region_errors(copy, tmp_path / "plain"), region_errors(copy, tmp_path / "hands")
    print(f"inside / outside the hand boxes after 60 steps: plain {plain}, hands=4 {hands}")
    assert hands[0] < plain[0]  # the weighted run learned the hand boxes better...
    assert hands[0] / hands[1] < plain[0] / plain[1]  # ...at the cost of the rest, not by luck of the seed


def test_region_weights_on_a_dataset_without_captions_say_so_and_weigh_1(dataset, tmp_path, capsys):
    assert curate("train", dataset, "--out", tmp_path / "m", "--steps", 1, "--region-weights", "hands=3") == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "no caption" in line]
    assert warned == ["W curate.train: region weights: 8 of 8 images have no caption (run `curate caption` first); "
                      "they weigh 1 everywhere"]


def test_cached_encodings_are_read_by_a_second_run_with_the_same_loss(dataset, sd_base, tmp_path):
    import json

    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    args = ["--base", sd_base, "--steps", 3, "--batch-size", 4, "--learning-rate", 1e-3, "--checkpoint-every", 2]
    results = []
    for run, flags in (("first", ["--cache-encodings"]), ("second", ["--cache-encodings"]), ("uncached", [])):
        assert curate("train", copy, "--out", tmp_path / run, *args, *flags) == 0
        results.append(json.loads((tmp_path / run / "training.json").read_text())["result"])
    first, second, uncached = results
    files = sorted(p.name.split("-")[0] for p in (copy / "cache" / "train").iterdir())
    assert files == ["latents", "text"]
    assert first["encodings"]["latents"]["read"] == 0 and first["encodings"]["latents"]["computed"] > 0 and first["encodings"]["text"]["computed"] > 0
    assert second["encodings"]["latents"]["computed"] == 0 and second["encodings"]["text"]["computed"] == 0
    assert second["encodings"]["latents"]["read"] == first["encodings"]["latents"]["computed"]
    assert first["final_loss"] == second["final_loss"] == uncached["final_loss"]  # cached or not, the same numbers
    assert "encodings" not in uncached


def test_bf16_and_gradient_checkpointing_train_on_cpu(dataset, tmp_path):
    import json

    def loss(name, *flags):
        assert curate("train", dataset, "--out", tmp_path / name, "--steps", 2, "--checkpoint-every", 100, *flags) == 0
        return json.loads((tmp_path / name / "training.json").read_text())["result"]["final_loss"]

    plain = loss("plain")
    assert loss("ckpt", "--gradient-checkpointing") == pytest.approx(plain, rel=1e-5)  # recomputed, same numbers
    bf16 = loss("bf16", "--mixed-precision", "bf16")
    assert bf16 != plain and bf16 == pytest.approx(plain, rel=0.1)  # lower precision, same training


def test_gpu_options_that_cannot_run_here_say_so(dataset, tmp_path, capsys, monkeypatch):
    import importlib.util

    cases = [(["--mixed-precision", "fp8"], "invalid choice"), (["--optimizer", "adamw8bit"], "needs bitsandbytes")]
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else find_spec(name, *a))
    for argv, needle in cases:
        assert curate("train", dataset, "--out", tmp_path / "m", "--steps", 1, *argv) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1, (argv, err)
    monkeypatch.setenv("WORLD_SIZE", "2")  # several processes, but no launcher started them (tests/test_distributed.py)
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    assert curate("train", dataset, "--out", tmp_path / "m", "--steps", 1) == 2
    err = capsys.readouterr().err
    assert "no launcher" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()
