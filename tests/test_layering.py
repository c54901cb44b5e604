"""No stage imports a later stage or the model: shared helpers live one layer down."""

import ast
from pathlib import Path

import curate

MODEL_PACKAGE = "curate_model"  # the bundled model's package (the model/ folder)
ROOT = Path(curate.__file__).parent
# Pipeline order; what is not listed is a base module, the orchestrators are above everything.
# train_config is the train stage's options (the model's layer, read by the CLI without torch).
LAYERS = {"ingest": 1, "embed": 2, "embedders": 2, "index": 2, "dedupe": 3, "caption": 4, "score": 5, "shard": 6,
          MODEL_PACKAGE: 7, "train_config": 7, "audit": 8}
TOP = {"cli", "demo", "run_config", "bench"}


def _layer(parts: list[str]) -> int:
    if parts[0] == MODEL_PACKAGE:
        return LAYERS[MODEL_PACKAGE]
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def _imports(path: Path):
    """Every curate or model module a file imports, function-level imports included."""
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.split(".")[0] in ("curate", MODEL_PACKAGE):
                yield name.split(".")


def test_no_stage_imports_a_later_stage_or_the_model():
    wrong = []
    for path in ROOT.rglob("*.py"):
        parts = ["curate", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[1] in TOP or parts[1] == "audit":  # the audit reads the model's own alignment and scores
            continue
        own = _layer(parts)
        for imported in _imports(path):
            if imported[:2] != parts[:2] and _layer(imported) > own:
                wrong.append(f"{'.'.join(parts)} imports {'.'.join(imported)}")
    assert not wrong, wrong


def test_nothing_imports_the_model_by_its_folder_name():
    """The package of model/ is curate_model: a bare `import model` would load a second copy of
    it (or anyone's `model`)."""
    repo = ROOT.parent
    wrong = []
    for folder in ("curate", "model", "tests", "tools"):
        for path in (repo / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
                wrong += [f"{path.relative_to(repo)} imports {n}" for n in names if n.split(".")[0] == "model"]
    assert not wrong, wrong
