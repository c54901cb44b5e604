"""The ceiling on every read of an input: a byte limit and a wall-clock deadline per download.

A download runs inside `with Limits(...)`; the URL handlers (http(s), file, tar) find it with
`current()`. Bodies are read in chunks and stop at max_bytes. At the deadline every socket the
download opened is shut down, which wakes a read blocked on a server that stalls or trickles a
byte at a time (a per-read socket timeout never fires on those).
"""

import os
import socket
import stat
import threading
import time

DEFAULT_MAX_BYTES = 64 << 20
CHUNK = 1 << 16
_local = threading.local()


class LimitExceeded(OSError):
    """A download went past its byte limit or its deadline (the row's error says which)."""


class Limits:
    def __init__(self, max_bytes: int, seconds: float):
        self.max_bytes, self.seconds = max_bytes, seconds
        self.expired = False
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        _local.limits = self
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()
        _local.limits = None
        with self._lock:
            for sock in self._socks:
                sock.close()
            self._socks.clear()

    def deadline_error(self) -> LimitExceeded:
        return LimitExceeded(f"download took longer than {self.seconds:g} s (--timeout): stopped")

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise self.deadline_error()
        return left

    def check(self) -> None:
        if self.expired or time.monotonic() >= self._end:
            raise self.deadline_error()

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down at the deadline. A dup of it is kept, not the socket: TLS detaches
        the original, and a dup's descriptor cannot be reused by another connection meanwhile."""
        dup = sock.dup()
        with self._lock:
            self._socks.append(dup)
            if self.expired:
                _shutdown(dup)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._socks:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by its owner


def current() -> Limits:
    limits = getattr(_local, "limits", None)
    if limits is None:
        raise RuntimeError("an input was read outside `with Limits(...)`")
    return limits


def read_body(fileobj, limits: Limits | None = None) -> bytes:
    """All of fileobj, in chunks, or LimitExceeded: memory never holds more than max_bytes."""
    limits = limits or current()
    chunks, total = [], 0
    while True:
        limits.check()
        chunk = fileobj.read(min(CHUNK, limits.max_bytes + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > limits.max_bytes:
            raise LimitExceeded(f"more than {limits.max_bytes} bytes (--max-bytes): stopped")
        chunks.append(chunk)
    limits.check()  # an end of data forced by the deadline is not the whole body
    return b"".join(chunks)


def file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return kind
    return "not a regular file"


def open_regular(path, max_bytes: int | None = None):
    """The file at path, opened for reading, if it is a regular file (no larger than max_bytes).

    O_NONBLOCK: opening a FIFO waits for a writer otherwise; its type is then refused."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LimitExceeded(f"{os.fsdecode(path)} is {file_kind(st.st_mode)}, not a regular file: refused")
        if max_bytes is not None and st.st_size > max_bytes:
            raise LimitExceeded(f"{os.fsdecode(path)} is {st.st_size} bytes, more than {max_bytes} (--max-bytes)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
