"""`curate embed`: real EfficientNet-Lite vectors, fingerprints, the FAISS index, other backends."""

import json
import queue
import shutil

import numpy as np
import pytest
from PIL import Image

from curate import embed, embedders, index, manifest
from curate.errors import UserError
from curate.workspace import Workspace
from tests.helpers import curate, images


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, real_images):
    """12 real images plus a byte-identical copy of one, ingested in 3 shards."""
    root = tmp_path_factory.mktemp("embed")
    src = root / "src"
    src.mkdir()
    for f in real_images:
        shutil.copy(f, src / f.name)
    shutil.copy(real_images[0], src / "zz_copy.jpg")
    assert curate("ingest", root / "ds", "--folder", src, "--number-sample-per-shard", 5) == 0
    assert curate("embed", root / "ds") == 0
    return root / "ds"


def test_one_normalised_vector_per_distinct_image(dataset):
    ws = Workspace.open(dataset)
    distinct = {r["id"] for r in images(dataset) if r["status"] == "ok"}
    table = manifest.read_table(ws, "embeddings")
    # Per shard, one row per id; a copy in another shard repeats its row, the index does not.
    assert set(table.column("id").to_pylist()) == distinct and table.num_rows == len(distinct) + 1
    assert index.load(ws, "efficientnet-lite0")[2]["count"] == len(distinct)
    assert set(table.column("embedder").to_pylist()) == {"efficientnet-lite0"}
    vectors = np.array(table.column("vector").to_pylist(), dtype=np.float32)
    assert vectors.shape[1] == 1280 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    hashes = manifest.read_table(ws, "hashes")  # written by ingest
    assert set(hashes.column("id").to_pylist()) == distinct


def test_index_answers_nearest_neighbours(dataset):
    ws = Workspace.open(dataset)
    faiss_index, ids, meta = index.load(ws, "efficientnet-lite0")
    assert meta["type"] == "IndexFlatIP" and meta["count"] == len(ids) == faiss_index.ntotal
    _, id_list, vectors = None, *index.read_vectors(ws, "efficientnet-lite0", meta["shards"])
    sims, found = faiss_index.search(vectors[:3], 1)
    assert [ids[i] for i in found[:, 0]] == id_list[:3] and np.allclose(sims[:, 0], 1, atol=1e-4)


def test_real_weights_tell_photos_apart(dataset):
    """Different real photos are far apart; a real photo and its resized copy are close."""
    ws = Workspace.open(dataset)
    model = embedders.load("efficientnet-lite0")
    ids, vectors = index.read_vectors(ws, "efficientnet-lite0", index.embedded_shards(ws, "efficientnet-lite0"))
    sims = vectors @ vectors.T
    off_diagonal = sims[~np.eye(len(sims), dtype=bool)]
    assert np.median(off_diagonal) < 0.6
    photo = Image.open(sorted(p for p in (dataset.parent / "src").iterdir())[0]).convert("RGB")
    a, b = embedders.embed_images(model, [photo, photo.resize((photo.width // 2, photo.height // 2))])
    assert a @ b > 0.9


def test_batches_keep_order_whatever_their_size(dataset):
    """Chunks of a batch run on whichever session is free, and the stage batches whatever is
    decoded: neither may reorder or change a vector."""
    model = embedders.cached("efficientnet-lite0", 2)
    photos = [Image.open(p).convert("RGB") for p in sorted((dataset.parent / "src").iterdir())[:11]]
    pixels = np.stack([model.preprocess(p) for p in photos])
    alone = np.concatenate([model.embed_batch(pixels[i:i + 1]) for i in range(len(pixels))])
    assert np.allclose(model.embed_batch(pixels), alone, atol=1e-4)
    ready = queue.Queue()
    for n in range(40):
        ready.put((n, None))
    ready.put(None)
    assert [[n for n, _ in batch] for batch in embed._batches(ready)] == [list(range(32)), list(range(32, 40))]
    ready.put((0, None))
    ready.put(ValueError("a damaged shard"))
    with pytest.raises(ValueError, match="damaged"):
        list(embed._batches(ready))


def test_rerun_and_incremental_index(dataset, tmp_path, real_images, capsys):
    ws = Workspace.open(dataset)
    capsys.readouterr()
    assert curate("embed", dataset) == 0
    assert json.loads(capsys.readouterr().out)["shards_embedded"] == 0
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    extra = tmp_path / "more"
    extra.mkdir()
    Image.open(real_images[1]).convert("RGB").rotate(90, expand=True).save(extra / "rotated.jpg")
    assert curate("ingest", copy, "--folder", extra) == 0
    assert curate("embed", copy) == 0
    _, ids, meta = index.load(Workspace.open(copy), "efficientnet-lite0")
    assert meta["count"] == len(index.load(ws, "efficientnet-lite0")[1]) + 1 and len(ids) == meta["count"]


def test_a_flat_index_that_outgrows_its_limit_becomes_ivf(dataset, tmp_path, monkeypatch):
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    ws = Workspace(copy)
    for path in ws.index.iterdir():
        path.unlink()
    monkeypatch.setattr(index, "FLAT_MAX", 5)
    meta = index.update(ws, "efficientnet-lite0")
    assert meta["type"] == "IndexIVFScalarQuantizer" and meta["nprobe"] >= 1
    faiss_index, ids, _ = index.load(ws, "efficientnet-lite0")
    got_ids, vectors = index.read_vectors(ws, "efficientnet-lite0", meta["shards"])
    sims, found = faiss_index.search(vectors[:1], 1)
    assert ids[found[0, 0]] == got_ids[0] and sims[0, 0] > 0.95


@pytest.mark.parametrize("cluster", ["local:2", "tcp"])
def test_dask_embeds_the_same_vectors_and_index(dataset, tmp_path, request, cluster):
    """On a Dask LocalCluster and on a cluster started with `dask scheduler` / `dask worker`:
    the same vectors, and the index they fill answers searches as the in-process one does."""
    address = request.getfixturevalue("dask_address") if cluster == "tcp" else cluster
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    for p in [*Workspace(copy).partitions("embeddings"), *Workspace(copy).index.iterdir()]:
        p.unlink()
    assert curate("embed", copy, "--scheduler", address) == 0

    def rows(ds):
        return sorted(manifest.read_table(Workspace(ds), "embeddings").to_pylist(), key=lambda r: r["id"])

    a, b = rows(dataset), rows(copy)
    assert [r["id"] for r in a] == [r["id"] for r in b]
    assert np.allclose([r["vector"] for r in a], [r["vector"] for r in b], atol=1e-5)

    def search(ds):
        faiss_index, ids, _ = index.load(Workspace(ds), "efficientnet-lite0")
        _, found = faiss_index.search(np.array([r["vector"] for r in a[:8]], np.float32), 3)
        return [[ids[f] for f in row] for row in found]

    assert search(copy) == search(dataset)


@pytest.mark.parametrize("name,needle", [
    ("resnet-9000", "unknown embedder"),
    ("efficientnet-lite7", "unknown embedder"),
    ("open_clip:ViT-B-32", "expected open_clip:ARCH:PRETRAINED"),
    ("open_clip:ViT-B-32:/no/such/weights.bin", "cannot load"),
    ("hf:/no/such/folder", "not a transformers model folder"),
])
def test_bad_embedder_is_one_line_exit_2(dataset, capsys, name, needle):
    assert curate("embed", dataset, "--embedder", name) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err


def test_dedupe_with_an_embedder_that_has_no_vectors(dataset, capsys):
    assert curate("dedupe", dataset, "--embedder", "efficientnet-lite1") == 2
    assert "no efficientnet-lite1 embedding" in capsys.readouterr().err


def test_index_of_another_embedder_is_refused(dataset, tmp_path):
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    ws = Workspace(copy)
    for suffix in (".faiss", ".ids.parquet"):
        (ws.index / f"efficientnet-lite0{suffix}").rename(ws.index / f"efficientnet-lite1{suffix}")
    with pytest.raises(UserError, match="built with efficientnet-lite0, not efficientnet-lite1"):  # exit 2
        index.load(ws, "efficientnet-lite1")


def test_hf_clip_folder_loads_offline(tmp_path):
    """Loading code only: a tiny random CLIP saved by the test (never a default)."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = CLIPConfig(text_config={**small, "vocab_size": 100}, vision_config={**small, "image_size": 32,
                        "patch_size": 8}, projection_dim=16)
    CLIPModel(config).save_pretrained(tmp_path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    model = embedders.load(f"hf:{tmp_path}")
    vectors = embedders.embed_images(model, [Image.new("RGB", (50, 40), "red"), Image.new("RGBA", (20, 60))])
    assert model.dim == 16 and vectors.shape == (2, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_open_clip_weights_file_loads_offline(tmp_path):
    """Loading code only: a tiny random OpenCLIP config and weights file written by the test."""
    import open_clip
    import torch

    config = {"embed_dim": 16,
              "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
              "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
    (tmp_path / "curate-tiny.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path / "curate-tiny.json")
    model = open_clip.create_model("curate-tiny", pretrained=None)
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    loaded = embedders.load(f"open_clip:curate-tiny:{tmp_path / 'tiny.pt'}")
    assert loaded.dim == 16
    image_vec = embedders.embed_images(loaded, [Image.new("RGB", (40, 40), "green")])
    text_vec = loaded.embed_texts(["a green square"])
    assert image_vec.shape == text_vec.shape == (1, 16)
