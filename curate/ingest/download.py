"""img2dataset's download_image with a ceiling: one byte limit and one deadline per download.

img2dataset reads a whole body with one r.read() whose only bound is a per-read socket timeout,
so a URL that streams forever fills memory and one that trickles a byte a second never ends.
`install` puts `download_image` below in its place (img2dataset's retry loop looks the function
up in its module at each call); threads, retries, resizer and writer stay img2dataset's.
Only http(s), file and tar: URLs are fetched; any other URL is a row with the reason.
"""

import email.message
import functools
import io
import os
import socket
import urllib.error
import urllib.request
import urllib.response
from urllib.parse import unquote_to_bytes, urlsplit

import img2dataset.downloader
from img2dataset.downloader import is_disallowed

from curate.ingest import limits
from curate.ingest.tar_urls import TarHandler

SCHEMES = ("http", "https", "file", "tar")
DISALLOWED = "Use of image disallowed by X-Robots-Tag directive"  # img2dataset's words, status_of reads them
_USER_AGENT = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:72.0) Gecko/20100101 Firefox/72.0"  # img2dataset's


def url_problem(url) -> str | None:
    """Why this URL is not fetched, or None."""
    if url is None or not str(url).strip():
        return "empty URL"
    shown = url if len(url) <= 200 else url[:200] + "..."
    try:
        parts = urlsplit(url)
    except ValueError as err:
        return f"malformed URL {shown!r}: {err}"
    scheme = parts.scheme.lower()
    if not scheme:
        return f"malformed URL {shown!r}: no scheme (expected {', '.join(SCHEMES)})"
    if scheme not in SCHEMES:
        return f"unsupported URL scheme {scheme!r} in {shown!r} (expected {', '.join(SCHEMES)})"
    if scheme in ("http", "https") and not parts.hostname:
        return f"malformed URL {shown!r}: no host"
    return None


def _connect(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    """socket.create_connection within the download's deadline, the socket watched by it."""
    active = limits.current()
    sock = socket.create_connection(address, active.remaining(), source_address)
    active.watch(sock)
    return sock


@functools.cache
def _watched(http_class):
    class Watched(http_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = _connect
    return Watched


class _WatchedOpen:
    def do_open(self, http_class, req, **kwargs):
        return super().do_open(_watched(http_class), req, **kwargs)


class HTTPHandler(_WatchedOpen, urllib.request.HTTPHandler):
    pass


class HTTPSHandler(_WatchedOpen, urllib.request.HTTPSHandler):
    pass


class FileHandler(urllib.request.FileHandler):
    """file:// URLs: regular files only (a FIFO would hang, a device never ends), size checked."""

    def file_open(self, req):
        if req.host not in ("", "localhost"):
            raise urllib.error.URLError(f"file:// URL on another host {req.host!r}: refused")
        path = os.fsdecode(unquote_to_bytes(req.selector))  # the exact bytes Path.as_uri quoted
        if not path.startswith("/"):
            raise urllib.error.URLError(f"file: URL without an absolute path {req.full_url!r}: refused")
        try:
            fh = limits.open_regular(path, limits.current().max_bytes)
        except OSError as err:
            raise urllib.error.URLError(str(err)) from None
        headers = email.message.Message()
        headers["Content-Length"] = str(os.fstat(fh.fileno()).st_size)
        return urllib.response.addinfourl(fh, headers, req.full_url, 200)


def _fetch(opener, url: str, timeout: float, user_agent_token, disallowed_header_directives, max_bytes: int) -> bytes:
    agent = _USER_AGENT
    if user_agent_token:
        agent += f" (compatible; {user_agent_token}; +https://github.com/rom1504/img2dataset)"
    request = urllib.request.Request(url, data=None, headers={"User-Agent": agent})
    with limits.Limits(max_bytes, timeout) as active:
        try:
            with opener.open(request, timeout=timeout) as r:
                if disallowed_header_directives and is_disallowed(r.headers, user_agent_token,
                                                                  disallowed_header_directives):
                    raise urllib.error.URLError(DISALLOWED)
                length = r.headers.get("Content-Length", "")
                length = int(length) if length.isdigit() else None
                if length is not None and length > max_bytes:
                    raise limits.LimitExceeded(f"Content-Length {length} is more than {max_bytes} bytes (--max-bytes)")
                data = limits.read_body(r, active)
                if length is not None and len(data) < length:  # http.client's read(n) does not check
                    raise urllib.error.URLError(f"truncated body: {len(data)} of {length} bytes")
                return data
        except Exception:
            active.check()  # whatever broke after the deadline, the deadline is the reason
            raise


def download_image(row, timeout, user_agent_token, disallowed_header_directives, *, opener, max_bytes: int):
    """img2dataset's contract: (key, BytesIO or None, error message or None)."""
    key, url = row
    problem = url_problem(url)
    if problem:
        return key, None, problem
    try:
        data = _fetch(opener, url, timeout, user_agent_token, disallowed_header_directives, max_bytes)
        return key, io.BytesIO(data), None
    except urllib.error.HTTPError as err:
        return key, None, str(err)
    except urllib.error.URLError as err:
        return key, None, str(err.reason)
    except Exception as err:  # noqa: BLE001 - any failure is this row's error, as in img2dataset
        return key, None, str(err) or type(err).__name__


def install(max_bytes: int) -> None:
    """Make img2dataset's downloader fetch through download_image in this process (for one
    shard: its tar handler keeps the archives it reads open until the next install)."""
    opener = urllib.request.build_opener(HTTPHandler(), HTTPSHandler(), FileHandler(), TarHandler())
    img2dataset.downloader.download_image = functools.partial(download_image, opener=opener, max_bytes=max_bytes)
