"""Progress bars and logging shared by every stage; `--quiet` turns both down."""

import logging
import sys

from tqdm import tqdm

QUIET = False


def setup(quiet: bool = False) -> None:
    global QUIET
    QUIET = quiet
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
