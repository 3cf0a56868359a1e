"""The tools that use the lessons as regression tests: the readable nbval report, the lock, the pin windows."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import REPO_ROOT
from packaging.requirements import Requirement

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import lockfile  # noqa: E402
import nbval_report  # noqa: E402
import upgrade  # noqa: E402

LESSON = REPO_ROOT / "notebooks" / "01_loading_forced_photometry.ipynb"


def _first_printed_cell(notebook):
    """(position, code-cell number, cell) of the first code cell that prints to stdout."""
    code_cell = -1
    for position, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        code_cell += 1
        if any(o.get("name") == "stdout" for o in cell.outputs):
            return position, code_cell, cell
    raise AssertionError(f"{LESSON.name} prints nothing")


def test_report_names_the_changed_cell_and_shows_the_changed_line(tmp_path, capsys):
    notebook = nbformat.read(LESSON, as_version=4)
    position, code_cell, cell = _first_printed_cell(notebook)
    stream = next(o for o in cell.outputs if o.get("name") == "stdout")
    old_line = stream.text.splitlines()[0]
    new_line = old_line + " (changed)"
    stream.text = stream.text.replace(old_line, new_line, 1)
    changed = tmp_path / LESSON.name
    nbformat.write(notebook, changed)
    report_dir = tmp_path / "report"

    status = nbval_report.main([str(LESSON), str(changed), "--report-dir", str(report_dir)])

    printed = capsys.readouterr().out
    assert status == 1
    title = f"Cell {code_cell} (cell {position + 1} of the notebook): {cell.source.splitlines()[0]}"
    assert title in printed
    assert f"    -{old_line}\n    +{new_line}\n" in printed
    assert "1 cell(s) with changed output and 0 changed figure(s), in 1 notebook(s)" in printed
    saved = (report_dir / "report.txt").read_text()
    assert f"Full report: {report_dir / 'report.txt'}" in printed
    assert title in saved and f"+{new_line}" in saved
    assert "## modified /cells/" in saved  # nbdime's nbdiff of the two notebooks
    assert nbformat.read(report_dir / "new" / LESSON.name, as_version=4).cells[position].outputs == cell.outputs


def test_identical_outputs_pass_and_write_no_report(tmp_path, capsys):
    report_dir = tmp_path / "report"
    assert nbval_report.main([str(LESSON), str(LESSON), "--report-dir", str(report_dir)]) == 0
    assert "No stored output differs" in capsys.readouterr().out
    assert not report_dir.exists()


def _png(pixels: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _notebook(cells):
    notebook = nbformat.v4.new_notebook()
    for source, outputs in cells:
        cell = nbformat.v4.new_code_cell(source, execution_count=1)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        notebook.cells.append(cell)
    return notebook


def _dashboard(port):
    return {"output_type": "stream", "name": "stdout", "text": f"Dashboard: http://127.0.0.1:{port}/status\n"}


def _figure(pixels):
    return {"output_type": "display_data", "metadata": {}, "data": {"image/png": _png(pixels), "text/plain": "<Fig>"}}


def test_report_compares_what_nbval_compares_and_figures_by_pixel(tmp_path):
    image = np.zeros((10, 20, 3), dtype=np.uint8)
    moved = image.copy()
    moved[5, 5] = 255  # one pixel of 200
    ignored = {"output_type": "stream", "name": "stdout", "text": "took 3.2 s\n"}
    stored = _notebook(
        [("t", [_dashboard(36263)]), ("# NBVAL_IGNORE_OUTPUT\nrun()", [ignored]), ("plot()", [_figure(image)])]
    )
    new = _notebook(
        [
            ("t", [_dashboard(37019)]),  # only the port that tests/nbval_sanitize.cfg replaces
            ("# NBVAL_IGNORE_OUTPUT\nrun()", [{**ignored, "text": "took 4.0 s\n"}]),
            ("plot()", [_figure(moved)]),
        ]
    )
    patterns = nbval_report.load_sanitize_patterns(nbval_report.DEFAULT_SANITIZE)
    out = io.StringIO()
    changes = nbval_report.report([("a.ipynb", stored, "b.ipynb", new)], tmp_path / "report", patterns, out)

    assert [(c.code_cell, c.diff) for c in changes] == [(2, [])]
    assert changes[0].figures[0][:2] == (1, pytest.approx(1 / 200))
    assert "figure 1 changed (0.5% of its pixels)" in out.getvalue()
    page = (tmp_path / "report" / "figures.html").read_text()
    assert page.count("<img ") == 2 and "a.ipynb, Cell 2 (cell 3 of the notebook): plot()" in page


def test_report_refuses_a_notebook_against_a_folder(tmp_path, capsys):
    assert nbval_report.main([str(LESSON), str(tmp_path)]) == 2
    assert "give two notebooks or two folders" in capsys.readouterr().err


def test_a_release_outside_the_butler_window_is_one_line():
    requirements = [Requirement("lsst-daf-butler>=30.2026.4000,<30.2027"), Requirement("tqdm>=4.66")]
    inside = lockfile.releases_outside_windows(requirements, {"lsst-daf-butler": "30.2026.4900", "tqdm": "9.0"})
    outside = lockfile.releases_outside_windows(requirements, {"lsst-daf-butler": "30.2027.100", "tqdm": "9.0"})
    assert inside == []
    assert len(outside) == 1
    expected = "lsst-daf-butler 30.2027.100 is released but outside its window <30.2027,>=30.2026.4000 in pyproject"
    assert outside[0].startswith(expected)


def test_version_table_lists_only_what_differs():
    old = {"numpy": "2.4.6", "astropy": "8.0.2", "six": "1.17.0"}
    new = {"numpy": "2.5.0", "astropy": "8.0.2", "narwhals": "2.30.0"}
    changes = lockfile.version_changes(old, new)
    assert changes == [("narwhals", "-", "2.30.0"), ("numpy", "2.4.6", "2.5.0"), ("six", "1.17.0", "-")]
    table = lockfile.format_table(changes, ("package", "requirements.lock", "newest")).splitlines()
    assert table[0] == "package   requirements.lock  newest"
    assert table[3] == "numpy     2.4.6              2.5.0"


def test_the_lock_keeps_its_header_and_pins_the_butler():
    header = lockfile.header_lines(lockfile.LOCK)
    pins = lockfile.read_pins(lockfile.LOCK)
    body = [line for line in lockfile.LOCK.read_text().splitlines() if line and not line.startswith("#")]
    assert len(header) == 2 and "make lock" in header[1]
    assert len(pins) == len(body)
    assert Requirement("lsst-daf-butler>=30.2026.4000,<30.2027").specifier.contains(pins["lsst-daf-butler"])


@pytest.mark.parametrize("workers", [[], ["-n", "2", "--dist", "loadfile"]], ids=["one process", "two xdist workers"])
def test_nbval_plugin_reports_the_cell_nbval_fails(tmp_path, workers):
    """Strict nbval with ``-p nbval_report``: the readable report follows nbval's own failure, from the same run,
    also when pytest-xdist's workers ran the notebooks (as `make nbval` does)."""
    import os
    import subprocess

    for name, answer in (("answer", 7), ("other", 8)):
        notebook = _notebook([(f"print(6 * {answer})", [{"output_type": "stream", "name": "stdout", "text": "41\n"}])])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, tmp_path / f"{name}.ipynb")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "scripts")}
    command = [sys.executable, "-m", "pytest", "-p", "nbval_report", "--nbval", "answer.ipynb", "other.ipynb"]
    command += ["-p", "no:cacheprovider", "--nbval-report-dir", str(tmp_path / "report"), "--rootdir", str(tmp_path)]
    result = subprocess.run(command + workers, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)

    assert result.returncode == 1, result.stdout[-2000:]
    report = result.stdout[result.stdout.index("nbval_report: stored against new outputs") :]
    assert "answer.ipynb, Cell 0 (cell 1 of the notebook): print(6 * 7)" in report
    assert "    -41\n    +42\n" in report
    assert "other.ipynb, Cell 0 (cell 1 of the notebook): print(6 * 8)" in report
    assert "    -41\n    +48\n" in report
    assert "2 cell(s) with changed output and 0 changed figure(s), in 2 notebook(s)" in report
    assert (tmp_path / "report" / "report.txt").exists()


def test_a_failed_upgrade_puts_the_old_lock_and_notebooks_back(tmp_path, monkeypatch, capsys):
    lock, notebooks = tmp_path / "requirements.lock", tmp_path / "notebooks"
    notebooks.mkdir()
    lock.write_text("# header\nnumpy==2.4.6\n")
    (notebooks / "00_lesson.ipynb").write_text('{"stored": true}')
    monkeypatch.setattr(upgrade, "LOCK", lock)
    monkeypatch.setattr(upgrade, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(upgrade, "WORK", tmp_path / "work")
    monkeypatch.setattr(upgrade, "uncommitted", lambda paths: [])
    monkeypatch.setattr(
        upgrade.lockfile, "compile_lock", lambda output, upgrade: Path(output).write_text("# header\nnumpy==2.5.0\n")
    )
    reinstalled = []
    monkeypatch.setattr(upgrade.subprocess, "run", lambda command, cwd: reinstalled.append(command))

    def refresh_fails_half_way(step, command):
        assert upgrade.lockfile.read_pins(lock) == {"numpy": "2.5.0"}  # the lessons run with the new lock
        (notebooks / "00_lesson.ipynb").write_text('{"half": "refreshed"}')
        raise upgrade.StepFailed(step)

    monkeypatch.setattr(upgrade, "run", refresh_fails_half_way)

    assert upgrade.main() == 1
    assert lock.read_text() == "# header\nnumpy==2.4.6\n"
    assert (notebooks / "00_lesson.ipynb").read_text() == '{"stored": true}'
    assert reinstalled == [["make", "venv"]]
    assert "requirements.lock and the notebooks are unchanged" in capsys.readouterr().out
