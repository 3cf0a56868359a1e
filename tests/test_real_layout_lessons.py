"""Lessons 1 and 6 run to their end on data in the real HSC layout, with only their data cell changed.

The repository is the simulated one plus the FAKE real-layout files of :mod:`lfs_server`, ingested by
``data_fetch.hsc_validation`` exactly as ``python -m data_fetch download hsc-validation`` would (collection
``validation``, sky map ``hsc_validation``, bands r and i, no ``truth_match``, no CModel, forced tables with ids
of their own linked through ``objectId`` and without extendedness). Each notebook's data cell is edited in memory,
as a learner would, then the notebook is executed in a kernel.
"""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import REPO_ROOT
from lfs_server import FakeLFSServer
from test_download import _ingest, fake  # noqa: F401 - fake is a fixture

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

#: Lessons that run to their end on the real layout with only their data cell changed.
LESSONS = {
    1: "01_loading_forced_photometry.ipynb",
    6: "06_interactive_explorer.ipynb",
}


@pytest.fixture(scope="module")
def real_layout(simulated_repo, fake, tmp_path_factory):  # noqa: F811 - fake is the fixture
    """A copy of the simulated repository with the fake real-layout data ingested, and its data ID."""
    root = tmp_path_factory.mktemp("real-layout")
    repo = root / "DATA"
    shutil.copytree(simulated_repo, repo)
    with FakeLFSServer(fake.objects) as server:
        summary, _ = _ingest(repo, server.url, root / "cache", fake)
    (root / "notebooks").mkdir()  # beside the repository copy, so REPO = "../DATA" finds it
    return root, summary.data_id


def _data_cell(notebook):
    cells = [c for c in notebook.cells if c.cell_type == "code" and c.source.lstrip().startswith("REPO = ")]
    assert len(cells) == 1, "a lesson has exactly one data cell, starting with REPO = ..."
    return cells[0]


def _use_real_layout(notebook, data_id) -> str:
    """Change the data cell as the README says: collection, data ID and (if the cell has it) the bands."""
    cell = _data_cell(notebook)
    source, n = re.subn(r"^COLLECTIONS = .*$", 'COLLECTIONS = "validation"', cell.source, flags=re.M)
    assert n == 1
    source, n = re.subn(r"^DATA_ID = .*$", f"DATA_ID = {data_id!r}", source, flags=re.M)
    assert n == 1
    source = re.sub(r"^BANDS = .*$", 'BANDS = ["r", "i"]', source, flags=re.M)
    cell.source = source
    return source


def _run(path, folder):
    notebook = nbformat.read(path, as_version=4)
    return notebook, nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": folder}}
    )


def _texts(notebook) -> str:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            texts.append(output.get("text", "") + output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_lesson_runs_on_the_real_layout(real_layout, lesson):
    root, data_id = real_layout
    notebook, client = _run(REPO_ROOT / "notebooks" / LESSONS[lesson], root / "notebooks")
    source = _use_real_layout(notebook, data_id)
    assert "hsc_validation" in source and '"validation"' in source
    client.execute()  # raises CellExecutionError at the first failing cell
    text = _texts(notebook)
    assert "7,207" not in text  # nothing of the simulated patch 4 leaked in
    if lesson == 1:
        assert "band r: same ids as deepCoadd_ref: False" in text  # the forced tables keep their own ids
        assert "Correct: 300 rows in deepCoadd_ref's order, with r_psfInstFlux, i_psfInstFlux." in text
        assert text.count("Correct:") == 2
    else:
        assert f"1 patches loaded: {data_id['patch']}" in text
        assert "matched to deepCoadd_ref through 'objectId'" in text
        assert "uses deepCoadd_ref's (measured in each object's reference band)" in text
        assert "truth: no truth table" in text and "sky objects kept: n/a (no truth table)" in text
        assert "The colour g − r cannot be shown" in text
        assert "no truth table (truth_match)" in text  # the exercise's check says why it cannot check


def test_the_data_cells_are_the_documented_ones():
    """The edit above is the one the README documents: every lesson's data cell has these three names."""
    for name in LESSONS.values():
        source = _data_cell(nbformat.read(REPO_ROOT / "notebooks" / name, as_version=4)).source
        assert re.search(r"^COLLECTIONS = ", source, flags=re.M) and re.search(r"^DATA_ID = ", source, flags=re.M)
        assert re.search(r"^BANDS = ", source, flags=re.M)
