"""``scripts/setup_venv.py``: the install commands, and a .venv that is copied, moved, half-made or not ours.

The commands are recorded instead of run (no network, no real install): ``subprocess.run`` is replaced in the
script's module. Real venvs are made by ``make venv`` itself, which every other test depends on.
"""

from __future__ import annotations

import fcntl
import importlib.util
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT

_SPEC = importlib.util.spec_from_file_location("setup_venv", REPO_ROOT / "scripts" / "setup_venv.py")
setup_venv = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(setup_venv)


def _fake_venv(venv: Path, made_in: Path | None = None, stamp: bool = True, base: str = sys.executable) -> Path:
    """A directory shaped like a venv ``python -m venv`` made in ``made_in`` (default: where it is)."""
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / "pyvenv.cfg").write_text(
        f"home = {Path(base).parent}\nexecutable = {base}\nversion = 3.11.7\n"
        f"command = {base} -m venv {made_in or venv.resolve()}\n"
    )
    if stamp:
        (venv / ".installed").write_text(f"{venv.resolve()}\n")
    return venv


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with the lock and pyproject.toml, as the current directory."""
    for name in ("requirements.lock", "pyproject.toml"):
        (tmp_path / name).write_bytes((REPO_ROOT / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


class _Recorded(list):
    """The recorded commands, and the fake ``run`` that records them."""

    run: object


@pytest.fixture
def commands(monkeypatch):
    """The commands the script runs, recorded; ``python -m venv`` makes a fake venv; uv's bootstrap succeeds
    unless ``commands.uv_fails``."""
    recorded = _Recorded()

    def run(command, check=False, **kwargs):
        command = [str(c) for c in command]
        recorded.append(command)
        if command[1:3] == ["-m", "venv"]:
            _fake_venv(Path(command[3]), stamp=False)
        failed = run.uv_fails and any(word.startswith("uv==") for word in command)
        if failed and check:
            raise subprocess.CalledProcessError(1, command)
        return subprocess.CompletedProcess(command, 1 if failed else 0)

    run.uv_fails = False
    monkeypatch.setattr(setup_venv.subprocess, "run", run)
    recorded.run = run
    return recorded


def _joined(commands) -> list[str]:
    return [" ".join(c) for c in commands]


def test_installs_the_lock_with_the_pinned_uv(project, commands):
    setup_venv.setup(Path(".venv"), "uv", None)
    lines = _joined(commands)
    uv_pin = next(line for line in (project / "requirements.lock").read_text().splitlines() if line.startswith("uv=="))
    assert any(line.endswith(f"-m pip --disable-pip-version-check install --quiet {uv_pin}") for line in lines)
    assert any(line.startswith(".venv/bin/uv pip install --python .venv/bin/python --quiet -r") for line in lines)
    assert any(line.endswith("--no-deps --no-build-isolation -e .") for line in lines)
    assert lines[-1] == ".venv/bin/python scripts/compile_bytecode.py"  # uv does not compile (README, Set-up)
    stamp = (project / ".venv" / ".installed").read_text().splitlines()
    assert stamp == [str((project / ".venv").resolve()), str(project.resolve())]  # the venv, and the project in it


def test_falls_back_to_pip_when_uv_cannot_be_had(project, commands, capsys):
    commands.run.uv_fails = True
    setup_venv.setup(Path(".venv"), "uv", None)
    lines = _joined(commands)
    assert "with pip (uv unavailable" in capsys.readouterr().out
    assert any(line.endswith("install --quiet -r requirements.lock") and "-m pip" in line for line in lines)
    assert not any("/uv pip install" in line for line in lines)
    assert not any("compile_bytecode" in line for line in lines)  # pip compiles every module it installs


def test_reads_only_the_wheelhouse_when_given_one(project, commands, capsys):
    setup_venv.setup(Path(".venv"), "uv", Path("wheelhouse"))
    lines = _joined(commands)
    # a teacher sees that the offline route was taken
    assert "Installing requirements.lock into .venv from the wheels in wheelhouse/ (offline) with uv" in (
        capsys.readouterr().out
    )
    assert any("install --quiet --no-index --find-links wheelhouse uv==" in line for line in lines)
    assert any("--quiet --offline --no-index --find-links wheelhouse -r requirements.lock" in line for line in lines)


def test_make_passes_the_wheelhouse_and_the_installer(tmp_path):
    for name in ("Makefile", "requirements.lock", "pyproject.toml"):
        (tmp_path / name).write_bytes((REPO_ROOT / name).read_bytes())
    (tmp_path / "wheelhouse").mkdir()
    (tmp_path / "wheelhouse" / "example-1.0-py3-none-any.whl").write_bytes(b"")
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "-C", str(tmp_path), "venv", "INSTALLER=pip"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert 'scripts/setup_venv.py --venv ".venv" --installer "pip" --wheelhouse wheelhouse' in result.stdout


def test_a_venv_made_in_another_folder_is_recreated(project, commands, capsys):
    old = _fake_venv(project / ".venv", made_in=Path("/somewhere/else/.venv"))
    (old / "bin" / "jupyter").write_text("#!/somewhere/else/.venv/bin/python\n")
    assert "made in /somewhere/else/.venv" in setup_venv.stale_reason(old)
    assert setup_venv.main(["--check"]) == 1
    setup_venv.setup(Path(".venv"), "uv", None)
    assert (
        "Recreating .venv: it was made in /somewhere/else/.venv (a copied or moved folder)" in capsys.readouterr().out
    )
    assert not (old / "bin" / "jupyter").exists()
    assert setup_venv.stale_reason(Path(".venv")) is None
    assert setup_venv.main(["--check"]) == 0


def test_a_venv_whose_install_never_completed_is_recreated(project):
    venv = _fake_venv(project / ".venv", stamp=False)  # python -m venv interrupted, or the install failed
    assert setup_venv.stale_reason(venv) == "its installation never completed (interrupted, or it failed)"


def test_a_venv_whose_base_python_is_gone_is_recreated(project, tmp_path):
    venv = _fake_venv(project / ".venv", base=str(tmp_path / "gone" / "python3"))
    assert "is gone" in setup_venv.stale_reason(venv)


def test_a_dot_venv_that_is_not_a_venv_is_never_deleted(project, commands, capsys):
    (project / ".venv").mkdir()
    (project / ".venv" / "notes.txt").write_text("mine")
    assert setup_venv.main([]) == 2
    assert "is not a virtual environment" in capsys.readouterr().err
    assert (project / ".venv" / "notes.txt").read_text() == "mine"
    assert commands == []


def test_a_second_run_waits_for_the_first(project, commands, capsys):
    with open(".venv.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        second = threading.Thread(target=setup_venv.setup, args=(Path(".venv"), "uv", None))
        second.start()
        time.sleep(0.5)
        assert second.is_alive() and commands == []  # nothing runs while the first holds the lock
    second.join(timeout=30)
    assert "Waiting for another run that is setting up .venv" in capsys.readouterr().out
    assert setup_venv.stale_reason(Path(".venv")) is None


def test_the_project_venv_passes_the_check():
    assert setup_venv.stale_reason(REPO_ROOT / ".venv") is None


def test_a_venv_of_another_project_is_not_taken_for_this_one(project, tmp_path_factory):
    """A .venv linked to another checkout's venv would run that checkout's code in every lesson."""
    other = tmp_path_factory.mktemp("other")
    venv = _fake_venv(other / ".venv")
    (venv / ".installed").write_text(f"{venv.resolve()}\n{other.resolve()}\n")
    (project / ".venv").symlink_to(venv)
    assert (
        setup_venv.stale_reason(Path(".venv"))
        == f"its editable install is the project in {other.resolve()}, not this one"
    )
    with pytest.raises(setup_venv.VenvError, match="it is a symbolic link"):
        setup_venv.setup(Path(".venv"), "uv", None)
    assert (venv / "pyvenv.cfg").is_file()  # the other project's venv is untouched


def test_a_stop_while_deleting_leaves_no_half_venv_and_the_next_run_finishes(project, commands, monkeypatch):
    _fake_venv(project / ".venv", made_in=Path("/somewhere/else/.venv"))
    real_rmtree = setup_venv.shutil.rmtree

    def interrupted(path, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(setup_venv.shutil, "rmtree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        setup_venv.setup(Path(".venv"), "uv", None)
    assert not (project / ".venv").exists()  # renamed away in one step, not half deleted under its name
    assert len(list(project.glob(".venv.old-*"))) == 1
    monkeypatch.setattr(setup_venv.shutil, "rmtree", real_rmtree)
    (next(project.glob(".venv.old-*")) / "pyvenv.cfg").unlink()  # rmtree had got that far
    (project / ".venv.old").mkdir()  # what the refusal tells a user to move a foreign .venv to: not ours
    setup_venv.setup(Path(".venv"), "uv", None)
    (project / ".venv.old-99").mkdir()  # left by a stop after the new venv was complete
    assert setup_venv.stale_reason(Path(".venv")) is None and setup_venv.main(["--check"]) == 1
    setup_venv.setup(Path(".venv"), "uv", None)
    assert (project / ".venv.old").is_dir()
    assert setup_venv.stale_reason(Path(".venv")) is None
    assert not list(project.glob(".venv.old-*"))


def test_a_venv_that_cannot_be_deleted_is_one_line_naming_the_fix(project, commands, monkeypatch, capsys):
    _fake_venv(project / ".venv", made_in=Path("/somewhere/else/.venv"))

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", f"{path}/share/rootthing/f")

    monkeypatch.setattr(setup_venv.shutil, "rmtree", denied)
    assert setup_venv.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Permission denied" in err[0] and "sudo rm -rf .venv.old-" in err[0]
