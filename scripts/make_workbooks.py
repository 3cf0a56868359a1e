"""Write the learners' workbooks: the lessons without outputs, each solution replaced by a stub to fill in.

Run ``python scripts/make_workbooks.py notebooks workbooks`` (``make lab`` does it). Each missing workbook is
created; an existing one is never touched, so a learner's edits survive. ``--reset`` recreates them all after
asking (``--yes`` answers for you).

In a workbook, every code cell tagged ``solution`` in the lesson becomes

* a stub cell (tagged ``exercise``) that assigns ``...`` to each name the solution defines and a later cell
  reads, so the check cell after it runs and says "Not yet" until the learner fills the stub in;
* a markdown cell (tagged ``solution-details``) holding the solution's code inside a collapsed
  ``<details><summary>Solution</summary>`` block, which shows nothing until it is clicked.

Workbooks sit beside ``notebooks/`` (``workbooks/`` at the repository root), so their relative paths
(``../DATA``, ``../README.md``) resolve the same way.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
DETAILS_TAG = "solution-details"
STUB_HEADER = (
    "# Your turn: replace each ... by your answer, run this cell, then run the check below.\n"
    "# Stuck? The collapsed Solution under this cell shows one way.\n"
)
SUMMARY = "<summary>Solution</summary>"


def _python_source(source: str) -> str:
    """Cell source without IPython magics and shell escapes, which ``ast`` cannot parse."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _bound_names(tree: ast.AST) -> list[str]:
    """Names a cell binds in its own namespace (assignments, loops, with, imports, defs), in order of appearance.

    The bodies of functions, classes, lambdas and comprehensions are not entered: their names are local.
    """
    names: list[str] = []
    scopes = (
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Lambda,
        ast.ListComp,
        ast.SetComp,
        ast.DictComp,
        ast.GeneratorExp,
    )

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.extend((alias.asname or alias.name).split(".")[0] for alias in node.names)
        if node is tree or not isinstance(node, scopes):
            for child in ast.iter_child_nodes(node):
                visit(child)

    visit(tree)
    return list(dict.fromkeys(names))


def _read_names(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def answer_names(solution: str, later_sources: list[str]) -> list[str]:
    """The names a stub must define: those the solution binds and a later cell reads before rebinding them.

    Parameters
    ----------
    solution : str
        Source of the solution cell.
    later_sources : list of str
        Sources of the code cells after it, in order.

    Returns
    -------
    list of str
        In the order the solution binds them.

    Raises
    ------
    ValueError
        If the solution binds nothing that a later cell reads: then no check could see the answer.
    """
    bound = _bound_names(ast.parse(_python_source(solution)))
    pending = set(bound)
    used: set[str] = set()
    for source in later_sources:
        for statement in ast.parse(_python_source(source)).body:  # reads of a statement come before its binds
            used |= pending & _read_names(statement)
            pending -= set(_bound_names(statement)) | used
    names = [name for name in bound if name in used]
    if not names:
        raise ValueError(
            "a solution cell binds no name that a later cell reads, so no check can see its answer; "
            f"it binds {bound or 'nothing'}:\n{solution}"
        )
    return names


def stub_source(names: list[str], solution: str = "") -> str:
    """The stub: ``name = ...`` per name; for a function the solution defines, its signature returning ``...``."""
    functions = {
        node.name: node
        for node in ast.parse(_python_source(solution)).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    lines = []
    for name in names:
        if name in functions:
            lines.append(f"def {name}({ast.unparse(functions[name].args)}):\n    return ...\n")
        else:
            lines.append(f"{name} = ...\n")
    return STUB_HEADER + "".join(lines)


def details_source(solution: str) -> str:
    """Markdown of a collapsed block holding ``solution`` as a Python code block."""
    longest_backticks = max((len(run) for run in re.findall(r"`+", solution)), default=0)
    fence = "`" * max(3, longest_backticks + 1)
    return f"<details>{SUMMARY}\n\n{fence}python\n{solution.rstrip()}\n{fence}\n\n</details>"


def solution_of(details: str) -> str:
    """The code inside a block written by :func:`details_source` (what the tests run in place of the stub)."""
    match = re.search(r"^(`{3,})python\n(.*?)\n\1$", details, flags=re.S | re.M)
    if match is None:
        raise ValueError(f"no Python code block in this solution cell:\n{details}")
    return match.group(2)


def make_workbook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A learner's workbook made from a lesson (the lesson itself is not changed)."""
    import nbformat

    workbook = copy.deepcopy(notebook)
    workbook.metadata.pop("widgets", None)  # saved widget state belongs to the outputs we drop
    code_sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    cells, n_code = [], 0
    for cell in workbook.cells:
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        n_code += 1
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)  # timings
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG not in tags:
            continue
        solution = cell.source
        cell.source = stub_source(answer_names(solution, code_sources[n_code:]), solution)
        cell.metadata["tags"] = [tag for tag in tags if tag != SOLUTION_TAG] + [EXERCISE_TAG]
        cell.metadata.pop("jupyter", None)  # the stub is meant to be seen
        details = nbformat.v4.new_markdown_cell(details_source(solution), metadata={"tags": [DETAILS_TAG]})
        details.id = f"{cell.id}-solution" if "id" in cell else details.id
        cells.append(details)
    workbook.cells = cells
    return workbook


def _write(notebook: nbformat.NotebookNode, path: Path) -> None:
    import nbformat

    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(notebook, tmp)
    tmp.replace(path)


def _confirm(question: str) -> bool:
    """Ask a yes/no question on stdin; anything but y/yes, or no stdin at all, is no."""
    print(f"{question} [y/N] ", end="", flush=True)
    try:
        reply = sys.stdin.readline() if sys.stdin is not None else ""
    except (OSError, ValueError):
        reply = ""
    if not reply:
        print("(no answer: nothing changed)")
    return reply.strip().lower() in {"y", "yes"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="folder of the lessons (numbered .ipynb), e.g. notebooks")
    parser.add_argument("dest", type=Path, help="folder of the workbooks, e.g. workbooks")
    parser.add_argument("--reset", action="store_true", help="recreate every workbook, losing the edits in them")
    parser.add_argument("--yes", action="store_true", help="with --reset: do not ask")
    args = parser.parse_args(argv)

    lessons = sorted(args.source.glob("[0-9]*.ipynb"))
    if not lessons:
        parser.error(f"no numbered notebooks (like 01_name.ipynb) in {args.source}")
    existing = [args.dest / lesson.name for lesson in lessons if (args.dest / lesson.name).exists()]
    if args.reset and existing and not args.yes:
        question = f"Recreate {len(existing)} workbook(s) in {args.dest}/? Your answers in them will be lost."
        if not _confirm(question):
            print(f"{args.dest}/: 0 workbook(s) created, {len(existing)} kept")
            return 0
    args.dest.mkdir(parents=True, exist_ok=True)
    created = kept = 0
    for lesson in lessons:
        target = args.dest / lesson.name
        if target.exists() and not args.reset:
            kept += 1
            continue
        # Imported only when a workbook is made: its import takes 2 to 3 s (jsonschema's format checkers load
        # rfc3987-syntax, which builds a parser), which every `make lab` after the first would otherwise pay.
        import nbformat

        _write(make_workbook(nbformat.read(lesson, as_version=4)), target)
        created += 1
    print(f"{args.dest}/: {created} workbook(s) created, {kept} kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
