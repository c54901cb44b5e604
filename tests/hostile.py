"""Hostile inputs a scraper meets, built from real images: broken files and a faulty web server."""

import struct
import time
import zlib
from pathlib import Path

from curate.serve import QuietHandler

SLOW_SECONDS = 5  # tests set img2dataset's timeout below this
# The endless and trickling routes stop by themselves, so a client that never gives up
# cannot take the machine down with it: after this long, or this many bytes sent.
HOSTILE_SECONDS = 12
ENDLESS_BYTES = 512 << 20
TRICKLE_INTERVAL = 0.5


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header declaring width x height: a decompression bomb as a parser sees it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def write_files(root: Path, good_jpeg: Path) -> dict[str, str]:
    """Broken files beside the good ones; returns name -> expected status."""
    data = good_jpeg.read_bytes()
    files = {
        "zero.jpg": (b"", "decode_failed"),
        "half.jpg": (data[: len(data) // 2], "decode_failed"),
        "page.jpg": (b"<!doctype html><html><body>Not an image</body></html>", "decode_failed"),
        "bomb.png": (png_header_only(100_000, 100_000), "too_large"),  # beyond Pillow's own bomb limit
        "big.png": (png_header_only(10_000, 10_000), "too_large"),  # beyond curate's limit only
    }
    for name, (content, _) in files.items():
        (root / name).write_bytes(content)
    return {name: status for name, (_, status) in files.items()}


def good_name(root: Path) -> str:
    """The real photo that the fault routes serve (and /fault/redirect points to)."""
    return sorted(p.name for p in root.glob("cv_*.jpg"))[0]


class FaultHandler(QuietHandler):
    """Serves the folder, plus /fault/<kind> routes that fail the way real servers do."""

    def do_GET(self):  # noqa: N802 - the stdlib's name
        if self.path.startswith("/delay/"):  # /delay/<ms>/<file>: a slow but healthy server
            _, _, ms, name = self.path.split("/", 3)
            time.sleep(int(ms) / 1000)
            self.path = f"/{name}"
            return super().do_GET()
        kind = self.path.removeprefix("/fault/").split("?")[0] if self.path.startswith("/fault/") else None
        if kind is None:
            return super().do_GET()
        good = self.server_good()
        if kind == "404":
            self.send_error(404)
        elif kind == "500":
            self.send_error(500)
        elif kind == "slow":
            time.sleep(SLOW_SECONDS)
            self._send(good)
        elif kind == "truncated":  # Content-Length promises more than the body holds
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(good)))
            self.end_headers()
            self.wfile.write(good[: len(good) // 3])
            self.close_connection = True
        elif kind == "html":
            self._send(b"<html><body>a login page</body></html>", "image/jpeg")
        elif kind == "redirect":
            self.send_response(302)
            self.send_header("Location", f"/{self.good_name()}")
            self.end_headers()
        elif kind == "noai":
            self._send(good, extra={"X-Robots-Tag": "noai"})
        elif kind in ("endless", "trickle", "trickle-headers", "huge-length"):
            self._hostile(kind, good)
        else:
            self.send_error(400)

    def _hostile(self, kind: str, good: bytes) -> None:
        """Bodies that never end (or take forever); a closed client ends them early."""
        self.close_connection = True
        stop = time.monotonic() + HOSTILE_SECONDS
        try:
            if kind == "trickle-headers":  # the status line, then a header a byte at a time
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while time.monotonic() < stop:
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(TRICKLE_INTERVAL)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            if kind == "trickle":  # a real image, one byte at a time
                self.send_header("Content-Length", str(len(good)))
            if kind == "huge-length":
                self.send_header("Content-Length", str(1 << 40))
            self.end_headers()
            if kind == "trickle":
                for i in range(len(good)):
                    if time.monotonic() > stop:
                        return
                    self.wfile.write(good[i:i + 1])
                    self.wfile.flush()
                    time.sleep(TRICKLE_INTERVAL)
                return
            chunk, sent = b"\0" * (1 << 16), 0  # endless, or a 1 TiB promise: zeros until stopped
            while sent < ENDLESS_BYTES and time.monotonic() < stop:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the client hung up: what a bounded client does
            pass

    def good_name(self) -> str:
        return good_name(Path(self.directory))

    def server_good(self) -> bytes:
        return (Path(self.directory) / self.good_name()).read_bytes()

    def _send(self, body: bytes, ctype: str = "image/jpeg", extra=None):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


FAULTS = {  # route -> expected status
    "404": "download_failed",
    "500": "download_failed",
    "slow": "download_failed",
    "truncated": "download_failed",
    "html": "decode_failed",
    "redirect": "ok",
    "noai": "disallowed",
    "endless": "download_failed",
    "trickle": "download_failed",
    "trickle-headers": "download_failed",
    "huge-length": "download_failed",
}
