"""Reruns of stages whose output is one thing a user keeps (a trained model, a samples folder):
the output records the inputs it was made from. The same inputs again: nothing to do, said in
one line. Other inputs: refused, unless --overwrite replaces the output whole, so an output
never mixes two runs' work."""

import hashlib
import json
import os
import sys
from pathlib import Path

from curate.errors import UserError


def nothing_to_do(stage: str, what: str) -> None:
    """The one line a rerun with the same inputs prints (stderr: stdout keeps the summary)."""
    print(f"curate {stage}: {what}; nothing to do (--overwrite to make it again)", file=sys.stderr)


def differences(recorded: dict, wanted: dict) -> list[str]:
    """The keys whose values differ, nested keys dotted ('config.steps')."""
    out = []
    for key in sorted(set(recorded) | set(wanted)):
        a, b = recorded.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{sub}" for sub in differences(a, b)]
        elif a != b:
            out.append(key)
    return out


def read_record(path: Path) -> dict | None:
    """A recorded-inputs file; None when there is none. A damaged one is refused: nothing says
    what the output was made from."""
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path} is damaged ({err}); rerun with --overwrite to make {path.parent} again") from None
    if not isinstance(record, dict) or not isinstance(record.get("inputs"), dict):
        raise UserError(f"{path} does not record inputs; rerun with --overwrite to make {path.parent} again")
    return record


def write_record(path: Path, inputs: dict, result: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps({"inputs": inputs, "result": result}, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def files_digest(paths) -> str:
    """sha256 over the names and bytes of `paths` (a missing file counts as absent)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path}\0".encode())
        if Path(path).is_file():
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()
