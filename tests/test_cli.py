"""``python -m data_fetch simulate``: bad input gives one clear line, a non-zero exit, and nothing written or lost."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import data_fetch.simulate as simulate
from data_fetch import safety
from data_fetch.__main__ import main


def _run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "data_fetch", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_existing_repository_is_left_alone(tmp_path, capsys):
    repo = tmp_path / "DATA"
    repo.mkdir()
    (repo / "keep.txt").write_text("mine")
    assert main(["simulate", "--repo", str(repo), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "not made by data_fetch" in err[0] and "keep.txt" in err[0]
    assert (repo / "keep.txt").read_text() == "mine"
    safety.write_marker(repo, "test")  # a repository data_fetch made: --force would replace it
    assert main(["simulate", "--repo", str(repo), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "--force" in err[0]


@pytest.mark.parametrize(
    "make_path, message",
    [
        (lambda tmp: tmp / "missing" / "DATA", "does not exist"),
        (lambda tmp: [(tmp / "afile").write_text("x"), tmp / "afile" / "DATA"][1], "does not exist"),
    ],
)
def test_missing_parent_folder_is_one_clear_line(tmp_path, capsys, make_path, message):
    target = make_path(tmp_path)
    assert main(["simulate", "--repo", str(target), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not target.exists()


def test_bad_option_exits_non_zero_naming_it():
    result = _run("simulate", "--patches", "0")
    assert result.returncode == 2 and "--patches" in result.stderr and not result.stdout


def test_a_folder_data_fetch_did_not_make_is_reported_not_replaced(tmp_path, capsys):
    repo = tmp_path / "DATA"
    repo.mkdir()
    (repo / "gen3.sqlite3").write_text("not a database")
    for extra in (["--if-stale"], ["--force"]):
        assert main(["simulate", "--repo", str(repo), *extra, "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert "was not made by data_fetch" in err and "gen3.sqlite3" in err and len(err.splitlines()) == 1
    assert (repo / "gen3.sqlite3").read_text() == "not a database"


@pytest.mark.parametrize(
    "command",
    [
        ["simulate", "--repo", "DATA", "--if-stale"],
        ["simulate", "--repo", "DATA", "--force"],
        ["survey", "--out", "DATA", "--lesson"],
        ["download", "hsc-validation", "--repo", "DATA", "--lfs-url", "http://127.0.0.1:9/"],
    ],
    ids=["simulate --if-stale", "simulate --force", "survey", "download"],
)
def test_an_empty_folder_of_yours_is_kept_and_the_refusal_says_rmdir(tmp_path, monkeypatch, capsys, command):
    """`mkdir DATA` before `make data`: refused like any folder data_fetch did not make (it may carry a mode or a
    group someone chose), but the one line gives the fix for an empty one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "DATA").mkdir()
    (tmp_path / "DATA").chmod(0o2750)
    assert main([*command, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "it is empty" in err[0] and "`rmdir DATA`" in err[0], err
    assert (tmp_path / "DATA").stat().st_mode & 0o7777 == 0o2750 and not any((tmp_path / "DATA").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".data_fetch")) == ["DATA"]


def test_a_link_to_an_empty_folder_is_not_told_rmdir(tmp_path, monkeypatch, capsys):
    """Removing the folder a link names would leave a dangling link, itself refused: no rmdir advice then."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shared").mkdir()
    (tmp_path / "DATA").symlink_to(tmp_path / "shared")
    assert main(["simulate", "--repo", "DATA", "--if-stale", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not made by data_fetch" in err[-1] and "rmdir" not in err[-1]
    assert (tmp_path / "shared").is_dir() and (tmp_path / "DATA").is_symlink()


def test_interrupted_build_leaves_nothing(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    real = simulate.measure_patch

    def interrupt_on_third_patch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(simulate, "measure_patch", interrupt_on_third_patch)
    assert main(["simulate", "--repo", str(tmp_path / "DATA"), "--quiet"]) == 130
    assert "nothing was written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_failed_forced_rebuild_keeps_the_old_repository(tmp_path, monkeypatch):
    repo = tmp_path / "DATA"
    repo.mkdir()
    (repo / "old.txt").write_text("old")
    safety.write_marker(repo, "test")

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(simulate, "measure_patch", fail)
    with pytest.raises(RuntimeError):
        simulate.build(repo, force=True, progress=False)
    assert (repo / "old.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DATA"]


def test_stale_repository_is_rebuilt_and_current_one_kept(tmp_path):
    repo = tmp_path / "DATA"
    first = _run("simulate", "--repo", str(repo), "--quiet")
    assert first.returncode == 0, first.stderr
    assert "reference rows" in first.stdout
    again = _run("simulate", "--repo", str(repo), "--if-stale")
    assert again.returncode == 0 and "up to date" in again.stdout
    (repo / "SIMULATOR_VERSION").write_text("0.1\n")
    rebuilt = _run("simulate", "--repo", str(repo), "--if-stale", "--quiet")
    assert rebuilt.returncode == 0 and "rebuilding" in rebuilt.stdout and "simulator version 0.1" in rebuilt.stdout
    assert simulate.read_stamp(repo) != "0.1"


def test_survey_with_an_empty_out_suggests_its_own_default(capsys):
    assert main(["survey", "--out", "", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["data_fetch: error: --out is empty; give a folder name, e.g. --out SURVEY."]


def test_a_package_missing_from_the_environment_is_one_line_naming_it_and_the_fix(tmp_path):
    """A damaged .venv (pooch moved away): `verify`, `simulate` (make data) and `download` say so in one line."""
    fake = tmp_path / "site" / "pooch"  # shadows the real pooch: importing it fails as a missing package does
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'pooch'\", name='pooch')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    expected = (
        "data_fetch: error: the project's environment is incomplete: the Python module 'pooch' is missing. "
        "Rebuild it with `rm -rf .venv && make venv` (or `make lab`)."
    )
    for args in (
        ["verify", "--repo", str(tmp_path / "DATA")],
        ["simulate", "--repo", str(tmp_path / "DATA"), "--if-stale"],
        ["download", "hsc-validation", "--repo", str(tmp_path / "DATA")],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "data_fetch", *args], capture_output=True, text=True, env=env, timeout=300
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines() == [expected]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


@pytest.mark.parametrize(
    "args, module",
    [
        (["verify", "--repo", "DATA"], "data_fetch.manifest"),  # imported by the command
        (["download", "hsc-validation", "--repo", "DATA"], "data_fetch.download"),  # imported for its options
    ],
)
def test_a_package_missing_inside_a_command_is_one_line(tmp_path, capsys, monkeypatch, args, module):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, module, raising=False)  # the command imports it, and so pooch, again
    monkeypatch.setitem(sys.modules, "pooch", None)  # as if pooch were not installed
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "environment is incomplete" in err[0] and "'pooch'" in err[0]
    assert "rm -rf .venv && make venv" in err[0]


def test_a_missing_module_of_our_own_is_a_bug_not_a_damaged_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "data_fetch.manifest", None)  # a bug: our own module does not import
    assert main(["verify", "--repo", str(tmp_path / "DATA")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error: ModuleNotFoundError" in err[0] and "environment" not in err[0]


def test_survey_lesson_builds_lesson_10s_survey(monkeypatch, capsys):
    """`make survey` runs `data_fetch survey --lesson --if-stale`: the options of ensure_survey, lesson 10's."""
    import inspect

    from data_fetch import survey

    called = {}

    def build_survey(out, **options):
        called.update(options, out=out)
        raise survey.SurveyError("stop here")

    monkeypatch.setattr(survey, "build_survey", build_survey)
    assert main(["survey", "--out", "S", "--lesson", "--if-stale", "--quiet"]) == 2
    lesson = inspect.signature(survey.ensure_survey).parameters
    assert called["area_deg2"] == lesson["area_deg2"].default == 0.25
    assert called["margin_arcsec"] == lesson["margin_arcsec"].default
    assert called["partition_rows"] == lesson["partition_rows"].default
    assert called["seed"] == lesson["seed"].default and called["if_stale"]
    for extra in (
        ["--area", "3"],
        ["--area", "20"],
        ["--partition-rows", "1000000"],
        ["--margin"],
    ):  # 20, 10^6: defaults
        assert main(["survey", "--out", "S", "--lesson", *extra]) == 2
        assert "--lesson sets --area, --margin and --partition-rows" in capsys.readouterr().err
    called.clear()
    assert main(["survey", "--out", "S", "--quiet"]) == 2  # without --lesson: the command's own defaults
    assert (called["area_deg2"], called["partition_rows"], called["margin_arcsec"]) == (20.0, 1_000_000, None)


def test_a_package_missing_from_another_python_does_not_blame_the_venv(tmp_path, capsys, monkeypatch):
    """`python3 -m data_fetch` outside .venv: the advice to delete .venv would delete a good one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "prefix", "/usr")
    monkeypatch.delitem(sys.modules, "data_fetch.manifest", raising=False)
    monkeypatch.setitem(sys.modules, "pooch", None)
    assert main(["verify", "--repo", "DATA"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "which is not the project's" in err[0] and "rm -rf" not in err[0]
