"""Output fit for logs: plain progress lines off a terminal, -q anywhere, --version."""

import subprocess
import sys

import pytest

import curate
from curate.cli import build_parser

TRAIN_LIKE = """
from curate import progress
progress.setup()
with progress.bar(total=400, desc="train", unit="step") as bar:
    for step in range(400):
        bar.update()
        bar.set_postfix(loss=f"{1 / (step + 1):.4f}")
"""


def test_piped_progress_is_a_few_plain_lines():
    """400 steps with a loss postfix, stderr a pipe (as in a log file): lines, not \\r redraws."""
    err = subprocess.run([sys.executable, "-c", TRAIN_LIKE], capture_output=True, text=True, timeout=60).stderr
    assert "\r" not in err and len(err) < 1000, err
    lines = err.splitlines()
    assert lines[0].startswith("train: 0/400 step") and lines[-1].startswith("train: 400/400 step"), lines


NESTED = """
from curate import progress
progress.setup()
with progress.bar(total=3, desc="outer", unit="shard") as outer:
    for _ in range(3):
        with progress.bar(total=50, desc="inner", unit="image", leave=False) as inner:
            for _ in range(50):
                inner.update()
        outer.update()
"""


def test_piped_nested_bars_write_no_cursor_moves():
    """A bar inside a bar (dedupe's stages) redraws with ESC [A on a terminal; a log gets lines."""
    err = subprocess.run([sys.executable, "-c", NESTED], capture_output=True, text=True, timeout=60).stderr
    assert "\x1b" not in err and "\r" not in err, repr(err)
    assert err.splitlines()[-1].startswith("outer: 3/3 shard"), err


@pytest.mark.parametrize("argv", [["-q", "query", "ds", "SELECT 1"], ["query", "ds", "SELECT 1", "-q"],
                                  ["query", "-q", "ds", "SELECT 1"], ["query", "ds", "SELECT 1", "--quiet"]])
def test_quiet_before_or_after_the_verb(argv):
    assert build_parser().parse_args(argv).quiet is True
    assert build_parser().parse_args(["query", "ds", "SELECT 1"]).quiet is False


def test_version():
    done = subprocess.run([sys.executable, "-m", "curate.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"curate {curate.__version__}"


def one_bar(n):
    """A task that draws a bar, as dedupe's and caption's tasks do in their worker processes."""
    from curate import progress

    with progress.bar(total=n, desc="worker bar", unit="img") as bar:
        bar.update(n)
    return n


QUIET_POOL = """
from curate import progress
from curate.executors import make_executor
progress.setup(quiet=True)
with make_executor(None, 2) as ex:
    print(sorted(n for _, n in ex.map(__import__("tests.test_logs").test_logs.one_bar, [3, 4])))
"""


def test_quiet_reaches_the_workers():
    """-q silences the bars of tasks in worker processes too (dedupe's 'pixel check' leaked)."""
    done = subprocess.run([sys.executable, "-c", QUIET_POOL], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[3, 4]", done.stderr
    assert "worker bar" not in done.stderr, done.stderr
