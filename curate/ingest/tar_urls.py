"""tar: URLs, so that archive members are fetched by img2dataset like any other URL.

`tar:/abs/archive.tar!/member/name.jpg` (both parts percent-quoted). Members are read, never
extracted, so nothing in an archive can write outside the workspace; names that would escape
(absolute, `..`) and links are refused with a clear error, which becomes the row's status.
"""

import email.message
import io
import posixpath
import tarfile
import threading
import urllib.error
import urllib.request
import urllib.response
from urllib.parse import quote, unquote

MAX_MEMBER_BYTES = 256 << 20
_SEPARATOR = "!/"


def member_url(archive, name: str) -> str:
    return f"tar:{quote(str(archive), safe='/')}{_SEPARATOR}{quote(name, safe='/')}"


def safe_member_name(name: str) -> bool:
    if name.startswith("/") or "\\" in name:
        return False
    return ".." not in posixpath.normpath(name).split("/")


class TarHandler(urllib.request.BaseHandler):
    """urllib handler for tar: URLs; archives stay open per process, one lock each."""

    def __init__(self):
        self._archives: dict[str, tuple[tarfile.TarFile, threading.Lock]] = {}
        self._guard = threading.Lock()

    def _archive(self, path: str):
        with self._guard:
            if path not in self._archives:
                self._archives[path] = (tarfile.open(path), threading.Lock())
            return self._archives[path]

    def read(self, url: str) -> bytes:
        archive, sep, name = url.removeprefix("tar:").partition(_SEPARATOR)
        archive, name = unquote(archive), unquote(name)
        if not sep or not safe_member_name(name):
            raise urllib.error.URLError(f"unsafe archive member name {name!r}: refused, nothing extracted")
        try:
            tf, lock = self._archive(archive)
            with lock:
                info = tf.getmember(name)
                if not info.isfile():
                    raise urllib.error.URLError(f"archive member {name!r} is a link or special file: refused")
                if info.size > MAX_MEMBER_BYTES:
                    raise urllib.error.URLError(f"archive member {name!r} is {info.size} bytes, over the limit")
                return tf.extractfile(info).read()
        except (OSError, tarfile.TarError, KeyError) as err:
            raise urllib.error.URLError(f"cannot read {name!r} from {archive}: {err}") from None

    def tar_open(self, req):
        data = self.read(req.full_url)
        headers = email.message.Message()
        headers["Content-Length"] = str(len(data))
        return urllib.response.addinfourl(io.BytesIO(data), headers, req.full_url, 200)


def install() -> None:
    """Make urllib.request.urlopen (which img2dataset uses) understand tar: URLs in this process."""
    urllib.request.install_opener(urllib.request.build_opener(TarHandler()))
