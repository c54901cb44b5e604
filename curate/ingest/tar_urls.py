"""tar: URLs, so that archive members are fetched by img2dataset like any other URL.

`tar:/abs/archive.tar!/member/name.jpg` (both parts percent-quoted). Members are read, never
extracted, so nothing in an archive can write outside the workspace; names that would escape
(absolute, `..`) and links are refused with a clear error, which becomes the row's status.
Members are read within the download's limits (limits.py), like any other body.
"""

import email.message
import io
import os
import posixpath
import tarfile
import threading
import urllib.error
import urllib.request
import urllib.response
from urllib.parse import quote, unquote_to_bytes

from curate.ingest import limits

_SEPARATOR = "!/"


def _quote(text: str) -> str:
    # surrogateescape: tarfile and os give undecodable name bytes as surrogates; keep the bytes.
    return quote(text.encode("utf-8", "surrogateescape"), safe="/")


def _unquote(text: str) -> str:
    return unquote_to_bytes(text).decode("utf-8", "surrogateescape")


def member_url(archive, name: str) -> str:
    return f"tar:{_quote(os.fsdecode(archive))}{_SEPARATOR}{_quote(name)}"


def safe_member_name(name: str) -> bool:
    if name.startswith("/") or "\\" in name:
        return False
    return ".." not in posixpath.normpath(name).split("/")


class TarHandler(urllib.request.BaseHandler):
    """urllib handler for tar: URLs; archives stay open per handler, one lock each."""

    def __init__(self):
        self._archives: dict[str, tuple[tarfile.TarFile, threading.Lock]] = {}
        self._guard = threading.Lock()

    def _archive(self, path: str):
        with self._guard:
            if path not in self._archives:
                # a regular file only: tarfile.open on a FIFO would wait for a writer
                self._archives[path] = (tarfile.open(fileobj=limits.open_regular(path)), threading.Lock())
            return self._archives[path]

    def read(self, url: str) -> bytes:
        archive, sep, name = url.removeprefix("tar:").partition(_SEPARATOR)
        archive, name = _unquote(archive), _unquote(name)
        if not sep or not safe_member_name(name):
            raise urllib.error.URLError(f"unsafe archive member name {name!r}: refused, nothing extracted")
        active = limits.current()
        try:
            tf, lock = self._archive(archive)
            with lock:
                info = tf.getmember(name)
                if not info.isfile():
                    raise urllib.error.URLError(f"archive member {name!r} is a link or special file: refused")
                if info.size > active.max_bytes:
                    raise urllib.error.URLError(f"archive member {name!r} is {info.size} bytes, "
                                                f"more than {active.max_bytes} (--max-bytes)")
                return limits.read_body(tf.extractfile(info), active)
        except (urllib.error.URLError, limits.LimitExceeded):
            raise
        except (OSError, tarfile.TarError, KeyError) as err:
            raise urllib.error.URLError(f"cannot read {name!r} from {archive}: {err}") from None

    def tar_open(self, req):
        data = self.read(req.full_url)
        headers = email.message.Message()
        headers["Content-Length"] = str(len(data))
        return urllib.response.addinfourl(io.BytesIO(data), headers, req.full_url, 200)
