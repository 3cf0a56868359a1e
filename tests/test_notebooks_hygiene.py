"""Every lesson is stored executed, without errors, absolute paths, memory addresses or timings; with a header,
an exercise with a hidden solution, and key points."""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: Paths of one machine, memory addresses (also astropy's HTML table ids, "table" and the id() of the table),
#: timings.
VOLATILE = re.compile(r"(/tmp/|/root/|/home/|/work/|/Users/|0x[0-9a-f]{6,}|table\d{6,}|Wall time:|CPU times:)")


def test_the_lessons_are_there():
    names = [p.name[:2] for p in NOTEBOOKS]
    assert names == [f"{n:02d}" for n in range(len(names))] and len(names) >= 9  # 00 to 08, none missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stored_clean(path):
    notebook = json.loads(path.read_text())
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        assert cell["execution_count"] is not None, f"cell {index} was never executed"
        assert "execution" not in cell["metadata"], f"cell {index} stores when it ran (metadata.execution)"
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"cell {index} stores an error"
            assert output.get("name") != "stderr", f"cell {index} stores stderr (a warning?)"
            data = output.get("data", {})
            text = json.dumps(output.get("text", "")) + json.dumps(
                [data.get(k, "") for k in ("text/plain", "text/html")]
            )
            match = VOLATILE.search(text)
            assert not match, f"cell {index} output holds {match.group(0)!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_shape(path):
    notebook = json.loads(path.read_text())
    cells = notebook["cells"]
    header = "".join(cells[0]["source"]).lower()
    for part in ("objectives", "prerequisites", "time", "data"):
        assert part in header, f"the header has no {part}"
    solutions = [c for c in cells if "solution" in c.get("metadata", {}).get("tags", [])]
    assert solutions, "no exercise solution cell tagged 'solution'"
    assert all(c["metadata"].get("jupyter", {}).get("source_hidden") for c in solutions)
    sources = ["".join(c["source"]) for c in cells]
    assert any("checks" in s and "check_" in s for s in sources), "no self-check call"
    assert "key points" in "".join(sources[-3:]).lower()
