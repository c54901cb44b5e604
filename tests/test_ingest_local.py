"""Ingest from folders and tar/WebDataset archives, hostile ones included."""

import io
import shutil
import tarfile

from tests import hostile
from tests.helpers import by_url, curate


def test_folder_with_sidecars_and_broken_files(tmp_path, real_images):
    src = tmp_path / "photos"
    (src / "nested").mkdir(parents=True)
    shutil.copy(real_images[0], src / "a.jpg")
    (src / "a.txt").write_text("a real photo\n")
    shutil.copy(real_images[1], src / "nested" / "b.jpg")
    (src / "nested" / "b.json").write_text('{"caption": "from json", "license": "CC-BY-4.0"}')
    (src / "notes.md").write_text("not an image")
    broken = hostile.write_files(src, real_images[0])

    assert curate("ingest", tmp_path / "ds", "--folder", src) == 0

    rows = {r["url"].rsplit("/", 1)[1]: r for r in by_url(tmp_path / "ds").values()}
    assert sorted(rows) == sorted(["a.jpg", "b.jpg", *broken])
    assert rows["a.jpg"]["text"] == "a real photo" and rows["a.jpg"]["status"] == "ok"
    assert (rows["b.jpg"]["text"], rows["b.jpg"]["license"]) == ("from json", "CC-BY-4.0")
    assert all(r["source"] == f"folder:{src}" for r in rows.values())
    assert {name: rows[name]["status"] for name in broken} == broken


def _add(tf: tarfile.TarFile, name: str, data: bytes = b"", **fields) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in fields.items():
        setattr(info, k, v)
    tf.addfile(info, io.BytesIO(data) if data else None)


def test_tar_reads_members_and_refuses_escapes(tmp_path, real_images):
    good = real_images[0].read_bytes()
    archive = tmp_path / "shard.tar"
    with tarfile.open(archive, "w") as tf:
        _add(tf, "000001.jpg", good)
        _add(tf, "000001.txt", b"webdataset caption")
        _add(tf, "dir/000002.jpg", real_images[1].read_bytes())
        _add(tf, "dir/000002.json", b'{"text": "json caption"}')
        _add(tf, "../escape.jpg", good)
        _add(tf, "/abs/root.jpg", good)
        _add(tf, "link.jpg", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        _add(tf, "hard.jpg", type=tarfile.LNKTYPE, linkname="000001.jpg")
        _add(tf, "zero.jpg", b"")
        _add(tf, "big.jpg", b"\0" * 300_000)
    workdir = tmp_path / "work"
    workdir.mkdir()

    assert curate("ingest", workdir / "ds", "--tar", tmp_path / "*.tar", "--max-bytes", 200_000) == 0

    rows = {r["url"].split("!/", 1)[1]: r for r in by_url(workdir / "ds").values()}
    assert set(rows) == {"000001.jpg", "dir/000002.jpg", "../escape.jpg", "/abs/root.jpg", "link.jpg",
                         "hard.jpg", "zero.jpg", "big.jpg"}
    assert rows["000001.jpg"]["status"] == "ok" and rows["000001.jpg"]["text"] == "webdataset caption"
    assert rows["dir/000002.jpg"]["text"] == "json caption"
    for name in ("../escape.jpg", "/abs/root.jpg"):
        assert rows[name]["status"] == "download_failed" and "unsafe" in rows[name]["error"]
    for name in ("link.jpg", "hard.jpg"):
        assert rows[name]["status"] == "download_failed" and "link" in rows[name]["error"]
    assert rows["zero.jpg"]["status"] == "decode_failed"
    assert rows["big.jpg"]["status"] == "download_failed" and "--max-bytes" in rows["big.jpg"]["error"]
    assert not (tmp_path / "escape.jpg").exists() and not (workdir / "escape.jpg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard.tar", "work"]


def test_unreadable_archive_is_a_user_error(tmp_path, capsys):
    (tmp_path / "bad.tar").write_bytes(b"this is not a tar archive at all" * 50)
    assert curate("ingest", tmp_path / "ds", "--tar", tmp_path / "bad.tar") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("curate ingest: error: archive") and "\n" not in err
