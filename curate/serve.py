"""A folder served over HTTP on 127.0.0.1 (ephemeral port), for the demo, the bench and tests."""

import contextlib
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # img2dataset opens dozens of connections at once


@contextlib.contextmanager
def serve_folder(folder, handler=QuietHandler):
    """Yields the base URL; the server stops when the block ends."""
    server = LoopbackServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
