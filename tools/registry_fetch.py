"""Fetch pinned registry packages into a scratch folder, shared by the data-building tools.

Debian packages come down with ``apt-get download`` + ``dpkg -x`` (build_corpus.fetch_deb);
GCompris keeps its pictures inside Qt resource bundles (``.rcc``), which ``rcc_files`` unpacks.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_corpus import fetch_deb  # noqa: E402  (one way to fetch a .deb)

DEBS = {  # name -> pinned version (Debian 12 "bookworm")
    "opencv-doc": "4.6.0+dfsg-12",
    "openclipart-png": "1:0.18+dfsg-19",
    "gcompris-qt-data": "3.1-2",
    "gnome-backgrounds": "43.1-1",
    "mate-backgrounds": "1.26.0-1",
    "plasma-workspace-wallpapers": "4:5.27.5-2",
    "gimp-help-en": "2.10.34-2",
    "wesnoth-1.16-data": "1:1.16.9-1",
    "lincity-ng-data": "2.9~git20150314-5",
    "r-doc-pdf": "4.2.2.20221110-2",
    "palapeli-data": "4:22.12.3-1",
}


def deb(name: str, tmp: str) -> str:
    """The extracted root of one pinned Debian package (fetched once per scratch folder)."""
    root = os.path.join(tmp, name)
    if not os.path.isdir(root):
        fetch_deb(name, DEBS[name], tmp)
    return root


def rcc_files(blob: bytes):
    """(path, bytes) for every file in a Qt resource bundle (format versions 1-3, zlib or stored)."""
    if blob[:4] != b"qres":
        raise ValueError("not a Qt resource bundle")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node = 22 if version >= 2 else 14

    def name(off: int) -> str:
        n = struct.unpack(">H", blob[names + off:names + off + 2])[0]
        return blob[names + off + 6:names + off + 6 + 2 * n].decode("utf-16-be")

    stack = [(0, "")]
    while stack:
        i, prefix = stack.pop()
        p = tree + i * node
        name_off, flags = struct.unpack(">IH", blob[p:p + 6])
        path = prefix + name(name_off) if i else ""
        if flags & 2:  # directory
            count, first = struct.unpack(">II", blob[p + 6:p + 14])
            stack.extend((c, path + "/" if i else "") for c in range(first, first + count))
            continue
        off = data + struct.unpack(">I", blob[p + 10:p + 14])[0]
        body = blob[off + 4:off + 4 + struct.unpack(">I", blob[off:off + 4])[0]]
        yield path, zlib.decompress(body[4:]) if flags & 1 else body


def gcompris_images(tmp: str) -> str:
    """Unpack every picture in gcompris-qt-data's bundles; return the folder holding src/activities."""
    out = os.path.join(tmp, "gcompris-images")
    if not os.path.isdir(out):
        rcc = os.path.join(deb("gcompris-qt-data", tmp), "usr/share/gcompris-qt/rcc")
        for bundle in sorted(os.listdir(rcc)):
            with open(os.path.join(rcc, bundle), "rb") as f:
                for path, body in rcc_files(f.read()):
                    if path.lower().endswith((".webp", ".jpg", ".jpeg", ".png")):
                        dest = os.path.join(out, path)
                        os.makedirs(os.path.dirname(dest), exist_ok=True)
                        with open(dest, "wb") as g:
                            g.write(body)
    return os.path.join(out, "gcompris/src/activities")
