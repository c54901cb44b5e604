"""docs/contracts.md, the page users read for the tables, names every column the schemas in
manifests/*.sql define, in that table's row."""

import re
from pathlib import Path

import manifests

DOC = Path(__file__).resolve().parent.parent / "docs" / "contracts.md"


def test_every_column_of_every_table_is_documented():
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| (.*) \|$", DOC.read_text(), re.M)}
    for table in manifests.TABLES:
        assert table in rows, table
        documented = set(re.findall(r"`(\w+)`", rows[table]))
        missing = [c for c in manifests.schema(table).names if c not in documented]
        assert not missing, (table, missing)


def test_the_readme_cites_the_contracts_not_a_file_outside_the_repository():
    readme = (DOC.parent.parent / "README.md").read_text()
    assert "DESIGN.md" not in readme and "docs/contracts.md" in readme
