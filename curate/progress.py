"""Progress bars and logging shared by every stage; `--quiet` turns both down.

On a terminal a bar redraws itself in place. Anywhere else (a pipe, a log file, CI) that
redraw would be one endless line of carriage returns, so progress is written as plain lines
instead, at most one every LOG_INTERVAL seconds per bar, plus the last one.
"""

import contextlib
import logging
import os
import re
import sys

from tqdm import tqdm

QUIET_ENV = "CURATE_QUIET"  # how --quiet reaches worker processes (pool and Dask), which never parse the command line
QUIET = os.environ.get(QUIET_ENV) == "1"
LOG_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal
LINE_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
CURSOR = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal cursor and erase sequences
# Third-party loggers that speak at INFO about their own machinery (Dask's cluster start-up, for one).
CHATTY = ("distributed", "asyncio", "fsspec", "faiss.loader")
# ... and one that warns of what curate never uses: bitsandbytes (which peft imports whenever it is
# installed) on a CPU, that its 4-bit matmul kernel is missing; 8-bit AdamW does not need it.
NOISE = ("bitsandbytes.backends.cpu.ops",)


def setup(quiet: bool = False) -> None:
    global QUIET
    QUIET = quiet
    os.environ[QUIET_ENV] = "1" if quiet else "0"  # inherited by the workers this process starts later
    if quiet or not _on_terminal():
        # transformers' and huggingface_hub's own bars ("Loading weights") cannot write plain
        # lines, so off the terminal they are off, like all bars under --quiet
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # processes started from here
        _library_bars_off()
    if quiet:
        # read when those libraries are first imported (after this): warnings only, as for ours
        os.environ.setdefault("DIFFUSERS_VERBOSITY", "warning")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "warning")
    # distributed configures its loggers when imported (after this), from Dask's config
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(levelname).1s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in NOISE:
        logging.getLogger(name).setLevel(logging.ERROR)


def _library_bars_off() -> None:
    """The hub's switch, which transformers reads when it is imported (the environment variable
    comes too late where huggingface_hub is imported already); transformers' own where it is."""
    try:
        from huggingface_hub.utils import disable_progress_bars
    except ImportError:
        return
    disable_progress_bars()
    if "transformers.utils.logging" in sys.modules:
        sys.modules["transformers.utils.logging"].disable_progress_bar()


def quiet_diffusers() -> None:
    """diffusers' own bars ("Loading pipeline components") ignore the hub's switch: turn them
    off the same way, once diffusers is imported."""
    if QUIET or not _on_terminal():
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()


def _on_terminal() -> bool:
    return sys.stderr is not None and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


class _Lines:
    """A stream for tqdm that turns each in-place redraw into one plain line."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        # tqdm erases with \r and trailing spaces, and moves the cursor up (ESC [A) to redraw
        # nested bars; a log has no cursor
        text = CURSOR.sub("", text.replace("\r", "")).strip()
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


class _LineBar(tqdm):
    """Postfix and description changes wait for the next line instead of drawing one each."""

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
        super().set_postfix(ordered_dict, refresh=False, **kwargs)

    def set_description(self, desc=None, refresh=True):
        super().set_description(desc, refresh=False)


def bar(iterable=None, disable: bool = False, **kwargs) -> tqdm:
    if _on_terminal():
        return tqdm(iterable, disable=QUIET or disable, dynamic_ncols=True, **kwargs)
    kwargs.setdefault("unit", "it")
    return _LineBar(iterable, disable=QUIET or disable, file=_Lines(sys.stderr), mininterval=LOG_INTERVAL,
                    bar_format=LINE_FORMAT, **kwargs)


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
