"""The score models bundled in curate/score/weights/ (sources and licenses in LICENSES.md there)."""

import functools
from pathlib import Path

import numpy as np

from curate.errors import UserError

WEIGHTS = Path(__file__).parent / "weights"
TOOLS = {"nsfw_mobilenet_v2.onnx": "tools/convert_nsfwjs.py", "brisque_svr.npz": "tools/export_brisque.py"}


def session(filename: str):
    """onnxruntime session, one thread (the executor parallelises across shards)."""
    from curate.caption.boxes import session as caption_session  # late: the export tools' venvs lack pyarrow

    return caption_session(filename, WEIGHTS, TOOLS[filename])


@functools.cache
def load_npz(filename: str) -> dict[str, np.ndarray]:
    path = WEIGHTS / filename
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise UserError(f"score model {path} is missing or damaged ({type(err).__name__}): reinstall curate "
                        f"or rebuild it with {TOOLS[filename]}") from None
