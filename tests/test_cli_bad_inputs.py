"""Inputs a probe found mishandled: each ends in one clear line (exit 2), names the input and the fix, never prints a
secret, and never overwrites or deletes a file data_fetch did not make.

Every case runs the command line in-process (``data_fetch.__main__.main``) in ``tmp_path``; no case builds more than
a survey of 0.01 deg^2. Where a defect would have started a real build, the build step is replaced by one that fails
at once, so that the test stays fast whether or not the defect is there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run_cli

import data_fetch.simulate as simulate
from data_fetch import download, lfs, safety
from data_fetch import survey as builder
from data_fetch.__main__ import main

UNREACHABLE = "http://127.0.0.1:1/x"  # nothing listens on port 1: the connection is refused at once


def _refusal(capsys, *args, words=(), absent=()) -> str:
    """The one stderr line of a command that must exit 2, checked to hold ``words`` and none of ``absent``."""
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0] and "internal error" not in err[0], (code, err)
    for word in words:
        assert word in err[0], (word, err[0])
    for word in absent:
        assert word not in err[0], (word, err[0])
    return err[0]


def _no_build(*args, **kwargs):
    raise AssertionError("a build started where it must be refused")


def _download(tmp_path, *extra) -> tuple[str, ...]:
    return ("download", "hsc-validation", "--repo", str(tmp_path / "NEW"), "--quiet", "--retries", "0", *extra)


# ---------------------------------------------------------------------------------------------------------
# 1. Files data_fetch did not make are never deleted or overwritten
# ---------------------------------------------------------------------------------------------------------
def test_download_removes_only_its_own_temporary_files_from_the_cache(tmp_path, capsys):
    folder = tmp_path / "cache" / "hsc-validation"
    folder.mkdir(parents=True)
    mine = {"tmp_notes.txt": "my notes", ".notes.tmp": "draft", "tmp": "x"}
    for name, text in mine.items():
        (folder / name).write_text(text)
    leftover = folder / f"{download.TEMPORARY_PREFIX}k3j_x9q2{download.TEMPORARY_SUFFIX}"
    leftover.write_bytes(b"half")  # left by a killed download
    cache = str(tmp_path / "cache")
    _refusal(capsys, *_download(tmp_path, "--cache", cache, "--lfs-url", UNREACHABLE), words=("cannot reach",))
    assert {name: (folder / name).read_text() for name in mine} == mine
    assert not leftover.exists()


@pytest.mark.parametrize("command", ["verify", "simulate"])
def test_a_foreign_file_where_the_lock_goes_is_refused_and_kept(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setattr(simulate, "_write_repository", _no_build)
    repo = tmp_path / "R1"
    repo.mkdir()
    lock = tmp_path / ".R1.lock"
    lock.write_text("my shopping list\n")
    args = ["--repo", str(repo)] + (["--force", "--quiet"] if command == "simulate" else [])
    _refusal(capsys, command, *args, words=(str(lock), "not written by data_fetch", "Move it away"))
    assert lock.read_text() == "my shopping list\n"


def test_an_empty_file_where_the_lock_goes_is_used_and_kept(tmp_path, capsys):
    repo = tmp_path / "R1"
    repo.mkdir()
    lock = tmp_path / ".R1.lock"
    lock.touch()
    _refusal(capsys, "verify", "--repo", str(repo), words=("MANIFEST",))  # the lock was taken: verify ran
    assert lock.exists() and lock.read_bytes() == b""


def test_a_lock_file_left_by_a_killed_data_fetch_is_removed(tmp_path, capsys):
    repo = tmp_path / "R1"
    repo.mkdir()
    lock = tmp_path / ".R1.lock"
    lock.write_text("process 999999 (python -m data_fetch verify, started 2026-01-02 03:04:05)\n")
    _refusal(capsys, "verify", "--repo", str(repo), words=("MANIFEST",))
    assert not lock.exists()
    _refusal(capsys, "verify", "--repo", str(repo), words=("MANIFEST",))  # one it created itself: removed too
    assert not lock.exists()


def test_a_symbolic_link_where_the_lock_goes_is_not_followed(tmp_path, capsys):
    repo, precious = tmp_path / "R1", tmp_path / "precious.txt"
    repo.mkdir()
    precious.write_text("keep")
    (tmp_path / ".R1.lock").symlink_to(precious)
    _refusal(capsys, "verify", "--repo", str(repo), words=(".R1.lock", "not a plain file"))
    assert precious.read_text() == "keep" and (tmp_path / ".R1.lock").is_symlink()


# ---------------------------------------------------------------------------------------------------------
# 2. Inputs that crashed
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("area", ["1e-300", "5e-324", "0.0009"])
def test_a_vanishing_survey_area_is_refused(tmp_path, capsys, area):
    out = tmp_path / "S"
    _refusal(capsys, "survey", "--out", str(out), "--area", area, "--quiet", words=("--area", "at least 0.001", area))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999/x"])
def test_an_lfs_url_that_does_not_parse_is_refused(tmp_path, capsys, url):
    _refusal(capsys, *_download(tmp_path, "--cache", str(tmp_path / "c"), "--lfs-url", url), words=("--lfs-url",))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------------
# 3. Secrets in URLs
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, secret, shown",
    [
        ("https://user:secret@127.0.0.1:1/x", "secret", "https://127.0.0.1:1/x/objects/batch"),
        ("http://127.0.0.1:1/x?access_token=SECRET123", "SECRET123", "http://127.0.0.1:1/x/objects/batch?..."),
    ],
)
def test_credentials_in_the_lfs_url_are_never_printed(tmp_path, capsys, url, secret, shown):
    line = _refusal(capsys, *_download(tmp_path, "--cache", str(tmp_path / "c"), "--lfs-url", url), words=(shown,))
    assert secret not in line and "user" not in line


def test_redact_url_drops_user_info_and_query_even_from_a_malformed_url():
    assert lfs.redact_url("https://u:p@host:8/a/b?token=T#frag") == "https://host:8/a/b?..."
    assert lfs.redact_url("https://u:p@[::1/x?t=1") == "https://[::1/x?..."
    assert lfs.redact_url("u:p@host/x") == "host/x"
    assert lfs.batch_url("https://host/x/?t=1") == "https://host/x/objects/batch?t=1"


# ---------------------------------------------------------------------------------------------------------
# 4. Messages that named the wrong cause
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [("simulate", "--repo", "{afile}/sub", "--quiet"), ("survey", "--out", "{afile}/x", "--area", "0.01", "--quiet")],
)
def test_a_file_where_a_folder_should_be_is_called_a_file(tmp_path, capsys, args):
    afile = tmp_path / "afile"
    afile.write_text("x")
    args = [arg.format(afile=afile) for arg in args]
    _refusal(capsys, *args, words=(f"{afile} is a file, not a folder", "choose another"))
    assert afile.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_verify_of_a_file_says_it_is_a_file(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    _refusal(capsys, "verify", "--repo", str(afile), words=("is a file, not a repository folder",), absent=("make",))


def test_a_bad_cache_from_the_environment_names_the_environment_variable(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(download.CACHE_ENV, "bad path")
    _refusal(capsys, *_download(tmp_path), words=(f"${download.CACHE_ENV} 'bad path'",), absent=("--cache",))


# ---------------------------------------------------------------------------------------------------------
# 5. A target inside another data_fetch output
# ---------------------------------------------------------------------------------------------------------
def test_a_repository_inside_a_data_fetch_repository_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(simulate, "_write_repository", _no_build)
    outer = tmp_path / "R1"
    (outer / "HSC").mkdir(parents=True)
    safety.write_marker(outer, "test")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    inner = outer / "HSC" / "inner"
    words = (f"--repo {inner} is inside {outer}, which data_fetch made", "Choose a folder outside")
    _refusal(capsys, "simulate", "--repo", str(inner), "--quiet", words=words)
    _refusal(capsys, *_download(tmp_path, "--cache", str(outer / "cache"), "--lfs-url", UNREACHABLE), words=words[1:])
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_survey_inside_a_data_fetch_survey_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(builder, "_build_into", _no_build)
    outer = tmp_path / "S1"
    outer.mkdir()
    (outer / builder.MARKER_FILE).write_text("{}")
    inner = outer / "inner"
    words = (f"--out {inner} is inside {outer}, which data_fetch made",)
    _refusal(capsys, "survey", "--out", str(inner), "--area", "0.01", "--quiet", words=words)
    assert sorted(p.name for p in outer.iterdir()) == [builder.MARKER_FILE]


# ---------------------------------------------------------------------------------------------------------
# 6. A damaged survey: the reason, and a foreign data file
# ---------------------------------------------------------------------------------------------------------
SURVEY_ARGS = ("--area", "0.01", "--seed", "5", "--quiet")


@pytest.fixture(scope="module")
def built_survey(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("survey") / "S"
    assert main(["survey", "--out", str(out), *SURVEY_ARGS]) == 0
    return out


@pytest.fixture
def survey_copy(built_survey, tmp_path) -> Path:
    out = tmp_path / "S"
    shutil.copytree(built_survey, out)
    return out


def _partitions(out: Path) -> list[Path]:
    return sorted((out / builder.CATALOG_NAME).glob("dataset/Norder=*/Dir=*/Npix=*.parquet"))


@pytest.mark.parametrize("harm", ["delete", "truncate"])
def test_if_stale_says_why_it_rebuilds_a_damaged_survey(survey_copy, capsys, harm):
    partition = _partitions(survey_copy)[0]
    size = partition.stat().st_size
    if harm == "delete":
        partition.unlink()
    else:
        partition.write_bytes(partition.read_bytes()[:100])
    code, out, err = run_cli(capsys, "survey", "--out", str(survey_copy), *SURVEY_ARGS, "--if-stale")
    name = partition.relative_to(survey_copy)
    assert code == 0 and "Wrote" in out
    why = "is missing" if harm == "delete" else f"has 100 bytes, not {size:,}"
    assert err == [f"{survey_copy}: it is damaged: {name} {why}; rebuilding it."]
    assert builder.damage(survey_copy) == []


def test_a_foreign_data_file_in_the_survey_is_damage_and_is_kept(survey_copy, capsys):
    partition = _partitions(survey_copy)[0]
    foreign = partition.with_name("Npix=99999.parquet")
    shutil.copy(partition, foreign)
    name = str(foreign.relative_to(survey_copy))
    assert any(line.startswith(f"{name}: not made by data_fetch") for line in builder.damage(survey_copy))
    line = _refusal(
        capsys,
        "survey",
        "--out",
        str(survey_copy),
        *SURVEY_ARGS,
        "--if-stale",
        words=("needs a rebuild (it is damaged", name, "did not make", "Move them out"),
    )
    assert "up to date" not in line and foreign.read_bytes() == partition.read_bytes()


# ---------------------------------------------------------------------------------------------------------
# 7. simulate checks the disk with figures that hold
# ---------------------------------------------------------------------------------------------------------
def test_simulate_refuses_patches_the_disk_cannot_hold(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(simulate, "_write_repository", _no_build)
    monkeypatch.setattr(safety, "free_bytes", lambda folder: 100_000_000)  # 36 patches write about 105 MB
    line = _refusal(
        capsys,
        "simulate",
        "--repo",
        str(tmp_path / "D"),
        "--patches",
        "3x6",
        "--quiet",
        words=("--patches 3x6 needs about 162.0 MB", "100.0 MB free", "Nothing was written"),
    )
    assert line and list(tmp_path.iterdir()) == []
