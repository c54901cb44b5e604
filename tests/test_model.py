"""The bundled model: trains on a manifest query, samples, saves, resumes bit for bit."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import curate as curate_package
from curate import manifest
from curate.raw import decode, read_shard_images, to_rgb
from curate.workspace import Workspace
from curate_model.pipeline import PIPELINE_FILE
from curate_model.sample import load_pipeline
from tests.helpers import curate, ingest_corpus

# Eight real pictures with distinct looks, and captions that tell them apart.
PICTURES = {
    "cv_baboon.jpg": "a baboon face with a red and blue nose",
    "sk_coffee.jpg": "a cup of coffee on a saucer",
    "sk_chelsea.jpg": "a tabby cat looking to the side",
    "sk_rocket.jpg": "a rocket on the launch pad",
    "cv_fruits.jpg": "a pile of fruits on a table",
    "sk_astronaut.jpg": "an astronaut in front of a flag",
    "cv_text_hotel.jpg": "a hotel sign at night",
    "oc_blueman_waving.png": "a blue man waving",
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return ingest_corpus(tmp_path_factory.mktemp("model") / "ds", PICTURES, PICTURES)


@pytest.fixture(scope="module")
def short_model(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("short") / "model"
    assert curate("train", dataset, "--out", out, "--steps", 6, "--checkpoint-every", 3, "--grad-accum", 2) == 0
    return out


def test_trained_folder_is_a_diffusers_pipeline(short_model):
    for part in ("model_index.json", "unet/config.json", "scheduler/scheduler_config.json", "README.md", "loss.png",
                 PIPELINE_FILE):
        assert (short_model / part).exists(), part
    assert "true" in (short_model / "README.md").read_text()  # the manifest query is in the card
    index = json.loads((short_model / "model_index.json").read_text())
    assert index["_class_name"] == ["curate_pipeline", "CuratePipeline"]
    pipe = load_pipeline(short_model)
    assert pipe.vae is None and pipe.text_encoder.config.hidden_size == 384


def test_plain_diffusers_loads_and_samples_the_folder(short_model, tmp_path):
    """A fresh Python that imports diffusers and nothing of curate's: the folder's own pipeline
    file is all it needs, and the venv's start-up hook (the .pth that setup.sh installs into
    site-packages; here the same file, put on a site dir of its own) repairs torchvision."""
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    shutil.copy(Path(curate_package.__file__).parent / "torchvision.pth", site_dir / "curate-torchvision.pth")
    script = f"""
import site, sys
site.addsitedir({str(site_dir)!r})
import torch
from diffusers import DiffusionPipeline
pipe = DiffusionPipeline.from_pretrained({str(short_model)!r}, trust_remote_code=True, low_cpu_mem_usage=False)
image = pipe("a cup of coffee", num_inference_steps=2, generator=torch.Generator().manual_seed(0)).images[0]
ours = sorted(m for m in sys.modules if m.split(".")[0] in ("curate", "model"))
print(type(pipe).__name__, image.size, ours)
"""
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == ("CuratePipeline (32, 32) "
                                           "['curate', 'curate.torchvision_compat', 'curate.torchvision_hook']")


def test_save_then_load_gives_identical_samples(short_model, tmp_path):
    pipe = load_pipeline(short_model)
    pipe.save_pretrained(tmp_path / "copy")
    again = load_pipeline(tmp_path / "copy")
    a = pipe("a cup of coffee", generator=torch.Generator().manual_seed(3), num_inference_steps=8).images[0]
    b = again("a cup of coffee", generator=torch.Generator().manual_seed(3), num_inference_steps=8).images[0]
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_sample_writes_pngs_sheet_and_manifest(short_model, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a cup of coffee\na rocket on the launch pad\n")
    out = tmp_path / "samples"
    assert curate("sample", short_model, "--prompts", prompts, "--seeds", "0-2", "--steps", 5,
                  "--scheduler", "dpm", "--out", out) == 0
    assert len(list(out.glob("*.png"))) == 6 + 1 and (out / "contact_sheet.png").exists()
    capsys.readouterr()
    assert curate("query", out, "SELECT count(*) AS n, count(DISTINCT seed) AS seeds FROM samples",
                  "--format", "json") == 0
    assert capsys.readouterr().out.strip() == '{"n": 6, "seeds": 3}'


def test_sample_log_piped_is_plain_lines_and_quiet_is_silent(short_model, tmp_path):
    """As in a log file: progress as a few plain lines; with -q (after the verb), nothing at all,
    the libraries' bars and INFO lines included."""
    def run(*extra):
        argv = [sys.executable, "-m", "curate.cli", "sample", str(short_model), "--prompt", "a cup of coffee",
                "--seeds", "0-1", "--steps", 2, "--out", str(tmp_path / f"samples{len(extra)}"), *extra]
        done = subprocess.run(list(map(str, argv)), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stderr

    piped = run()
    assert "\r" not in piped and len(piped) < 2000 and "sample: 2/2 img" in piped, piped
    assert run("-q") == ""


def _unet_weights(folder):
    return load_pipeline(folder).unet.state_dict()


def _train_command(dataset, out, *args) -> list[str]:
    # Every run in a fresh process of its own, as a user runs them: the same environment for
    # all three (thread pools and other process state left by earlier tests cannot differ).
    return [sys.executable, "-m", "curate.cli", "--quiet", "train", str(dataset), "--out", str(out), *map(str, args)]


def test_grain_measures_pixel_scale_noise():
    from curate_model.grain import grain

    rng = np.random.default_rng(0)
    smooth = np.kron(rng.random((4, 4, 3)), np.ones((8, 8, 1))).astype(np.float32)  # 32 px picture of blocks
    noisy = (smooth + rng.normal(0, 0.1, smooth.shape)).clip(0, 1).astype(np.float32)
    assert grain(noisy) > 2 * grain(smooth)
    image = Image.fromarray((smooth * 255).round().astype(np.uint8))
    assert grain(image) == pytest.approx(grain(np.asarray(image, np.float32) / 255))


def test_low_frequency_guidance_leaves_pixel_scale_differences_unamplified():
    from curate_model.pipeline import low_frequency_guidance

    cond = torch.randn(1, 3, 32, 32)
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2 * 2 - 1.0  # pixel-scale pattern
    shift = torch.full((1, 3, 32, 32), 0.5)  # a difference in content: the same everywhere
    uncond = cond - shift - checker
    plain = low_frequency_guidance(uncond, cond, 3.0, 1)
    assert torch.allclose(plain, uncond + 3.0 * (cond - uncond), atol=1e-5)  # pool 1: ordinary guidance
    pooled = low_frequency_guidance(uncond, cond, 3.0, 4)
    assert torch.allclose(pooled, cond + 2.0 * shift, atol=1e-5)  # the checkerboard is not amplified


def test_guidance_acts_only_up_to_guidance_until(short_model):
    pipe = load_pipeline(short_model)

    def draw(**kw):
        return pipe(PICTURES["sk_coffee.jpg"], num_inference_steps=6, generator=torch.Generator().manual_seed(0),
                    output_type="latent", **kw).images

    unguided = draw(guidance_scale=1.0, guidance_until=1.0)  # one batch of two: float sums differ a little
    assert (draw(guidance_scale=3.0, guidance_until=0.0) - unguided).abs().max() < 5e-3
    everywhere, default = draw(guidance_scale=3.0, guidance_until=1.0), draw(guidance_scale=3.0)
    assert (default - everywhere).abs().max() > 0.05 and (default - unguided).abs().max() > 0.05


def test_killed_then_resumed_matches_an_uninterrupted_run(dataset, tmp_path):
    args = ["--checkpoint-every", 4, "--seed", 7]
    subprocess.run(_train_command(dataset, tmp_path / "straight", "--steps", 12, *args), check=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_train_command(dataset, killed, "--steps", 1000, *args))
    deadline = time.monotonic() + 300
    while not list((killed / "checkpoints").glob("step-*.safetensors")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "model_index.json").exists(), "the kill must land before the run finished"

    subprocess.run(_train_command(dataset, killed, "--steps", 12, *args, "--resume"), check=True)
    a, b = _unet_weights(tmp_path / "straight"), _unet_weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_on_another_selection_is_refused(dataset, short_model, tmp_path, capsys):
    copy, model = tmp_path / "ds", tmp_path / "model"
    shutil.copytree(dataset, copy)
    shutil.copytree(short_model, model)
    assert curate("train", copy, "--out", model, "--steps", 8, "--resume", "--where", "width >= 400") == 2
    assert "has changed since the checkpoints" in capsys.readouterr().err


@pytest.mark.parametrize("argv,needle", [
    (["--where", "width < 0"], "selects no images"),
    (["--where", "nonsense_column > 1"], "query failed"),
    (["--text-encoder", "/no/such/encoder"], "unknown text encoder"),
    (["--preset", "huge"], "invalid choice"),
])
def test_bad_training_input_is_one_line_exit_2(dataset, tmp_path, capsys, argv, needle):
    rc = curate("train", dataset, "--out", tmp_path / "m", "--steps", 1, *argv)
    assert rc == 2 and needle in capsys.readouterr().err


def test_training_reads_curated_shards_and_recuts_a_lost_one(dataset, tmp_path, capsys):
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    ws = Workspace(copy)
    assert curate("shard", copy, "--per-shard", 3) == 0
    lost = ws.shards / "train" / "00001.tar"
    lost.unlink()
    assert curate("train", copy, "--out", tmp_path / "m", "--steps", 1) == 0  # cut again from the raw shards
    assert lost.exists() and len(list((ws.shards / "train").glob("*.tar"))) == 3  # the set `curate shard` cut
    assert "shards/train" in (tmp_path / "m" / "README.md").read_text()
    # with the curated set and a raw shard gone, there is nothing to train on: one line, exit 2
    shutil.rmtree(ws.shards / "train")
    next(ws.raw.glob("*.tar")).unlink()
    assert curate("train", copy, "--out", tmp_path / "m2", "--steps", 1) == 2
    assert "is missing" in capsys.readouterr().err


def _stored_images(dataset) -> list[Image.Image]:
    """The eight pictures as the trainer saw them: decoded from the dataset's raw shards."""
    ws = Workspace.open(dataset)
    rows = {r["url"].rsplit("/", 1)[1]: r for r in manifest.read_table(ws, "images").to_pylist()}
    return [to_rgb(decode(read_shard_images(ws, rows[n]["shard"], [rows[n]["key"]])[rows[n]["key"]]))
            for n in PICTURES]


def _sample_to_image_mse(dataset, model_dir, guidance: float) -> np.ndarray:
    """(8, 8) pixel MSE: row i is the sample prompted with caption i (at its image's bucket size),
    column j the stored image j fitted to that size."""
    from curate_model.data import bucket_of, buckets, fit

    pipe = load_pipeline(model_dir)
    originals = _stored_images(dataset)
    rows = []
    for i, caption in enumerate(PICTURES.values()):
        width, height = buckets(32)[bucket_of(*originals[i].size)]
        sample = pipe(caption, generator=torch.Generator().manual_seed(0), width=width, height=height,
                      guidance_scale=guidance).images[0]
        sample = np.asarray(sample, np.float32)
        rows.append([((sample - np.asarray(fit(o, (width, height)), np.float32)) ** 2).mean() for o in originals])
    return np.array(rows)


@pytest.mark.slow
def test_overfit_tiny_model_samples_its_own_training_images(dataset, tmp_path):
    """Trainer, text conditioning and sampler work together: prompted with a training caption,
    the model draws that caption's image, not another one. Measured margins (README 'Train')
    are well clear of these bounds; chance would put one sample of eight nearest its image."""
    out = tmp_path / "model"
    assert curate("train", dataset, "--out", out, "--steps", 800) == 0  # 8/8 at both guidances (README)
    off_diagonal = ~np.eye(8, dtype=bool)
    # guidance 1: the conditional model alone; 3: the sampler's default (with guidance rescale)
    for guidance, least_nearest, most_ratio in ((1.0, 7, 0.5), (3.0, 6, 0.8)):
        mse = _sample_to_image_mse(dataset, out, guidance)
        nearest = int((mse.argmin(axis=1) == np.arange(8)).sum())
        ratio = mse.diagonal().mean() / mse[off_diagonal].mean()
        print(f"guidance {guidance}: {nearest}/8 nearest their own image; MSE to own / to others {ratio:.2f}")
        assert nearest >= least_nearest and ratio <= most_ratio, (guidance, nearest, ratio)


def test_latent_space_with_a_local_vae_and_text_encoder(dataset, tmp_path):
    """Loading code only: a tiny random VAE and BERT text encoder written by the test (never a
    default), trained two steps on and sampled from."""
    from diffusers import AutoencoderKL
    from transformers import BertConfig, BertModel, BertTokenizer

    vae_dir, text_dir = tmp_path / "vae", tmp_path / "text"
    AutoencoderKL(block_out_channels=(32, 32), down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=32,
                  sample_size=32).save_pretrained(vae_dir)
    text_dir.mkdir()
    (text_dir / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cup", "of",
                                                  "coffee", "cat"]) + "\n")
    BertTokenizer(str(text_dir / "vocab.txt")).save_pretrained(text_dir)
    BertModel(BertConfig(vocab_size=10, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(text_dir)
    out = tmp_path / "model"
    assert curate("train", dataset, "--out", out, "--steps", 2, "--vae", vae_dir, "--text-encoder", text_dir) == 0
    pipe = load_pipeline(out)
    assert pipe.vae is not None and pipe.unet.config.in_channels == 4 and pipe.unet.config.sample_size == 16
    image = pipe("a cup of coffee", num_inference_steps=2, generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (32, 32)
