"""Write the learners' workbooks: the lessons without outputs, each solution replaced by a stub to fill in.

Run ``python scripts/make_workbooks.py notebooks workbooks`` (``make lab`` does it). Each missing workbook is
created; an existing one is never touched, so a learner's edits survive. ``--reset`` recreates them all after
asking (``--yes`` answers for you).

In a workbook, every code cell tagged ``solution`` in the lesson becomes

* a stub cell (tagged ``exercise``) that assigns ``...`` to each name the solution defines and a later cell
  reads, so the check cell after it runs and says "Not yet" until the learner fills the stub in;
* a markdown cell (tagged ``solution-details``) holding the solution's code inside a collapsed
  ``<details><summary>Solution</summary>`` block, which shows nothing until it is clicked.

A symbolic link where a workbook should be is kept and never followed (``--reset`` refuses it). A file where the
folder should be, a folder where a workbook should be, or a lesson that is not valid notebook JSON stops the script
before it writes anything, with a one-line error.

Workbooks sit beside ``notebooks/`` (``workbooks/`` at the repository root), so their relative paths
(``../DATA``, ``../README.md``) resolve the same way.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import re
import secrets
import stat
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


class WorkbookError(Exception):
    """A bad input or folder the user must fix: :func:`main` prints the message on one line and exits with 2."""


def _check_dest(source: Path, dest: Path) -> None:
    """Refuse a destination that is not a folder (a file, a dangling link) or that is the lessons' folder.

    Raises
    ------
    WorkbookError
        Naming ``dest`` and what to do.
    """
    if dest.is_symlink() and not dest.exists():
        raise WorkbookError(
            f"{dest} is a symbolic link to {os.readlink(dest)}, which does not exist: "
            "mount or create that folder, or remove the link"
        )
    if dest.exists() and not dest.is_dir():
        raise WorkbookError(f"{dest} is a file, not a folder: move it away, then run again")
    # samefile also catches a bind mount or a case-insensitive spelling, which resolve() does not.
    if dest.is_dir() and dest.samefile(source):
        raise WorkbookError(f"{dest} is the lessons' folder {source}: the workbooks need a folder of their own")


def _existing(target: Path) -> bool:
    """Whether a workbook is at ``target``: a regular file or a symbolic link (never followed) is, nothing is not.

    Raises
    ------
    WorkbookError
        If anything else is there (a folder, a fifo...): the script neither writes into nor counts it.
    """
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return False
    except OSError as error:
        raise WorkbookError(
            f"cannot look at {target}: {error.strerror}: check that path and its folders' permissions"
        ) from None
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        return True
    kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
    raise WorkbookError(f"{target} is {kind}, where a workbook should be: move it away, then run again")


def _read(lesson: Path) -> nbformat.NotebookNode:
    """The lesson as a version 4 notebook.

    Raises
    ------
    WorkbookError
        If it cannot be read or is not a notebook.
    """
    # Imported only when a workbook is made: its import takes 2 to 3 s (jsonschema's format checkers load
    # rfc3987-syntax, which builds a parser), which every `make lab` after the first would otherwise pay.
    import nbformat

    try:
        return nbformat.read(lesson, as_version=4)
    except OSError as error:
        raise WorkbookError(f"cannot read the lesson {lesson}: {error.strerror}; no workbook was written") from None
    except nbformat.reader.NotJSONError:
        raise WorkbookError(
            f"{lesson} is not valid notebook JSON (a merge conflict left in it?): fix it; no workbook was written"
        ) from None
    except (ValueError, nbformat.ValidationError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise WorkbookError(f"{lesson} is not a valid notebook ({first_line}); no workbook was written") from None


def _publish(notebook: nbformat.NotebookNode, path: Path, *, replace: bool) -> bool:
    """Write ``notebook`` to a temporary file beside ``path``, then move it to ``path`` in one step.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        The workbook.
    path : pathlib.Path
        Where it goes.
    replace : bool
        Replace what is at ``path`` (``--reset``); otherwise a file that appeared there since the script looked
        (another run, the learner) is kept.

    Returns
    -------
    bool
        Whether the workbook was written (False: kept what was there).
    """
    import nbformat

    # A name of its own per run, so two runs never share a temporary file; opened with "x" rather than made by
    # mkstemp, whose files are private (0600) where a workbook gets the usual permissions.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as file:
            nbformat.write(notebook, file)
        if replace:
            tmp.replace(path)
            return True
        try:
            os.link(tmp, path)  # unlike a rename, fails if path exists, so nothing made meanwhile is replaced
        except FileExistsError:
            return False
        except OSError:  # no hard links here (FAT or exFAT, as on a USB stick): check, then rename
            if os.path.lexists(path):
                return False
            tmp.replace(path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


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


def _make_workbooks(source: Path, dest: Path, lessons: list[Path], *, reset: bool, yes: bool) -> None:
    """Check the destination, every workbook's place and every lesson to read, then write the workbooks.

    Raises
    ------
    WorkbookError
        Before anything is written if a check fails; naming the workbook if one cannot be written.
    """
    _check_dest(source, dest)
    targets = [dest / lesson.name for lesson in lessons]
    existing = {target for target in targets if _existing(target)}
    links = [target for target in targets if target.is_symlink()]
    if reset and links:
        raise WorkbookError(f"{links[0]} is a symbolic link, which --reset never replaces: remove it, then run again")
    for link in links:
        print(f"make_workbooks: {link} is a symbolic link: kept, not followed", file=sys.stderr)
    if reset and existing and not yes:
        question = f"Recreate {len(existing)} workbook(s) in {dest}/? Your answers in them will be lost."
        if not _confirm(question):
            print(f"Nothing changed. {dest}/: 0 workbook(s) created, {len(existing)} kept")
            return
    to_write = {
        target: lesson for target, lesson in zip(targets, lessons, strict=True) if reset or target not in existing
    }
    notebooks = {target: _read(lesson) for target, lesson in to_write.items()}  # all read before any is written
    workbooks = {target: make_workbook(notebook) for target, notebook in notebooks.items()}
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fix = "make its parent folder writable" if isinstance(error, PermissionError) else "fix the path"
        raise WorkbookError(f"cannot make the folder {dest}: {error.strerror}: {fix}") from None
    created = 0
    for target, workbook in workbooks.items():
        try:
            created += _publish(workbook, target, replace=reset)
        except OSError as error:
            fix = f"make {dest} writable (chmod u+w {dest})" if isinstance(error, PermissionError) else "fix that"
            raise WorkbookError(
                f"cannot write {target}: {error.strerror}: {fix}, then run again ({created} workbook(s) written)"
            ) from None
    print(f"{dest}/: {created} workbook(s) created, {len(targets) - created} kept")


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
    try:
        _make_workbooks(args.source, args.dest, lessons, reset=args.reset, yes=args.yes)
    except WorkbookError as error:
        print(f"make_workbooks: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
