"""The learners' workbooks (scripts/make_workbooks.py): they hide the answers, run as handed out, and the hidden
solutions pass their checks.

Each numbered lesson of ``notebooks/`` is made into a workbook and executed twice in a fresh kernel: as a learner
receives it (every self-check must say "Not yet", and no cell may fail), and with each stub replaced by the
code of its collapsed ``<details>`` solution (every self-check must say "Correct").
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest
from conftest import REPO_ROOT
from nbclient import NotebookClient

LESSONS = sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb"))
#: What lesson 8's checks print instead of a verdict when the real HSC data have not been downloaded.
SKIPPED = "Skipped: no real data"


def _load_script():
    spec = importlib.util.spec_from_file_location("make_workbooks", REPO_ROOT / "scripts" / "make_workbooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


make_workbooks = _load_script()


@pytest.fixture(scope="session")
def workbook_root(tmp_path_factory, simulated_repo, lesson_survey) -> Path:
    """A folder laid out like the repository: ``workbooks/`` made by the script, beside ``DATA`` and ``SURVEY``."""
    root = tmp_path_factory.mktemp("learner")
    (root / "DATA").symlink_to(simulated_repo, target_is_directory=True)
    (root / "SURVEY").symlink_to(lesson_survey, target_is_directory=True)
    for name in ("requirements.lock", "README.md"):
        (root / name).symlink_to(REPO_ROOT / name)
    assert make_workbooks.main([str(REPO_ROOT / "notebooks"), str(root / "workbooks")]) == 0
    return root / "workbooks"


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type in {"execute_result", "display_data"}:
        return output.get("data", {}).get("text/plain", "")
    return ""


def _execute(notebooks: list, folder: Path) -> list[list[str]]:
    """Run each notebook in turn in one fresh kernel (its namespace reset in between), with ``folder`` as the
    working directory; the text output of every cell of each. One kernel saves starting it and importing the
    lesson's modules twice."""
    client = NotebookClient(
        notebooks[0], timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    texts = []
    with client.setup_kernel():
        for k, notebook in enumerate(notebooks):
            if k:
                # %reset also deletes __main__.__spec__, which multiprocessing's spawn (lesson 10's Dask workers)
                # reads; an interactive __main__ has it as None.
                client.execute_cell(nbformat.v4.new_code_cell("%reset -f\n__spec__ = None"), 0)
            client.nb = notebook
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
            texts.append(["".join(_text(output) for output in cell.get("outputs", [])) for cell in notebook.cells])
    return texts


def _check_cells(notebook) -> list[int]:
    """Index of each exercise's check: the first code cell after its collapsed solution."""
    indices = []
    for k, cell in enumerate(notebook.cells):
        if make_workbooks.DETAILS_TAG in cell.metadata.get("tags", []):
            indices.append(next(j for j in range(k + 1, len(notebook.cells)) if notebook.cells[j].cell_type == "code"))
    return indices


def _verdicts(outputs: list[str], indices: list[int]) -> list[str]:
    return [outputs[k].strip().splitlines()[0] if outputs[k].strip() else "(no output)" for k in indices]


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_workbook_hides_the_answers(lesson):
    source = nbformat.read(lesson, as_version=4)
    workbook = make_workbooks.make_workbook(source)
    nbformat.validate(workbook)
    n_solutions = sum("solution" in cell.metadata.get("tags", []) for cell in source.cells)
    stubs = [cell for cell in workbook.cells if make_workbooks.EXERCISE_TAG in cell.metadata.get("tags", [])]
    details = [cell for cell in workbook.cells if make_workbooks.DETAILS_TAG in cell.metadata.get("tags", [])]
    assert n_solutions >= 1 and len(stubs) == len(details) == n_solutions
    for cell in workbook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            assert "solution" not in cell.metadata.get("tags", [])
            assert "execution" not in cell.metadata
    for stub, hidden in zip(stubs, details, strict=True):
        assert hidden.source.startswith("<details><summary>Solution</summary>\n")
        assert hidden.source.endswith("</details>")
        # The stub shows no line of the solution: only comments, `name = ...` and a function's signature.
        code_lines = [line for line in stub.source.splitlines() if not line.startswith("#")]
        assert code_lines, stub.source
        for line in code_lines:
            assert line.endswith(" = ...") or line == "    return ..." or re.fullmatch(r"def \w+\(.*\):", line)
        assert make_workbooks.solution_of(hidden.source) in {
            cell.source for cell in source.cells if "solution" in cell.metadata.get("tags", [])
        }


def _run_both(lesson: Path, root: Path) -> tuple[list[str], list[str]]:
    """Execute a workbook as handed out and with its solutions; the first line of each check cell's output."""
    handed_out = nbformat.read(root / lesson.name, as_version=4)
    checks = _check_cells(handed_out)
    assert checks, f"{lesson.name}: no check cell after a solution"
    solved = nbformat.read(root / lesson.name, as_version=4)
    for k, cell in enumerate(solved.cells):
        if make_workbooks.EXERCISE_TAG in cell.metadata.get("tags", []):
            cell.source = make_workbooks.solution_of(solved.cells[k + 1].source)
    solved.cells = solved.cells[: checks[-1] + 1]  # what follows the last check cannot change a verdict
    outputs_handed_out, outputs_solved = _execute([handed_out, solved], root)
    return _verdicts(outputs_handed_out, checks), _verdicts(outputs_solved, checks)


#: Lessons run two at a time (one kernel each): the machines this runs on have at least 2 cores.
WORKERS = max(1, min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def workbook_runs(request, workbook_root):
    """The verdicts of every selected lesson's workbook, executed in the background as soon as the session needs
    the first one."""
    selected = [
        item.callspec.params["lesson"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_workbook_runs_as_handed_out_and_with_its_solutions"
    ]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        yield {lesson.name: pool.submit(_run_both, lesson, workbook_root) for lesson in selected}


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_workbook_runs_as_handed_out_and_with_its_solutions(lesson, workbook_runs):
    """As handed out, every check says "Not yet" and no cell fails; with the stubs replaced by the solutions
    from their <details> blocks, every check says "Correct"."""
    not_yet, correct = workbook_runs[lesson.name].result()
    for verdict in not_yet:
        assert verdict.startswith(("Not yet: replace the ...", SKIPPED)), not_yet
    assert all(verdict.startswith(("Correct: ", SKIPPED)) for verdict in correct), correct
    assert [v.startswith(SKIPPED) for v in not_yet] == [v.startswith(SKIPPED) for v in correct]


# --- the stub's names and the script's command line ---------------------------------------------------------
@pytest.mark.parametrize(
    ("solution", "later", "names"),
    [
        # Lesson 6's exercise: no answer_ prefix (make_student.py kept only answer_* names and lost it).
        (
            'explorer.set(patch="all")\nn_duplicates = explorer.truth_counts["duplicates"]\n',
            ["checks.check(n_duplicates, explorer)"],
            ["n_duplicates"],
        ),
        # Helper names the checks never read are left out; every answer a later cell reads is kept, in order.
        (
            "bright = x < 23\nn = count(bright)\npurity, completeness = n / a, n / b\n",
            ["check((purity, completeness))", "print(completeness)"],
            ["purity", "completeness"],
        ),
        # A later cell that rebinds a name before reading it does not need the solution's value.
        ("answer = 1\nflag = 2\n", ["flag = 3\nprint(flag)", "check(answer)"], ["answer"]),
        # Names bound inside if blocks and loops count; magics are ignored.
        (
            "answer = None\nif ok:\n    for k in x:\n        answer = k\n",
            ["%matplotlib inline\ncheck(answer)"],
            ["answer"],
        ),
    ],
)
def test_answer_names(solution, later, names):
    assert make_workbooks.answer_names(solution, later) == names


def test_a_solution_nobody_reads_is_an_error():
    with pytest.raises(ValueError, match="binds no name that a later cell reads"):
        make_workbooks.answer_names("result = 1\n", ["print(other)"])


def _run(argv: list[str], stdin: str) -> tuple[int, str]:
    out = io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out):
            code = make_workbooks.main(argv)
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue()


def test_command_line_never_overwrites_and_resets_only_when_asked(tmp_path):
    source = tmp_path / "notebooks"
    source.mkdir()
    for lesson in LESSONS[:2]:
        (source / lesson.name).write_bytes(lesson.read_bytes())
    (source / "README.ipynb").write_bytes(LESSONS[0].read_bytes())  # not numbered: not a lesson
    dest = tmp_path / "workbooks"
    assert _run([str(source), str(dest)], "") == (0, f"{dest}/: 2 workbook(s) created, 0 kept\n")
    assert sorted(p.name for p in dest.iterdir()) == [lesson.name for lesson in LESSONS[:2]]

    edited = dest / LESSONS[0].name
    edited.write_text(edited.read_text().replace("= ...", "= 42"))
    mine = edited.read_text()
    (dest / LESSONS[1].name).unlink()
    assert _run([str(source), str(dest)], "")[1] == f"{dest}/: 1 workbook(s) created, 1 kept\n"
    assert edited.read_text() == mine

    for reply in ("", "n\n", "whatever\n"):  # no stdin, or anything but yes, keeps the learner's work
        code, said = _run([str(source), str(dest), "--reset"], reply)
        assert (
            code == 0
            and "[y/N]" in said
            and said.endswith("Nothing changed. " + f"{dest}/: 0 workbook(s) created, 2 kept\n")
        )
        assert edited.read_text() == mine
    code, said = _run([str(source), str(dest), "--reset"], "y\n")
    assert said.endswith("2 workbook(s) created, 0 kept\n") and "= 42" not in edited.read_text()
    edited.write_text(mine)
    code, said = _run([str(source), str(dest), "--reset", "--yes"], "")
    assert "[y/N]" not in said and said.endswith("2 workbook(s) created, 0 kept\n")
    assert "= 42" not in edited.read_text()
    assert not list(dest.glob(".*.tmp"))


def test_a_rerun_with_every_workbook_there_skips_the_slow_import(tmp_path):
    # `make lab` runs the script every time; once every workbook exists it has nothing to read or write, so it
    # must not pay nbformat's 2 to 3 s import (nor make anything).
    source = tmp_path / "notebooks"
    source.mkdir()
    (source / LESSONS[0].name).write_bytes(LESSONS[0].read_bytes())
    dest = tmp_path / "workbooks"
    dest.mkdir()
    (dest / LESSONS[0].name).write_text("mine")
    script = REPO_ROOT / "scripts" / "make_workbooks.py"
    code = f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')"
    check = "import atexit, sys; atexit.register(lambda: print('nbformat' in sys.modules));"
    run = subprocess.run(
        [sys.executable, "-c", check + code, str(source), str(dest)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"{dest}/: 0 workbook(s) created, 1 kept\nFalse\n"
    assert (dest / LESSONS[0].name).read_text() == "mine"


def test_a_function_answer_gets_its_signature():
    solution = "def count_negative(table, *, flux='f'):\n    return (table[flux] < 0).sum()\n\nn = count_negative(t)\n"
    names = make_workbooks.answer_names(solution, ["check(count_negative, t)"])
    stub = make_workbooks.stub_source(names, solution)
    assert stub.endswith("def count_negative(table, *, flux='f'):\n    return ...\n")
    assert "table[flux]" not in stub


def test_names_local_to_a_function_are_not_answers():
    solution = (
        "def count_negative(table):\n    flux = table['f']\n    return (flux < 0).sum()\n\nn = count_negative(t)\n"
    )
    assert make_workbooks.answer_names(solution, ["flux = 1\nprint(flux)", "check(count_negative, t)"]) == [
        "count_negative"
    ]


# --- what the script must survive: other runs, odd folders, broken lessons --------------------------------------
def _lessons(tmp_path: Path, n: int = 2) -> tuple[Path, Path]:
    """A ``notebooks/`` folder holding the first ``n`` lessons, and where ``workbooks/`` goes beside it."""
    source = tmp_path / "notebooks"
    source.mkdir()
    for lesson in LESSONS[:n]:
        (source / lesson.name).write_bytes(lesson.read_bytes())
    return source, tmp_path / "workbooks"


def _error(argv: list[str], capsys) -> str:
    """Run the script, which must refuse with status 2 and one line on stderr; that line."""
    assert make_workbooks.main(argv) == 2
    said = capsys.readouterr().err
    assert said.startswith("make_workbooks: error: ") and said.count("\n") == 1, said
    return said


def test_a_run_that_finishes_while_another_writes_neither_crashes_it_nor_is_overwritten(tmp_path, monkeypatch, capsys):
    # Two `make lab` at once: the second run writes and publishes the workbook between the first run's write and
    # its rename (the two shared one temporary file, so the first died with FileNotFoundError).
    source, dest = _lessons(tmp_path, 1)
    real_write = nbformat.write

    def write_then_let_another_run_finish(*args, **kwargs):
        real_write(*args, **kwargs)
        monkeypatch.setattr(nbformat, "write", real_write)
        assert make_workbooks.main([str(source), str(dest)]) == 0

    monkeypatch.setattr(nbformat, "write", write_then_let_another_run_finish)
    assert make_workbooks.main([str(source), str(dest)]) == 0
    assert (
        capsys.readouterr().out == f"{dest}/: 1 workbook(s) created, 0 kept\n{dest}/: 0 workbook(s) created, 1 kept\n"
    )
    assert sorted(p.name for p in dest.iterdir()) == [LESSONS[0].name]
    nbformat.validate(nbformat.read(dest / LESSONS[0].name, as_version=4))


def test_a_workbook_that_appears_while_the_script_writes_is_kept(tmp_path, monkeypatch, capsys):
    source, dest = _lessons(tmp_path, 1)
    real_write = nbformat.write

    def write_while_the_learner_saves(*args, **kwargs):
        real_write(*args, **kwargs)
        (dest / LESSONS[0].name).write_text("mine")

    monkeypatch.setattr(nbformat, "write", write_while_the_learner_saves)
    assert make_workbooks.main([str(source), str(dest)]) == 0
    assert capsys.readouterr().out == f"{dest}/: 0 workbook(s) created, 1 kept\n"
    assert (dest / LESSONS[0].name).read_text() == "mine"
    assert sorted(p.name for p in dest.iterdir()) == [LESSONS[0].name]


def test_a_filesystem_without_hard_links_still_gets_its_workbooks(tmp_path, monkeypatch, capsys):
    """FAT and exFAT (a USB stick) have no hard links: the workbooks are renamed into place instead."""
    source, dest = _lessons(tmp_path, 2)
    dest.mkdir()
    (dest / LESSONS[1].name).write_text("mine")

    def no_links(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(make_workbooks.os, "link", no_links)
    assert make_workbooks.main([str(source), str(dest)]) == 0
    assert capsys.readouterr().out == f"{dest}/: 1 workbook(s) created, 1 kept\n"
    assert json.loads((dest / LESSONS[0].name).read_text())["cells"]
    assert (dest / LESSONS[1].name).read_text() == "mine"
    assert sorted(p.name for p in dest.iterdir()) == sorted(lesson.name for lesson in LESSONS[:2])


def test_a_file_where_the_workbooks_folder_should_be_is_an_error(tmp_path, capsys):
    source, dest = _lessons(tmp_path)
    dest.write_text("my notes")
    for extra in ([], ["--reset", "--yes"]):
        said = _error([str(source), str(dest), *extra], capsys)
        assert str(dest) in said and "move it away" in said
        assert dest.read_text() == "my notes"


def test_a_folder_where_a_workbook_should_be_is_an_error_and_nothing_is_written(tmp_path, capsys):
    source, dest = _lessons(tmp_path)
    (dest / LESSONS[1].name).mkdir(parents=True)
    said = _error([str(source), str(dest)], capsys)
    assert f"{dest / LESSONS[1].name} is a folder" in said
    assert [p.name for p in dest.iterdir()] == [LESSONS[1].name]  # the other workbook was not made either

    (dest / LESSONS[0].name).write_text("mine")
    said = _error([str(source), str(dest), "--reset", "--yes"], capsys)
    assert f"{dest / LESSONS[1].name} is a folder" in said
    assert (dest / LESSONS[0].name).read_text() == "mine" and (dest / LESSONS[1].name).is_dir()
    assert sorted(p.name for p in dest.iterdir()) == [lesson.name for lesson in LESSONS[:2]]


def test_a_read_only_workbooks_folder_is_an_error(tmp_path, monkeypatch, capsys):
    source, dest = _lessons(tmp_path)
    dest.mkdir()
    dest.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway: make the write fail as it does for anyone else

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(nbformat, "write", refuse)
    try:
        said = _error([str(source), str(dest)], capsys)
        assert f"cannot write {dest / LESSONS[0].name}" in said and f"make {dest} writable" in said
        assert list(dest.iterdir()) == []
    finally:
        dest.chmod(0o755)


def test_a_lesson_with_a_merge_conflict_is_an_error_and_no_workbook_is_written(tmp_path, capsys):
    source, dest = _lessons(tmp_path)
    broken = source / LESSONS[1].name
    text = broken.read_text()
    broken.write_text(f"<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other-branch\n")
    said = _error([str(source), str(dest)], capsys)
    assert f"{broken} is not valid notebook JSON" in said and "merge conflict" in said
    assert "no workbook was written" in said
    assert not dest.exists() or not list(dest.iterdir())


def test_a_symbolic_link_where_a_workbook_should_be_is_never_replaced(tmp_path, capsys):
    # A workbook linked to a USB stick that is not mounted: the link dangles, and must survive.
    source, dest = _lessons(tmp_path, 1)
    dest.mkdir()
    link = dest / LESSONS[0].name
    elsewhere = tmp_path / "usb" / "mine.ipynb"
    link.symlink_to(elsewhere)
    assert make_workbooks.main([str(source), str(dest)]) == 0
    said = capsys.readouterr()
    assert said.out == f"{dest}/: 0 workbook(s) created, 1 kept\n" and str(link) in said.err
    said = _error([str(source), str(dest), "--reset", "--yes"], capsys)
    assert f"{link} is a symbolic link" in said
    assert link.is_symlink() and os.readlink(link) == str(elsewhere) and not elsewhere.exists()
    assert [p.name for p in dest.iterdir()] == [link.name]


def test_a_workbooks_folder_that_is_the_lessons_folder_is_refused(tmp_path, capsys):
    source, dest = _lessons(tmp_path)
    dest.symlink_to(source, target_is_directory=True)
    lessons = {path.name: path.read_bytes() for path in source.iterdir()}
    for extra in ([], ["--reset", "--yes"]):
        said = _error([str(source), str(dest), *extra], capsys)
        assert f"{dest} is the lessons' folder" in said
    assert {path.name: path.read_bytes() for path in source.iterdir()} == lessons
