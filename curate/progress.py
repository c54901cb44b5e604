"""Progress bars and logging shared by every stage; `--quiet` turns both down."""

import contextlib
import logging
import os
import sys

from tqdm import tqdm

QUIET = False


def setup(quiet: bool = False) -> None:
    global QUIET
    QUIET = quiet
    if quiet:  # transformers' and diffusers' own bars ("Loading weights") follow the hub's switch
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(levelname).1s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # Libraries we drive are chatty at INFO (Dask's cluster start-up, for one).
    for name in ("distributed", "asyncio", "fsspec", "faiss.loader"):
        logging.getLogger(name).setLevel(logging.WARNING)


def bar(iterable=None, **kwargs) -> tqdm:
    return tqdm(iterable, disable=QUIET, dynamic_ncols=True, **kwargs)


@contextlib.contextmanager
def native_stderr_silenced():
    """Native libraries (mediapipe's TFLite and absl) write start-up warnings straight to file
    descriptor 2, past Python's logging; they say nothing a user can act on. Exceptions still
    reach Python."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
