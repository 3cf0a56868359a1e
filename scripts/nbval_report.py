"""Readable differences between the stored outputs of the lessons and newly computed ones.

Strict nbval compares each code cell's stored outputs with the outputs of a new run, and on a difference prints
fragments of JSON. This report says instead, for each changed cell: the notebook, the cell number (as nbval
counts it, and its place in the notebook), the first line of its source, and a line diff of the stored output
against the new one. It compares what nbval compares (the same sanitising patterns, cell markers and ignored
fields), and also compares figures by their pixels, which nbval skips. The full report, with nbdime's diff of
each changed notebook, the new notebooks (open a pair with ``nbdiff-web`` to see it in nbdime's HTML view) and a
page of changed figures side by side, is saved to a git-ignored folder whose path is printed.

Two ways to run it:

- ``python scripts/nbval_report.py BEFORE AFTER``: two notebooks, or two folders of notebooks matched by name.
  Exit status 1 when an output differs, 0 when none does, 2 on bad input.
- As a pytest plugin beside strict nbval, so a failing run explains itself, with no second execution:
  ``PYTHONPATH=scripts pytest -p nbval_report --nbval notebooks/*.ipynb --nbval-report-dir reports/nbval``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import difflib
import html
import io
import json
import os
import re
import shutil
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbval.plugin import (
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    get_sanitize_patterns,
    transform_streams_for_comparison,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SANITIZE = REPO_ROOT / "tests" / "nbval_sanitize.cfg"
DEFAULT_REPORT_DIR = Path("reports") / "nbval"
#: Output fields nbval never compares (``nbval.plugin.IPyNbFile.skip_compare`` without ``--nbdime``).
SKIP_COMPARE = frozenset(
    {
        "metadata",
        "traceback",
        "prompt_number",
        "output_type",
        "name",
        "execution_count",
        "application/vnd.jupyter.widget-view+json",
        "image/png",
        "image/jpeg",
    }
)
FIGURE_MIME = "image/png"
#: Diff lines per changed cell printed on the terminal; the saved report holds all of them.
TERMINAL_DIFF_LINES = 30


@dataclass
class CellChange:
    """One code cell whose outputs differ between the stored and the new notebook."""

    notebook: str
    code_cell: int  # nbval's "Cell N": the index among code cells, from 0
    position: int  # the index among all cells, from 0
    first_line: str
    diff: list[str] = field(default_factory=list)  # unified line diff of the text outputs; empty if only figures
    figures: list[tuple[int, float, str | None, str | None]] = field(default_factory=list)
    """(figure number in the cell, fraction of pixels that differ, stored PNG base64, new PNG base64)."""

    @property
    def title(self) -> str:
        return f"{self.notebook}, Cell {self.code_cell} (cell {self.position + 1} of the notebook): {self.first_line}"


def load_sanitize_patterns(path: Path | None) -> list[tuple[str, str]]:
    """The ``regex:``/``replace:`` pairs of an nbval sanitize file, read by nbval's own parser."""
    if path is None:
        return []
    return get_sanitize_patterns(Path(path).read_text())


def _sanitize(value, patterns):
    if not isinstance(value, str):
        return value
    for regex, replace in patterns:
        value = re.sub(regex, replace, value)
    return value


def cell_is_compared(cell) -> bool:
    """Whether strict nbval compares this code cell's outputs (no skip or ignore-output marker, stored run)."""
    options = defaultdict(bool, find_metadata_tags(cell.metadata))
    options.update(dict(find_comment_markers(cell.source)))
    options.setdefault("check", True)
    return bool(options["check"]) and not options["skip"] and cell.execution_count is not None


def _prepared(outputs) -> list[dict]:
    return transform_streams_for_comparison(coalesce_streams([nbformat.from_dict(o) for o in outputs]))


def comparable(outputs, patterns) -> dict[str, list]:
    """The outputs as nbval compares them: ``{field or MIME type: [sanitised values in order]}``."""
    flat = defaultdict(list)
    for output in _prepared(outputs):
        for key, value in output.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(_sanitize(data, patterns))
            else:
                flat[key].append(_sanitize(value, patterns))
    return dict(flat)


def output_lines(outputs, patterns) -> list[str]:
    """The compared parts of a cell's outputs as text lines, each part headed by its field, for a line diff."""
    lines = []
    for output in _prepared(outputs):
        parts = []
        for key, value in output.items():
            if key == "data":
                parts += [(mime, data) for mime, data in value.items() if mime not in SKIP_COMPARE]
            elif key not in SKIP_COMPARE:
                parts.append((key, value))
        for key, value in parts:
            value = _sanitize(value, patterns)
            if not isinstance(value, str):
                value = json.dumps(value, indent=1, sort_keys=True)
            lines.append(f"[{key}]")
            lines += value.splitlines()
    return lines


def _figures(outputs) -> list[str]:
    return [o["data"][FIGURE_MIME] for o in outputs if FIGURE_MIME in o.get("data", {})]


def pixel_difference(stored_png: str, new_png: str) -> float:
    """Fraction of pixels that differ between two base64 PNGs (1.0 when their sizes differ)."""
    from PIL import Image

    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGBA"))

    a, b = pixels(stored_png), pixels(new_png)
    if a.shape != b.shape:
        return 1.0
    return float(np.any(a != b, axis=-1).mean())


def compare_cells(stored_cell, new_outputs, patterns) -> tuple[list[str], list]:
    """The line diff (empty if nbval would see no difference) and the changed figures of one code cell."""
    diff = []
    if comparable(stored_cell.outputs, patterns) != comparable(new_outputs, patterns):
        diff = list(
            difflib.unified_diff(
                output_lines(stored_cell.outputs, patterns),
                output_lines(new_outputs, patterns),
                "stored",
                "new",
                lineterm="",
                n=2,
            )
        )
        if not diff:  # same text in another grouping, e.g. one output split in two
            diff = ["(the same text, split into outputs differently)"]
    old_figures, new_figures = _figures(stored_cell.outputs), _figures(new_outputs)
    figures = []
    for number in range(max(len(old_figures), len(new_figures))):
        old = old_figures[number] if number < len(old_figures) else None
        new = new_figures[number] if number < len(new_figures) else None
        fraction = 1.0 if old is None or new is None else pixel_difference(old, new)
        if fraction > 0:
            figures.append((number + 1, fraction, old, new))
    return diff, figures


def compare_notebooks(stored, new, name: str, patterns) -> list[CellChange]:
    """Every code cell of ``stored`` whose compared outputs or figures differ in ``new`` (same cells, new outputs)."""
    stored_cells = [(i, c) for i, c in enumerate(stored.cells) if c.cell_type == "code"]
    new_cells = [c for c in new.cells if c.cell_type == "code"]
    if len(stored_cells) != len(new_cells):
        raise ValueError(
            f"{name}: {len(stored_cells)} code cells stored but {len(new_cells)} in the new notebook; "
            "compare two runs of the same notebook"
        )
    changes = []
    for code_cell, ((position, cell), new_cell) in enumerate(zip(stored_cells, new_cells, strict=True)):
        if not cell_is_compared(cell):
            continue
        diff, figures = compare_cells(cell, new_cell.outputs, patterns)
        if diff or figures:
            first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
            changes.append(CellChange(name, code_cell, position, first_line, diff, figures))
    return changes


def nbdime_diff_text(stored, new, stored_name: str, new_name: str, patterns) -> str:
    """nbdime's text diff (``nbdiff``) of the outputs of two notebooks, sanitised as nbval sanitises them."""
    import nbdime
    from nbdime.prettyprint import PrettyPrintConfig, pretty_print_notebook_diff

    def outputs_only(notebook):
        notebook = copy.deepcopy(notebook)
        notebook.metadata = {}
        for cell in notebook.cells:
            cell.metadata = {}
            cell.pop("id", None)
            if cell.cell_type == "code":
                cell.execution_count = None
                for output in cell.outputs:
                    output.pop("execution_count", None)
                    output.pop("metadata", None)
                    for mime, data in output.get("data", {}).items():
                        output["data"][mime] = _sanitize(data, patterns)
                    if "text" in output:
                        output["text"] = _sanitize(output["text"], patterns)
        return notebook

    a, b = outputs_only(stored), outputs_only(new)
    out = io.StringIO()
    config = PrettyPrintConfig(out=out, use_color=False, use_git=False, use_diff=False)
    pretty_print_notebook_diff(stored_name, new_name, a, nbdime.diff_notebooks(a, b), config)
    return out.getvalue()


def _figures_page(changes: list[CellChange]) -> str:
    rows = []
    for change in changes:
        for number, fraction, old, new in change.figures:
            images = "".join(
                f'<figure><img src="data:image/png;base64,{png}" alt="{label} figure {number} of this cell">'
                f"<figcaption>{label}</figcaption></figure>"
                if png
                else f"<figure><figcaption>{label}: no figure</figcaption></figure>"
                for label, png in (("stored", old), ("new", new))
            )
            rows.append(
                f"<h2>{html.escape(change.title)}</h2><p>Figure {number}: {fraction:.1%} of the pixels differ.</p>"
                f'<div class="pair">{images}</div>'
            )
    style = "body{font-family:sans-serif} .pair{display:flex;gap:1em} img{max-width:48vw;border:1px solid #999}"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Changed figures</title><style>{style}</style>"
        f"</head><body><h1>Changed figures (stored, new)</h1>{''.join(rows)}</body></html>\n"
    )


def format_change(change: CellChange, limit: int | None = None) -> list[str]:
    """The lines that describe one changed cell: its title, its line diff, its changed figures."""
    lines = [change.title]
    diff = change.diff if limit is None else change.diff[:limit]
    lines += ["    " + line for line in diff]
    if limit is not None and len(change.diff) > limit:
        lines.append(f"    ... {len(change.diff) - limit} more lines in the full report")
    for number, fraction, old, new in change.figures:
        what = "is new" if old is None else "is gone" if new is None else f"changed ({fraction:.1%} of its pixels)"
        lines.append(f"    figure {number} {what} (nbval does not compare figures)")
    return lines


def write_report(
    report_dir: Path,
    changes: list[CellChange],
    nbdime_sections: list[str],
    new_notebooks: dict[str, object],
) -> Path:
    """Save the full report (text, nbdime diffs, new notebooks, changed figures) in ``report_dir``, replaced whole."""
    report_dir = Path(report_dir)
    report_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=report_dir.parent, prefix=f".{report_dir.name}-"))
    lines = [summary_line(changes), ""]
    for change in changes:
        lines += format_change(change) + [""]
    lines += ["", "nbdime's diff of the outputs (nbdiff, sanitised as nbval sanitises them):", ""] + nbdime_sections
    (staging / "report.txt").write_text("\n".join(lines) + "\n")
    if any(change.figures for change in changes):
        (staging / "figures.html").write_text(_figures_page(changes))
    if new_notebooks:
        (staging / "new").mkdir()
        for name, notebook in new_notebooks.items():
            nbformat.write(notebook, staging / "new" / Path(name).name)
    if report_dir.exists():
        shutil.rmtree(report_dir)
    os.replace(staging, report_dir)
    return report_dir


def summary_line(changes: list[CellChange]) -> str:
    text = sum(1 for c in changes if c.diff)
    figures = sum(len(c.figures) for c in changes)
    notebooks = len({c.notebook for c in changes})
    if not changes:
        return "No stored output differs from the new run."
    return (
        f"{text} cell(s) with changed output and {figures} changed figure(s), in {notebooks} notebook(s) "
        "(nbval fails on the first kind only)."
    )


def report(
    pairs: list[tuple[str, object, str, object]],
    report_dir: Path,
    patterns,
    out=None,
    view_hint: str | None = None,
) -> list[CellChange]:
    """Compare each (stored name, stored notebook, new name, new notebook); print the changes and save the report.

    ``out`` is where to print (default ``sys.stdout``); ``view_hint`` replaces the closing line that says how to
    open a notebook's diff in nbdime's HTML view.
    """
    out = out or sys.stdout
    changes, sections, new_notebooks = [], [], {}
    for stored_name, stored, new_name, new in pairs:
        found = compare_notebooks(stored, new, stored_name, patterns)
        if found:
            changes += found
            sections.append(nbdime_diff_text(stored, new, stored_name, new_name, patterns))
            new_notebooks[stored_name] = new
    if not changes:
        print(summary_line(changes), file=out)
        return changes
    print("\nOutputs that differ from the stored notebooks (stored: -, new: +):\n", file=out)
    for change in changes:
        print("\n".join(format_change(change, TERMINAL_DIFF_LINES)) + "\n", file=out)
    saved = write_report(report_dir, changes, sections, new_notebooks)
    print(summary_line(changes), file=out)
    print(f"Full report: {saved / 'report.txt'}", file=out)
    if (saved / "figures.html").exists():
        print(f"Changed figures side by side: {saved / 'figures.html'}", file=out)
    if view_hint is None:
        first = next(iter(new_notebooks))
        view_hint = f"nbdime's HTML view of a notebook: nbdiff-web {first} {saved / 'new' / Path(first).name}"
    print(view_hint, file=out)
    return changes


def _pairs_from_paths(before: Path, after: Path) -> list[tuple[str, object, str, object]]:
    if before.is_dir() != after.is_dir():
        raise ValueError(f"give two notebooks or two folders, not {before} and {after}")
    if before.is_dir():
        names = sorted(p.name for p in before.glob("*.ipynb"))
        missing = [n for n in names if not (after / n).exists()]
        if not names or missing:
            raise ValueError(f"{after} lacks {', '.join(missing)}" if missing else f"no notebooks in {before}")
        files = [(before / n, after / n) for n in names]
    else:
        files = [(before, after)]
    for path in (p for pair in files for p in pair):
        if not path.is_file():
            raise ValueError(f"{path} does not exist")
    return [(str(a), nbformat.read(a, as_version=4), str(b), nbformat.read(b, as_version=4)) for a, b in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the stored notebook, or a folder of them")
    parser.add_argument("after", type=Path, help="the new notebook, or a folder with the same names")
    parser.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR, help="where to save the full report")
    parser.add_argument(
        "--sanitize-with", type=Path, default=DEFAULT_SANITIZE, help="nbval sanitize file (default: the tests')"
    )
    args = parser.parse_args(argv)
    try:
        pairs = _pairs_from_paths(args.before, args.after)
        changes = report(pairs, args.report_dir, load_sanitize_patterns(args.sanitize_with))
    except (ValueError, OSError, nbformat.ValidationError) as error:
        print(f"nbval_report: {error}", file=sys.stderr)
        return 2
    return 1 if changes else 0


# ----- pytest plugin: the same report after a strict nbval run, from the outputs nbval computed -----

_ITEMS = pytest.StashKey[list]()
#: Outputs that pytest-xdist's workers computed: {notebook path: {code cell number: outputs}}.
_FROM_WORKERS = pytest.StashKey[dict]()
_WORKER_KEY = "nbval_report_outputs"


def pytest_addoption(parser):
    parser.getgroup("nbval").addoption(
        "--nbval-report-dir",
        default=str(DEFAULT_REPORT_DIR),
        help="where nbval_report saves the readable report of changed outputs (default: reports/nbval)",
    )


def pytest_collection_finish(session):
    from nbval.plugin import IPyNbCell

    session.config.stash[_ITEMS] = [item for item in session.items if isinstance(item, IPyNbCell)]


def _computed_outputs(items) -> dict[str, dict[int, list]]:
    """The outputs nbval computed for ``items``: {notebook path: {code cell number: outputs}}."""
    outputs: dict[str, dict[int, list]] = defaultdict(dict)
    for item in items:
        if getattr(item, "test_outputs", None) is not None:
            outputs[str(item.parent.path)][item.cell_num] = [dict(o) for o in item.test_outputs]
    return dict(outputs)


def pytest_sessionfinish(session):
    """In a pytest-xdist worker: send the outputs it computed to the controller, which writes the report."""
    if hasattr(session.config, "workeroutput"):
        items = session.config.stash.get(_ITEMS, [])
        session.config.workeroutput[_WORKER_KEY] = json.dumps(_computed_outputs(items))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """In pytest-xdist's controller: gather a finished worker's outputs."""
    sent = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if sent:
        gathered = node.config.stash.setdefault(_FROM_WORKERS, {})
        for path, cells in json.loads(sent).items():
            gathered.setdefault(path, {}).update({int(number): outputs for number, outputs in cells.items()})


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """After nbval's failures: the readable report, built from the outputs nbval computed in this run (in this
    process, or in pytest-xdist's workers)."""
    computed = config.stash.get(_FROM_WORKERS, None) or _computed_outputs(config.stash.get(_ITEMS, []))
    if not computed:
        return
    pairs = []
    for path, cells in sorted(computed.items()):
        stored = nbformat.read(path, as_version=4)
        new = copy.deepcopy(stored)
        code_cells = [c for c in new.cells if c.cell_type == "code"]
        for number, outputs in cells.items():
            code_cells[number].outputs = [nbformat.from_dict(o) for o in outputs]
        name = os.path.relpath(path, config.rootpath)
        pairs.append((name, stored, f"{name} (this run)", new))
    out = io.StringIO()
    report(pairs, Path(config.option.nbval_report_dir), load_sanitize_patterns(config.option.nbval_sanitize_with), out)
    terminalreporter.write_sep("=", "nbval_report: stored against new outputs")
    terminalreporter.write(out.getvalue())


if __name__ == "__main__":
    sys.exit(main())
