"""A learner's way in: what `make lab` runs, the Makefile's quoting, every link and documented command, the times.

The Makefile is read with ``make -n`` (print, do not run) and ``-o .venv/.installed`` (never reinstall), so these
tests run offline in seconds and start no server; ``benchmarks/setup_time.py`` starts the real thing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from conftest import REPO_ROOT

MAKEFILE = REPO_ROOT / "Makefile"
LESSONS = sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb"))
PAGES = sorted((REPO_ROOT / "pages").glob("*.ipynb"))
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def make(*args: str, fake_uid: int | None = None, tmp_path: Path | None = None) -> subprocess.CompletedProcess:
    """Run make in the repository without reinstalling; with ``fake_uid``, `id -u` answers that number."""
    env = dict(os.environ)
    if fake_uid is not None:
        fake_bin = tmp_path / "bin"
        fake_bin.mkdir(exist_ok=True)
        (fake_bin / "id").write_text(f"#!/bin/sh\necho {fake_uid}\n")
        (fake_bin / "id").chmod(0o755)
        env["PATH"] = f"{fake_bin}:{env['PATH']}"
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT), "-o", ".venv/.installed", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _jupyter_command(output: str) -> list[str]:
    line = next(line for line in output.splitlines() if '/bin/jupyter" lab' in line)
    return shlex.split(line)


# --------------------------------------------------------------------------------------------------------
# make lab
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("uid", [0, 1000])
def test_make_lab_serves_the_repository_root_on_localhost_with_a_token(uid, tmp_path):
    result = make("-n", "lab", fake_uid=uid, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    words = _jupyter_command(result.stdout)
    # --allow-root exactly when the user is root (Jupyter refuses root without it)
    assert ("--allow-root" in words) == (uid == 0)
    assert "--ServerApp.ip=127.0.0.1" in words
    # The token reaches Jupyter through its environment, never its command line (which `ps` shows every user);
    # yours, else a random one, never empty; and it is printed, since Jupyter prints a token it did not make
    # as "?token=..."
    assert not [w for w in words if "token=" in w.lower() and w.startswith("--")]
    assert 'JUPYTER_TOKEN="$token"' in next(line for line in result.stdout.splitlines() if '/bin/jupyter" lab' in line)
    chosen = next(line for line in result.stdout.splitlines() if line.startswith("token="))
    assert "${JUPYTER_TOKEN:-" in chosen and "secrets.token_hex" in chosen and "echo \"JupyterLab's token" in chosen
    # the recipe's folder as the shell knows it ($PWD): make's $(CURDIR) pasted into the shell would expand a
    # "$" in the folder's name
    assert "--ServerApp.root_dir=$PWD" in words
    assert "--LabApp.default_url=/lab/tree/workbooks/00_setup_and_data.ipynb" in words
    # .venv/bin first on PATH, so the terminals of JupyterLab find the project's Python
    path = next(w for w in words if w.startswith("PATH="))
    assert path.startswith("PATH=$PWD/.venv/bin:")
    # the workbooks are created (never overwritten) before JupyterLab starts
    lines = result.stdout.splitlines()
    create = next(
        i
        for i, line in enumerate(lines)
        if 'scripts/make_workbooks.py" notebooks workbooks' in line
        or "scripts/make_workbooks.py notebooks workbooks" in line
    )
    assert "--reset" not in lines[create]
    assert create < next(i for i, line in enumerate(lines) if '/bin/jupyter" lab' in line)


def test_make_lab_turns_news_and_update_checks_off_with_shipped_settings(tmp_path):
    words = _jupyter_command(make("-n", "lab", fake_uid=1000, tmp_path=tmp_path).stdout)
    settings = next(w for w in words if w.startswith("--LabApp.app_settings_dir=")).split("=", 1)[1]
    assert settings.startswith("$PWD/"), "the settings must ship with the project, not live in $HOME"
    settings_dir = REPO_ROOT / settings.removeprefix("$PWD/")
    overrides = json.loads((settings_dir / "overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
    assert "--LabApp.news_url=None" in words
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in words


def test_the_first_workbook_is_a_lesson():
    assert (REPO_ROOT / "notebooks" / "00_setup_and_data.ipynb").exists()
    assert "workbooks/" in (REPO_ROOT / ".gitignore").read_text().splitlines()


def test_make_reset_workbooks_asks_through_the_script(tmp_path):
    result = make("-n", "reset-workbooks")
    assert result.returncode == 0, result.stderr
    assert re.search(r"make_workbooks\.py\"? notebooks workbooks --reset$", result.stdout, flags=re.M)
    assert "--yes" not in result.stdout  # the script asks before it recreates anything
    # make student is the same mechanism
    student = make("-n", "student")
    assert "make_workbooks.py" in student.stdout and "make_student" not in student.stdout


@pytest.mark.parametrize(
    "setting", ["JUPYTER_PORT=99999", "JUPYTER_PORT=abc", "JUPYTER_PORT=-1", "EXPLORER_PORT=70000"]
)
@pytest.mark.parametrize("target", ["lab", "explorer"])
def test_a_port_that_is_not_one_is_refused_before_anything_is_built(target, setting, tmp_path):
    """Before, `make lab JUPYTER_PORT=99999` built DATA and the workbooks, then refused (a probe)."""
    repo = tmp_path / "NEW_DATA"
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT), "-o", ".venv/.installed", target, setting],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "REPO": str(repo), "LAB_BROWSER": "no"},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"make: {setting} is not a port: use a whole number from 1 to 65535" in result.stderr
    assert not repo.exists(), "the data were built before the setting was checked"
    assert "data_fetch" not in result.stdout


@pytest.mark.parametrize("value", ["No", "false", "yes no"])
def test_lab_browser_is_yes_or_no(value):
    result = make("-n", "lab", f"LAB_BROWSER={value}")
    assert result.returncode == 2
    assert f"LAB_BROWSER must be yes or no, not '{value}'" in result.stderr


def test_an_empty_port_means_the_default():
    """`JUPYTER_PORT=$PORT make lab` with PORT unset: Jupyter would crash on int(""), Voila on --port=""."""
    lab = make("-n", "lab", "JUPYTER_PORT=").stdout
    assert '[ -n "${JUPYTER_PORT-}" ] || unset JUPYTER_PORT;' in lab
    assert lab.index("unset JUPYTER_PORT") < lab.index('/bin/jupyter" lab')
    assert '--port="${EXPLORER_PORT:-8866}"' in make("-n", "explorer", "EXPLORER_PORT=").stdout


def test_make_explorer_serves_the_page_with_voila_on_localhost():
    result = make("-n", "explorer")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if '/bin/voila"' in line)
    assert "pages/explorer.ipynb" in line and "--Voila.ip=127.0.0.1" in line and "--token" in line
    assert (REPO_ROOT / "pages" / "explorer.ipynb").exists()


# --------------------------------------------------------------------------------------------------------
# Installing (the commands themselves: tests/test_setup_venv.py)
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("installer", ["conda", "uv pip", ""])
def test_an_unknown_installer_is_refused(installer):
    result = make("-n", "venv", f"INSTALLER={installer}")
    assert result.returncode != 0
    assert f"INSTALLER must be uv or pip, not '{installer}'" in result.stderr


# --------------------------------------------------------------------------------------------------------
# REPO is never pasted into the shell
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["data", "rebuild-data", "download-hsc"])
@pytest.mark.parametrize(
    "template",
    [
        "DATA; touch {marker} #",
        "DATA && touch {marker}",
        "$(touch {marker})",
        "`touch {marker}`",
        "DATA | touch {marker}",
        "DATA\ntouch {marker}",
    ],
)
def test_make_refuses_a_repo_with_shell_metacharacters(target, template, tmp_path):
    marker = tmp_path / "PWNED"
    result = make(target, f"REPO={template.format(marker=marker)}")
    assert not marker.exists(), f"make {target} ran a command hidden in REPO"
    assert result.returncode != 0
    assert "is not a plain path" in result.stderr


def test_make_survey_builds_lesson_10s_survey_through_the_command_line():
    result = make("-n", "survey")
    assert result.returncode == 0, result.stderr
    assert "-m data_fetch survey --out SURVEY --lesson --if-stale --quiet" in result.stdout


def test_a_plain_repo_is_passed_quoted():
    result = make("-n", "data", "REPO=some/other_DATA-2")
    assert result.returncode == 0, result.stderr
    assert '-m data_fetch simulate --repo "$REPO" --if-stale' in result.stdout


def test_no_recipe_pastes_the_folder_name_into_the_shell():
    """$(CURDIR) in a recipe is the folder's name pasted into the shell: a "$" in it expands (a probe's
    `price $5` folder broke make lab); recipes use the shell's own $PWD."""
    pasted = [line for line in MAKEFILE.read_text().splitlines() if "$(CURDIR)" in line and not line.startswith("#")]
    assert not pasted, "\n".join(pasted)


def test_every_recipe_quotes_its_variables():
    """No make variable that holds a path is pasted into a recipe without quotes."""
    unquoted = []
    for number, line in enumerate(MAKEFILE.read_text().splitlines(), start=1):
        if not line.startswith("\t"):
            continue
        for match in re.finditer(r"\$\((PY|PYTHON|VENV|UV|REPO|CURDIR|FIRST_WORKBOOK|EXPLORER_PAGE)\)", line):
            before, after = line[: match.start()], line[match.end() :]
            if before.count('"') % 2 == 0 and not re.match(r"[^\s\"]*\"", after):
                unquoted.append(f"Makefile:{number}: {line.strip()}")
    assert not unquoted, "\n".join(unquoted)


# --------------------------------------------------------------------------------------------------------
# Documented commands and links
# --------------------------------------------------------------------------------------------------------
def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", MAKEFILE.read_text(), flags=re.M))


def _documents():
    """(path, markdown text) of the README, docs and every markdown cell of the lessons and pages."""
    for path in DOCS:
        yield path, path.read_text()
    for path in [*LESSONS, *PAGES]:
        notebook = nbformat.read(path, as_version=4)
        yield path, "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def test_every_documented_make_command_is_a_target():
    targets = _make_targets()
    commands = r"`make ([a-z][\w-]*)[^`]*`|^(?:\s{4,}|\$ )make ([a-z][\w-]*)"  # `make x ...`, or a code line
    missing = {
        f"{path.relative_to(REPO_ROOT)}: make {name}"
        for path, text in _documents()
        for match in re.finditer(commands, text, flags=re.M)
        if (name := match.group(1) or match.group(2)) not in targets
    }
    assert not missing, f"documented but not in the Makefile: {sorted(missing)}"


def test_readme_and_docs_run_python_through_make_or_the_venv():
    """`python -m data_fetch ...` fails outside the venv: the docs use a make target or .venv/bin/python."""
    bare = [
        f"{path.relative_to(REPO_ROOT)}: {match.group(0).strip()}"
        for path in DOCS
        for match in re.finditer(r"(?<![\w/.])python3? (-m \w+|\S+\.py)[^\n`]*", path.read_text())
    ]
    assert not bare, "use the make target or .venv/bin/python:\n" + "\n".join(bare)


def _slug(heading: str) -> str:
    """GitHub's and JupyterLab's anchor for a markdown heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    if path.suffix == ".ipynb":
        notebook = nbformat.read(path, as_version=4)
        text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    else:
        text = path.read_text()
    return {_slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.M)}


def _relative_links(text: str):
    for match in re.finditer(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|(?:href|src)=\"([^\"]+)\"", text):
        target = match.group(1) or match.group(2)
        parsed = urlparse(target)
        if parsed.scheme or target.startswith(("mailto:", "//")):
            continue
        yield target, unquote(parsed.path), parsed.fragment


def test_every_relative_link_points_to_a_file_that_exists():
    checked, broken = 0, []
    for path, text in _documents():
        for target, file_part, fragment in _relative_links(text):
            destination = (path.parent / file_part).resolve() if file_part else path
            checked += 1
            if not destination.exists():
                broken.append(f"{path.relative_to(REPO_ROOT)}: ({target}) -> no such file")
            elif not destination.is_relative_to(REPO_ROOT):
                broken.append(f"{path.relative_to(REPO_ROOT)}: ({target}) leaves the repository")
            elif fragment and destination.suffix in (".md", ".ipynb") and fragment not in _anchors(destination):
                broken.append(f"{path.relative_to(REPO_ROOT)}: ({target}) -> no heading #{fragment}")
    assert not broken, "\n".join(broken)
    assert checked >= 5  # lesson 0's link to the README, the "what next" links between lessons


def test_workbooks_sit_beside_notebooks_so_their_links_work():
    """A workbook is a lesson copied to workbooks/: the same depth, so '../README.md' and '../DATA' still work."""
    assert Path("workbooks/00_setup_and_data.ipynb").parent.parent == Path("notebooks/x.ipynb").parent.parent
    lesson0 = nbformat.read(LESSONS[0], as_version=4)
    assert any("../README.md" in cell.source for cell in lesson0.cells)


# --------------------------------------------------------------------------------------------------------
# How long the lessons take: the lessons' own estimates, the README and the instructor's schedule agree
# --------------------------------------------------------------------------------------------------------
def _estimate(path: Path) -> int:
    first = nbformat.read(path, as_version=4).cells[0].source
    found = re.search(r"\*\*Estimated time:?\*\*:?\s*(\d+)\s*min", first)
    assert found, f"{path.name}: no '**Estimated time**: N minutes' in its first cell"
    return int(found.group(1))


def _schedule() -> list[tuple[int, str]]:
    """(minute, what) of each row of docs/instructor.md's schedule table, the end row included."""
    rows = re.findall(
        r"^\|\s*(\d+):(\d\d)\s*\|\s*([^|]+?)\s*\|", (REPO_ROOT / "docs" / "instructor.md").read_text(), flags=re.M
    )
    return [(int(h) * 60 + int(m), what) for h, m, what in rows]


def test_readme_states_the_total_of_the_lessons_estimates():
    total = sum(_estimate(path) for path in LESSONS)
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"{total} minutes" in readme, f"the lessons' own estimates add up to {total} minutes; say so in the README"


def test_instructor_schedule_gives_every_lesson_its_own_estimate():
    schedule = _schedule()
    assert schedule, "docs/instructor.md has no schedule table"
    lengths = {}
    for (start, what), (end, _) in zip(schedule, schedule[1:], strict=False):
        lesson = re.match(r"(\d+)\s", what)
        if lesson:
            lengths[int(lesson.group(1))] = end - start
    expected = {int(path.name[:2]): _estimate(path) for path in LESSONS}
    assert lengths == expected, "the schedule's slots (minutes) must be the lessons' own estimates"
    assert "end" in schedule[-1][1].lower()
    total = schedule[-1][0] - schedule[0][0]
    text = (REPO_ROOT / "docs" / "instructor.md").read_text()
    assert f"{total // 60} hours" in text or f"{total} minutes" in text


def test_make_clean_deletes_only_what_the_project_made(tmp_path):
    (tmp_path / "Makefile").write_bytes(MAKEFILE.read_bytes())
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "thesis.tex").write_text("mine")  # a .venv that is not a venv: setup_venv refuses it
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "my_analysis.md").write_text("mine")
    (tmp_path / "reports" / "nbval").mkdir()
    (tmp_path / "student").mkdir()  # the learners' workbooks of earlier versions
    result = subprocess.run(["make", "-C", str(tmp_path), "clean"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "is not a virtual environment this project made; it is left alone" in result.stderr
    assert (tmp_path / ".venv" / "thesis.tex").exists() and (tmp_path / "reports" / "my_analysis.md").exists()
    assert not (tmp_path / "reports" / "nbval").exists() and (tmp_path / "student").is_dir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")  # a venv: made by make venv
    subprocess.run(["make", "-C", str(tmp_path), "clean"], capture_output=True, text=True, timeout=60, check=True)
    assert not (tmp_path / ".venv").exists()
