"""Inputs that hang, never end or break a decoder: each is one row with its reason, bounded.

Runs that could hang or fill memory if a bound regressed (FIFOs, /dev/zero, servers that never
end) run the CLI in a child process with a wall-clock timeout and an address-space limit.
"""

import csv
import io
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image, features

from curate.raw import decode, read_member
from curate.workspace import Workspace
from tests.helpers import curate, images

MEMORY_LIMIT = 4 << 30  # address space of the child: ingest needs ~1 GiB of it at 4 threads


def bounded_ingest(dataset, *args, timeout=90) -> None:
    """`curate ingest` in a child that cannot outlive `timeout` (its pool workers with it) or
    grow past MEMORY_LIMIT."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "curate.cli", "--quiet", "ingest", str(dataset), *map(str, args),
         "--thread-count", "4", "--processes-count", "1"],
        preexec_fn=limit, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"ingest still running after {timeout} s: a read without a ceiling")
    assert proc.returncode == 0, err[-2000:]


def by_name(dataset) -> dict[str, dict]:
    return {r["url"].rsplit("/", 1)[1]: r for r in images(dataset)}


def test_folder_reads_regular_files_only(tmp_path, real_images):
    src = tmp_path / "photos"
    src.mkdir()
    outside = tmp_path / "outside.jpg"
    shutil.copy(real_images[1], outside)
    before = outside.read_bytes()
    shutil.copy(real_images[0], src / "good.jpg")
    (src / "zero.jpg").symlink_to("/dev/zero")
    os.mkfifo(src / "pipe.jpg")
    os.mkfifo(src / "good.txt")  # a caption file that would block its reader
    (src / "outside.jpg").symlink_to(outside)
    (src / "inside.jpg").symlink_to("good.jpg")
    (src / "broken.jpg").symlink_to("nowhere.jpg")
    (src / "big.png").write_bytes(b"\0" * 300_000)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(src / "sock.png"))
    try:
        bounded_ingest(tmp_path / "ds", "--folder", src, "--max-bytes", 200_000)
        bounded_ingest(tmp_path / "followed", "--folder", src, "--max-bytes", 200_000, "--follow-links")
    finally:
        sock.close()

    rows = by_name(tmp_path / "ds")
    assert sorted(rows) == ["big.png", "broken.jpg", "good.jpg", "inside.jpg", "outside.jpg", "pipe.jpg",
                            "sock.png", "zero.jpg"]
    assert {n: rows[n]["status"] for n in ("good.jpg", "inside.jpg")} == {"good.jpg": "ok", "inside.jpg": "ok"}
    assert rows["good.jpg"]["text"] is None, "a FIFO caption file is ignored, not read"
    expected = {"zero.jpg": "outside the folder", "outside.jpg": "outside the folder", "pipe.jpg": "FIFO",
                "sock.png": "socket", "broken.jpg": "broken symbolic link", "big.png": "--max-bytes"}
    for name, reason in expected.items():
        assert rows[name]["status"] == "download_failed" and reason in rows[name]["error"], rows[name]

    followed = by_name(tmp_path / "followed")
    assert followed["outside.jpg"]["status"] == "ok"
    assert followed["zero.jpg"]["status"] == "download_failed" and "character device" in followed["zero.jpg"]["error"]
    assert followed["pipe.jpg"]["status"] == "download_failed"
    assert outside.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "followed", "outside.jpg", "photos"]


def test_urls_that_never_end_stop_at_the_deadline_or_the_byte_limit(tmp_path, fault_server):
    base, root, _ = fault_server
    os.mkfifo(root / "pipe.jpg")
    good = f"{base}/{sorted(p.name for p in root.glob('cv_*.jpg'))[0]}"
    reasons = {
        good: None,
        f"{base}/fault/endless": "--max-bytes",
        f"{base}/fault/huge-length": "Content-Length",
        f"{base}/fault/trickle": "--timeout",
        f"{base}/fault/trickle-headers": "--timeout",
        "file:///dev/zero": "character device",
        (root / "pipe.jpg").as_uri(): "FIFO",
        f"tar:{root / 'pipe.jpg'}!/a.jpg": "FIFO",
    }
    (tmp_path / "urls.txt").write_text("\n".join(reasons) + "\n")

    bounded_ingest(tmp_path / "ds", "--urls", tmp_path / "urls.txt", "--timeout", 2, "--max-bytes", 4 << 20)

    rows = {r["url"]: r for r in images(tmp_path / "ds")}
    assert sorted(rows) == sorted(reasons)
    assert rows[good]["status"] == "ok"
    for url, reason in reasons.items():
        if reason:
            assert rows[url]["status"] == "download_failed" and reason in rows[url]["error"], rows[url]


def test_every_list_row_is_a_row_malformed_urls_included(tmp_path, fault_server):
    base, root, _ = fault_server
    good = f"{base}/{sorted(p.name for p in root.glob('cv_*.jpg'))[0]}"
    urls = {good: None, "": "empty URL", "  ": "empty URL", "photo.jpg": "no scheme",
            "javascript:alert(1)": "'javascript'", "ftp://127.0.0.1/a.jpg": "'ftp'", "http:///a.jpg": "no host",
            "http://[::1/a.jpg": "malformed URL"}
    with open(tmp_path / "urls.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["url", "caption"])
        writer.writerows([u, f"row {i}"] for i, u in enumerate(urls))

    assert curate("ingest", tmp_path / "ds", "--urls", tmp_path / "urls.csv") == 0

    rows = images(tmp_path / "ds")
    assert len(rows) == len(urls)
    by_caption = {r["text"]: r for r in rows}
    for i, (url, reason) in enumerate(urls.items()):
        row = by_caption[f"row {i}"]
        assert row["url"] == url
        if reason is None:
            assert row["status"] == "ok"
        else:
            assert row["status"] == "download_failed" and reason in row["error"], row


def scrambled_jpeg(source) -> bytes:
    """A small baseline JPEG (small enough that img2dataset stores its bytes as they are) whose
    middle third of entropy-coded data is random: SOI and EOI intact."""
    out = io.BytesIO()
    Image.open(source).convert("RGB").resize((200, 150)).save(out, "JPEG", quality=90)
    data = bytearray(out.getvalue())
    sos = data.index(b"\xff\xda")
    start, end = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big"), len(data) - 2
    third = (end - start) // 3
    data[start + third:start + 2 * third] = random.Random(0).randbytes(third)
    return bytes(data)


def test_an_image_only_opencv_decodes_fails_its_row_not_its_shard(tmp_path, real_images):
    bad = scrambled_jpeg(real_images[0])
    assert bad[:2] == b"\xff\xd8" and bad[-2:] == b"\xff\xd9"
    assert cv2.imdecode(np.frombuffer(bad, np.uint8), cv2.IMREAD_UNCHANGED) is not None, "OpenCV must accept it"
    with pytest.raises(OSError):
        decode(bad)
    src = tmp_path / "photos"
    src.mkdir()
    for f in real_images[:3]:
        shutil.copy(f, src / f.name)
    (src / "scrambled.jpg").write_bytes(bad)

    assert curate("ingest", tmp_path / "ds", "--folder", src, "--number-sample-per-shard", 8) == 0

    rows = by_name(tmp_path / "ds")
    assert len(rows) == 4 and len({r["shard"] for r in rows.values()}) == 1
    assert rows["scrambled.jpg"]["status"] == "decode_failed" and rows["scrambled.jpg"]["id"] is None
    assert "does not decode" in rows["scrambled.jpg"]["error"]
    good = [r for n, r in rows.items() if n != "scrambled.jpg"]
    assert all(r["status"] == "ok" for r in good)
    ws = Workspace.open(tmp_path / "ds")
    hashes = pq.read_table(ws.partition("hashes", good[0]["shard"])).column("id").to_pylist()
    assert sorted(hashes) == sorted(r["id"] for r in good)


def test_svg_avif_and_animated_gif_each_get_a_row(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    red, blue = Image.new("RGB", (64, 48), (220, 0, 0)), Image.new("RGB", (64, 48), (0, 0, 220))
    red.save(src / "anim.gif", save_all=True, append_images=[blue], duration=100, loop=0)
    (src / "vector.svg").write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
                                    'width="10" height="10"><rect width="10" height="10"/></svg>\n')
    if features.check("avif"):
        red.save(src / "photo.avif")

    assert curate("ingest", tmp_path / "ds", "--folder", src) == 0

    rows = by_name(tmp_path / "ds")
    gif = rows["anim.gif"]
    assert gif["status"] == "ok" and (gif["original_width"], gif["original_height"]) == (64, 48)
    stored = decode(read_member(Workspace.open(tmp_path / "ds").raw / f"{gif['shard']}.tar", gif["key"]))
    r, _, b = np.asarray(stored.convert("RGB"), dtype=float).mean(axis=(0, 1))
    assert r > 150 and b < 60, "the first frame (red), not the second (blue)"
    assert rows["vector.svg"]["status"] == "unsupported_format" and "SVG" in rows["vector.svg"]["error"]
    if features.check("avif"):
        assert rows["photo.avif"]["status"] == "ok" and rows["photo.avif"]["width"] == 64
