"""Fault suite (issue 14): every hostile input, damage, kill and bad server ends in one clear line or a correct result.

Each test asserts the exact outcome: the exit status, one stderr line without "Traceback", no user file touched, no
orphan left (staging folders, lock files, temporary files), and a repository equal to a clean build or the previous
one. A repository's *digest* is its manifest without ``gen3.sqlite3`` (whose bytes hold creation times): every other
file of two builds with the same options is byte for byte the same.

Most cases run in-process through ``data_fetch.__main__.main``. Subprocesses are used only where a signal is the
point: SIGTERM/SIGHUP, and ``kill -9`` before writing, mid-write and between the two renames of the swap (through the
``DATA_FETCH_FAULT`` hook of :func:`data_fetch.safety.fault_point`, or a real SIGKILL while files are being written).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from conftest import REPO_ROOT, run_cli
from lfs_server import Behaviour, FakeLFSServer, make_calexp_header, make_fake_validation_files, make_tables

import data_fetch.__main__ as cli_module
import data_fetch.hsc_validation as hsc
import data_fetch.simulate as simulate
from data_fetch import download, lfs, safety
from data_fetch.afw_table import read_source_catalog, write_source_catalog
from data_fetch.manifest import verify
from tutorial_lib.photocalib import PhotoCalib
from tutorial_lib.repository import MANIFEST_NAME, RepositoryError, check_repository, open_butler

PATCHES = "1"  # 1 x 1 patch per tract: the smallest build (2 patches)


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


def _one_line_failure(capsys, *args, words=(), status=2) -> str:
    code, _, err = run_cli(capsys, *args)
    assert code == status, (code, err)
    assert len(err) == 1 and "Traceback" not in err[0], err
    for word in words:
        assert word in err[0], (word, err[0])
    return err[0]


def digest(repo: Path) -> dict:
    files = json.loads((repo / MANIFEST_NAME).read_text())["files"]
    return {name: entry["sha256"] for name, entry in files.items() if name != "gen3.sqlite3"}


def _orphans(folder: Path) -> list[str]:
    """Anything data_fetch leaves only while running: staging folders, lock files, temporary files."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if ".building-" in p.name or ".ingesting-" in p.name or p.name.endswith(".lock") or p.name.startswith("tmp")
    )


def _subprocess(args, env_extra=None, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "tests"), **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_signals_as_from_a_terminal,
        **kwargs,
    )


def _signals_as_from_a_terminal() -> None:
    """The command's signals at their defaults, as a command typed at a terminal has them.

    A shell without job control starts its background jobs with SIGINT ignored, and ``nohup`` ignores SIGHUP;
    data_fetch keeps a signal its parent ignored ignored, so the tests that send signals would wait in vain when
    pytest itself was started that way (``pytest ... &`` in a script).
    """
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _simulate_subprocess(repo: Path, *extra, fault=None):
    env = {"DATA_FETCH_FAULT": fault} if fault else {}
    return _subprocess(
        ["-m", "data_fetch", "simulate", "--repo", str(repo), "--patches", PATCHES, "--quiet", *extra], env
    )


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory) -> Path:
    """One clean build of the smallest repository; tests copy it."""
    return simulate.build(
        tmp_path_factory.mktemp("clean") / "DATA", num_patches=(1, 1), progress=False, log=lambda m: None
    ).path


@pytest.fixture
def repo(clean_build, tmp_path) -> Path:
    target = tmp_path / "DATA"
    shutil.copytree(clean_build, target)
    return target


@pytest.fixture
def quick_build(clean_build, monkeypatch):
    """Builds copy the clean build instead of simulating again (for tests about where a build goes, not its bytes)."""

    def copy(path, seed, num_patches, progress):
        shutil.copytree(clean_build, path)
        return simulate.BuildSummary(path, seed, num_patches, 0, 0, 17)

    monkeypatch.setattr(simulate, "_write_repository", copy)
    return copy


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Every test runs in its own folder, so '.' and its parents are test folders."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


# ---------------------------------------------------------------------------------------------------------
# Data loss: --force, protected folders, folders that appear, locks
# ---------------------------------------------------------------------------------------------------------
def test_force_refuses_a_folder_data_fetch_did_not_make(tmp_path, capsys):
    thesis = tmp_path / "t"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("x")
    line = _one_line_failure(
        capsys,
        "simulate",
        "--repo",
        str(thesis),
        "--force",
        "--quiet",
        words=("was not made by data_fetch", "thesis.tex"),
    )
    assert str(thesis) in line
    assert (thesis / "thesis.tex").read_text() == "x" and _orphans(tmp_path) == []


@pytest.mark.parametrize("which", [".", "", "home", "/", "parent"])
def test_protected_folders_are_never_replaced(tmp_path, capsys, monkeypatch, which):
    monkeypatch.setenv("HOME", str(tmp_path))
    (Path.cwd() / "keep.txt").write_text("keep")
    repo = {".": ".", "": "", "home": str(tmp_path), "/": "/", "parent": ".."}[which]
    _one_line_failure(capsys, "simulate", "--repo", repo, "--force", "--quiet")
    assert (Path.cwd() / "keep.txt").read_text() == "keep"


def test_a_folder_that_appears_during_the_build_is_kept(tmp_path, capsys, monkeypatch, quick_build):
    target = tmp_path / "X"
    real = quick_build

    def write_then_user_makes_the_folder(*args, **kwargs):
        summary = real(*args, **kwargs)
        target.mkdir()
        (target / "important.txt").write_text("hi")
        return summary

    monkeypatch.setattr(simulate, "_write_repository", write_then_user_makes_the_folder)
    _one_line_failure(
        capsys,
        "simulate",
        "--repo",
        str(target),
        "--patches",
        PATCHES,
        "--quiet",
        words=("appeared while", "left as it is"),
    )
    assert (target / "important.txt").read_text() == "hi" and sorted(p.name for p in target.iterdir()) == [
        "important.txt"
    ]
    assert _orphans(tmp_path) == []


def test_a_second_build_or_ingest_says_who_holds_the_lock(repo, capsys):
    with safety.exclusive_lock(repo, "a test holding the lock"):
        _one_line_failure(
            capsys,
            "simulate",
            "--repo",
            str(repo),
            "--force",
            "--quiet",
            words=(f"process {os.getpid()}", "a test holding the lock", "in use"),
        )
        _one_line_failure(
            capsys,
            "download",
            "hsc-validation",
            "--repo",
            str(repo),
            "--quiet",
            words=(f"process {os.getpid()}", "in use"),
        )
    assert _orphans(repo.parent) == []


def test_an_if_stale_build_waits_for_the_one_running_then_finds_the_repository_up_to_date(repo):
    """`make lab` started twice: the second waits for the first's build instead of failing."""
    lines: list[str] = []
    with ThreadPoolExecutor(1) as pool:
        with safety.exclusive_lock(repo, "a test holding the lock"):
            waiting = pool.submit(
                simulate.build, repo, num_patches=(1, 1), if_stale=True, progress=False, log=lines.append
            )
            deadline = time.monotonic() + 30
            while not lines and time.monotonic() < deadline:
                time.sleep(0.01)
            assert lines == [
                f"{repo} is in use by process {os.getpid()} (a test holding the lock, started "
                + lines[0].split("started ", 1)[-1]
            ]
            assert lines[0].endswith("; waiting for it to finish (Ctrl-C to stop waiting).")
            time.sleep(0.2)
            assert not waiting.done()
        summary = waiting.result(timeout=60)
    assert summary.up_to_date and len(lines) == 1
    assert not safety.lock_path(repo).exists()


def test_a_waiting_build_locks_the_lock_file_that_is_there_not_the_one_its_holder_removed(tmp_path):
    """A waits for B; B finishes and removes the lock file; C makes a new one before A wakes. A must then wait
    for C, not go ahead on B's deleted file while C builds into the same folder."""
    target = tmp_path / "DATA"
    path = safety.lock_path(target)
    held = [os.open(path, os.O_RDWR | os.O_CREAT, 0o644)]  # B
    fcntl.flock(held[0], fcntl.LOCK_EX)
    waits: list[str] = []

    def wait(message: str) -> None:
        waits.append(message)
        if len(waits) == 1:  # B finishes as data_fetch does (removes its file, then unlocks); C starts
            path.unlink()
            os.close(held.pop())
            held.append(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644))
            fcntl.flock(held[0], fcntl.LOCK_EX)
        else:  # C finishes, leaving its (empty) file
            os.close(held.pop())

    with safety.exclusive_lock(target, "the waiting build", wait=wait):
        assert len(waits) == 2  # it waited for C too
        mine = os.stat(path).st_ino
        probe = os.open(path, os.O_RDWR)
        with pytest.raises(BlockingIOError):  # the file at the path is the one locked
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(probe)
    assert path.exists() and os.stat(path).st_ino == mine  # C's empty file is not data_fetch's record: kept


def test_a_failing_disk_in_simulate_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(simulate, "_write_repository", full)
    _one_line_failure(capsys, "simulate", "--repo", str(tmp_path / "D"), "--quiet", words=("full", "nothing"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


# ---------------------------------------------------------------------------------------------------------
# Kills and signals
# ---------------------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    """PIDs of the running child processes of ``pid`` (from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _process_state(pid: int) -> str:
    """The /proc state letter of ``pid`` (R, S, Z, ...), or "gone"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _wait_for(predicate, seconds=120.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_sigterm_cleans_up_like_ctrl_c(tmp_path):
    target = tmp_path / "D"
    paused = tmp_path / "work" / "paused"  # the build waits there, with its staging folder made
    env = {"DATA_FETCH_PAUSE": "before-write", "DATA_FETCH_PAUSE_FILE": str(paused)}
    process = _subprocess(["-m", "data_fetch", "simulate", "--repo", str(target), "--quiet"], env)
    assert _wait_for(paused.exists)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    paused.unlink()
    lines = [line for line in err.splitlines() if line.strip()]
    assert process.returncode == 128 + signal.SIGTERM, (out, err)
    assert lines == ["data_fetch: interrupted (SIGTERM); nothing was written."]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_python_imports_the_command_ends_in_one_line(tmp_path, signum):
    paused = tmp_path / "paused"  # the command waits there, before its imports of numpy, astropy, the Butler...
    env = {"DATA_FETCH_PAUSE": "imports", "DATA_FETCH_PAUSE_FILE": str(paused)}
    process = _subprocess(["-m", "data_fetch", "simulate", "--repo", str(tmp_path / "D"), "--quiet"], env)
    assert _wait_for(paused.exists)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    name = signal.Signals(signum).name
    assert process.returncode == 128 + signum, (out, err)
    assert err.splitlines() == [f"data_fetch: interrupted ({name}); nothing was written."]
    assert [p.name for p in tmp_path.iterdir() if p.name not in ("paused", "work")] == []  # no D, lock, staging


def test_a_signal_a_library_turned_into_its_own_error_is_still_reported_as_the_signal(
    capsys, monkeypatch, _restore_signal_handlers
):
    def pydantic_like(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except KeyboardInterrupt as error:
            raise RuntimeError("SchemaError: building the schema failed") from error
        raise AssertionError("SIGTERM was not delivered")

    monkeypatch.setitem(cli_module._COMMANDS, "verify", pydantic_like)
    assert cli_module.main(["verify", "--repo", "DATA"]) == 128 + signal.SIGTERM
    assert capsys.readouterr().err.splitlines() == ["data_fetch: interrupted (SIGTERM); nothing was written."]


@pytest.fixture
def _restore_signal_handlers():
    """Python's own handlers for the test, as in a command typed at a terminal (see
    :func:`_signals_as_from_a_terminal`); pytest's handlers back after it."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_sighup_cleans_up_like_ctrl_c(tmp_path, capsys, monkeypatch, quick_build, _restore_signal_handlers):
    def hang_up_mid_write(path, *args):
        quick_build(path, *args)
        os.kill(os.getpid(), signal.SIGHUP)  # the terminal closes while files are being written
        time.sleep(5)
        raise AssertionError("SIGHUP was not delivered")

    monkeypatch.setattr(simulate, "_write_repository", hang_up_mid_write)
    code, _, err = run_cli(capsys, "simulate", "--repo", str(tmp_path / "D"), "--quiet")
    assert code == 128 + signal.SIGHUP and err == ["data_fetch: interrupted (SIGHUP); nothing was written."]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_kill_before_writing_and_mid_write_leave_staging_that_the_next_run_removes(tmp_path, capsys):
    target = tmp_path / "D"
    before = _simulate_subprocess(target, fault="before-write")
    before.communicate(timeout=120)
    assert before.returncode == -signal.SIGKILL
    mid = _simulate_subprocess(target)
    assert _wait_for(lambda: any((p / "repo" / "HSC").is_dir() for p in tmp_path.glob(".D.building-*")))
    writers = _children(mid.pid)
    assert len(writers) == (2 if sys.platform == "linux" else 0)  # BatchWriter's forked writer processes
    mid.kill()
    mid.communicate(timeout=60)
    # The kernel kills the writers with their parent (PR_SET_PDEATHSIG): none goes on writing into the staging.
    assert _wait_for(lambda: all(_process_state(pid) in ("gone", "Z") for pid in writers), seconds=10)
    left = sorted(p.name for p in tmp_path.glob(".D.building-*"))  # the second run removed the first one's
    assert len(left) == 1 and not target.exists()
    # The next run, even one that then refuses to build, removes the staging of the dead process.
    code, out, err = run_cli(
        capsys, "simulate", "--repo", str(target), "--patches", PATCHES, "--if-stale", "--no-rebuild"
    )
    assert code == 2 and len(err) == 1 and "does not exist" in err[0]
    assert all(f"Removed {name}" in out and "which is gone" in out for name in left)
    assert _orphans(tmp_path) == [] and not target.exists()


def test_kill_between_the_renames_is_finished_by_the_next_run(repo, clean_build, capsys):
    (repo / "SIMULATOR_VERSION").write_text("0.1\nseed 20160805\npatches 1x1\n")  # stale: replaced by --if-stale
    killed = _simulate_subprocess(repo, "--if-stale", fault="between-renames")
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL and not repo.exists()  # the old one sits in staging only
    code, out, err = run_cli(capsys, "simulate", "--repo", str(repo), "--patches", PATCHES, "--if-stale", "--quiet")
    assert code == 0 and err == [], err
    assert "the new repository was complete, so the replacement was finished" in out and "up to date" in out
    assert digest(repo) == digest(clean_build) and _orphans(repo.parent) == []


def test_a_half_swap_with_an_incomplete_new_repository_restores_the_previous_one(repo, capsys):
    before = digest(repo)
    staging = repo.parent / ".DATA.building-999999-abc"
    staging.mkdir()
    (staging / "repo").mkdir()  # no journal, no manifest: not complete
    repo.rename(staging / "previous")
    code, out, err = run_cli(capsys, "simulate", "--repo", str(repo), "--patches", PATCHES, "--if-stale", "--quiet")
    assert code == 0 and "the previous one was put back" in out and "Removed .DATA.building-999999-abc" in out
    assert digest(repo) == before and _orphans(repo.parent) == []


def test_a_killed_ingest_leaves_the_repository_whole(repo, tmp_path, capsys):
    fake = make_fake_validation_files(tmp_path / "fake")
    cache = tmp_path / "cache"
    with FakeLFSServer(fake.objects) as server:  # fill the cache: the killed run needs no server
        hsc.download_and_ingest(
            tmp_path / "OTHER", lfs_url=server.url, cache=cache, files=fake.files, progress=False, log=lambda m: None
        )
    before = digest(repo)
    script = (
        "import sys; from pathlib import Path; from lfs_server import make_fake_validation_files; "
        "import data_fetch.hsc_validation as hsc; "
        f"fake = make_fake_validation_files(Path({str(tmp_path / 'fake2')!r})); "
        f"hsc.download_and_ingest({str(repo)!r}, lfs_url='http://127.0.0.1:9/x', cache={str(cache)!r}, "
        "files=fake.files, progress=False, log=lambda m: None)"
    )
    killed = _subprocess(["-c", script], {"DATA_FETCH_FAULT": "between-renames"})
    _, err = killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL, err
    assert not repo.exists()  # killed between the renames: the previous repository is in staging
    code, out, err = run_cli(capsys, "simulate", "--repo", str(repo), "--patches", PATCHES, "--if-stale", "--quiet")
    assert code == 0 and "replacement was finished" in out, (out, err)
    assert set(before) < set(digest(repo)) and all(digest(repo)[k] == v for k, v in before.items())
    assert _orphans(repo.parent) == []


# ---------------------------------------------------------------------------------------------------------
# Damage: detected by --if-stale, verify and the lessons' helper
# ---------------------------------------------------------------------------------------------------------
def _parquet(repo: Path) -> list[Path]:
    return sorted(repo.rglob("*.parq"))


DAMAGES = {
    "sqlite deleted": lambda r: (r / "gen3.sqlite3").unlink(),
    "sqlite empty": lambda r: (r / "gen3.sqlite3").write_bytes(b""),
    "sqlite garbage": lambda r: (r / "gen3.sqlite3").write_bytes(b"x" * (r / "gen3.sqlite3").stat().st_size),
    "parquet deleted": lambda r: _parquet(r)[0].unlink(),
    "parquet truncated": lambda r: _parquet(r)[0].write_bytes(_parquet(r)[0].read_bytes()[:100]),
    "parquet swapped": lambda r: _swap(*_parquet(r)[:2]),
    "run folder deleted": lambda r: shutil.rmtree(r / "HSC"),
    "butler.yaml garbage": lambda r: (r / "butler.yaml").write_text("{[: not yaml"),
    "butler.yaml deleted": lambda r: (r / "butler.yaml").unlink(),
    "manifest deleted": lambda r: (r / MANIFEST_NAME).unlink(),
    "manifest garbage": lambda r: (r / MANIFEST_NAME).write_text("[]"),
    "stamp binary": lambda r: (r / "SIMULATOR_VERSION").write_bytes(b"\xff\xfe\x00\x01"),
}


def _swap(a: Path, b: Path) -> None:
    data_a, data_b = a.read_bytes(), b.read_bytes()
    assert len(data_a) != len(data_b)  # a same-size swap is verify's job: see the flipped-bytes test
    a.write_bytes(data_b)
    b.write_bytes(data_a)


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damage_is_named_by_if_stale_and_by_the_lessons_helper(repo, capsys, damage):
    DAMAGES[damage](repo)
    _one_line_failure(
        capsys,
        "simulate",
        "--repo",
        str(repo),
        "--patches",
        PATCHES,
        "--if-stale",
        "--no-rebuild",
        words=(str(repo), "--no-rebuild"),
    )
    with pytest.raises(RepositoryError, match="make data"):
        open_butler(repo, "tutorial")
    assert _orphans(repo.parent) == []


def test_a_registry_that_cannot_be_opened_is_one_line_from_a_new_process(repo):
    database = repo / "gen3.sqlite3"
    database.write_bytes(b"0123456789abcdef" + database.read_bytes()[16:])  # the SQLite header is gone
    args = ["-m", "data_fetch", "simulate", "--repo", str(repo), "--patches", PATCHES, "--if-stale", "--no-rebuild"]
    out, err = _subprocess(args).communicate(timeout=120)
    expected = (
        f"data_fetch: error: {repo}: it is damaged: the Butler registry cannot be opened (DatabaseError: "
        "(sqlite3.DatabaseError) file is not a database). It was left as it is (--no-rebuild); run `make data`."
    )
    assert err.splitlines() == [expected]  # without the Butler's own "Failed to instantiate Butler ..." line


def test_damage_is_rebuilt_by_if_stale_into_a_clean_build(repo, clean_build, capsys):
    DAMAGES["parquet truncated"](repo)
    code, out, err = run_cli(capsys, "simulate", "--repo", str(repo), "--patches", PATCHES, "--if-stale", "--quiet")
    assert code == 0 and err == [] and "it is damaged" in out and "rebuilding" in out and ".parq" in out
    assert digest(repo) == digest(clean_build) and _orphans(repo.parent) == []


def test_verify_catches_flipped_bytes_of_the_same_size(repo, capsys):
    target = _parquet(repo)[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    assert check_repository(repo) == []  # the fast check cannot see it ...
    code, out, err = run_cli(capsys, "verify", "--repo", str(repo))
    assert code == 1 and len(err) == 1 and "1 damaged file" in err[0]  # ... verify does
    lines = out.strip().splitlines()
    assert len(lines) == 1 and str(target.relative_to(repo)) in lines[0] and "SHA-256" in lines[0]
    assert len(verify(repo)) == 1


def test_if_stale_repairs_the_flipped_bytes_that_verify_reports(repo, clean_build, capsys):
    target = _parquet(repo)[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    code, out, err = run_cli(capsys, "simulate", "--repo", str(repo), "--patches", PATCHES, "--if-stale", "--quiet")
    assert code == 0 and err == [] and "it is damaged" in out and "SHA-256" in out and "rebuilding" in out
    assert verify(repo) == [] and digest(repo) == digest(clean_build)


def test_a_repository_data_fetch_did_not_make_opens_as_it_is(repo):
    """Your own repository (README): no marker, no manifest, so no check; a broken one is still one message."""
    (repo / "DATA_FETCH_REPOSITORY").unlink()
    (repo / MANIFEST_NAME).unlink()
    assert len(open_butler(repo, "tutorial").query_datasets("deepCoadd_ref")) == 2
    (repo / "butler.yaml").write_text("{[: not yaml")
    with pytest.raises(RepositoryError, match="cannot be opened .* Check REPO in the data cell"):
        open_butler(repo, "tutorial")


def test_a_clean_repository_verifies_and_opens(repo, capsys):
    code, out, err = run_cli(capsys, "verify", "--repo", str(repo))
    assert code == 0 and err == [] and "every file matches" in out
    assert open_butler(repo, "tutorial").query_datasets("deepCoadd_ref")


# ---------------------------------------------------------------------------------------------------------
# Paths and inputs
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, words",
    [
        (["simulate", "--seed", "-5"], ["--seed", "-5"]),
        (["simulate", "--patches", "99999999999999999999"], ["--patches"]),
        (["simulate", "--patches", "1000"], ["--patches", "100"]),
        (["simulate", "--patches", "1x200"], ["--patches"]),
        (["simulate", "--repo", "x/50%#?x"], ["'%'", "'#'", "'?'"]),
        (["simulate", "--repo", "DATA; touch PWNED #"], ["';'"]),
        (["simulate", "--repo", "/proc/DATA"], ["/proc"]),
        (["simulate", "--no-rebuild"], ["--if-stale"]),
        (["download", "hsc-validation", "--timeout", "0"], ["--timeout"]),
        (["download", "hsc-validation", "--retries", "-1"], ["--retries"]),
        (["download", "hsc-validation", "--cache", "/dev/null"], ["/dev"]),
        (["download", "hsc-validation", "--cache", "/proc/cache"], ["/proc"]),
        (["download", "hsc-validation", "--lfs-url", "file:///etc"], ["only http and https"]),
        (["verify", "--repo", "missing"], ["make data"]),
    ],
)
def test_bad_inputs_are_one_line(tmp_path, capsys, monkeypatch, args, words):
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    _one_line_failure(capsys, *args, *(["--quiet"] if args[0] != "verify" else []), words=words)
    assert not Path("PWNED").exists() and sorted(os.listdir(".")) == []
    assert _no_files(tmp_path / "cache")


def test_a_dangling_symlink_and_a_binary_stamp_are_one_line(tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    _one_line_failure(capsys, "simulate", "--repo", str(link), "--quiet", words=("symbolic link", "does not exist"))
    stamped = tmp_path / "stamped"
    stamped.mkdir()
    (stamped / "SIMULATOR_VERSION").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    _one_line_failure(
        capsys, "simulate", "--repo", str(stamped), "--if-stale", "--quiet", words=("was not made by data_fetch",)
    )
    assert (stamped / "SIMULATOR_VERSION").read_bytes().startswith(b"\x89PNG")


def test_memory_and_disk_are_estimated_before_starting(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(safety, "available_memory", lambda: 200_000_000)
    _one_line_failure(
        capsys, "simulate", "--repo", str(tmp_path / "D"), "--patches", "20", "--quiet", words=("memory", "--patches")
    )
    monkeypatch.setattr(safety, "free_bytes", lambda folder: 1_000_000)
    _one_line_failure(capsys, "simulate", "--repo", str(tmp_path / "D"), "--quiet", words=("free", "Nothing"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_a_rebuild_never_deletes_files_data_fetch_did_not_make(repo, capsys, quick_build, monkeypatch):
    """A learner's own files inside DATA are named by verify and kept: --force and a damaged --if-stale refuse."""
    (repo / "notes.txt").write_text("my notes")
    (repo / "mine").mkdir()
    (repo / "mine" / "cut.fits").write_bytes(b"SIMPLE")
    code, out, err = run_cli(capsys, "verify", "--repo", str(repo))
    assert code == 0 and err == [] and "every file matches" in out
    assert out.count("not made by data_fetch") == 2 and "/mine/: not made" in out
    for options in (["--force"], ["--if-stale"]):
        (repo / "SIMULATOR_VERSION").write_text("0.1\n")  # stale, so --if-stale wants to rebuild
        words = ("2 file(s) or folder(s) that data_fetch did not make (mine/, notes.txt)", "Move them out")
        args = ["simulate", "--repo", str(repo), "--patches", PATCHES, "--quiet", *options]
        _one_line_failure(capsys, *args, words=words)
        assert (repo / "notes.txt").read_text() == "my notes" and (repo / "mine" / "cut.fits").is_file()
    # a file that appears while the new repository is being written is found again just before the swap
    (repo / "notes.txt").unlink()
    shutil.rmtree(repo / "mine")
    real_write = simulate._write_repository

    def write_and_meanwhile_save_a_file(path, *args):
        summary = real_write(path, *args)
        (repo / "late.txt").write_text("saved during the build")
        return summary

    monkeypatch.setattr(simulate, "_write_repository", write_and_meanwhile_save_a_file)
    _one_line_failure(
        capsys, "simulate", "--repo", str(repo), "--patches", PATCHES, "--quiet", "--force", words=("late.txt",)
    )
    assert (repo / "late.txt").is_file() and _orphans(repo.parent) == []


def test_what_a_rebuild_would_delete_is_found_whatever_it_is(repo, capsys, monkeypatch, request):
    """Empty folders, pipes, names with commas or newlines, any depth; an unreadable folder is a refusal."""
    from data_fetch import manifest

    (repo / "empty" / "inner").mkdir(parents=True)
    os.mkfifo(repo / "pipe")
    (repo / "HSC" / "a, b.txt").write_text("x")
    (repo / "HSC" / "two\nlines").write_text("x")
    chain = [repo / "HSC" / "d"]
    for _ in range(1099):  # deeper than Python's recursion limit
        chain.append(chain[-1] / "d")
    for folder in chain:
        folder.mkdir()
    request.addfinalizer(lambda: [folder.rmdir() for folder in reversed(chain)])  # shutil.rmtree would recurse
    assert manifest.foreign_files(repo) == ["HSC/a, b.txt", "HSC/d/", "HSC/two\nlines", "empty/", "pipe"]
    err = _one_line_failure(capsys, "simulate", "--repo", str(repo), "--patches", PATCHES, "--quiet", "--force")
    assert "5 file(s) or folder(s)" in err and "'HSC/a, b.txt', HSC/d/, 'HSC/two\\nlines', empty/, pipe" in err
    code, out, _ = run_cli(capsys, "verify", "--repo", str(repo))
    assert code == 0 and len(out.splitlines()) == 6  # one line each, and the summary
    real_scandir = os.scandir

    def unreadable(path):
        if Path(path).name == "HSC":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(manifest.os, "scandir", unreadable)
    _one_line_failure(
        capsys,
        *("simulate", "--repo", str(repo), "--patches", PATCHES, "--quiet", "--force"),
        words=(f"{repo / 'HSC'} cannot be listed (Permission denied)", "cannot tell whether it holds files of yours"),
    )


def test_without_a_readable_manifest_nothing_is_replaced(repo, capsys):
    """Its own files cannot be told from yours: --force and --if-stale say how to go on, and delete nothing."""
    (repo / "thesis.tex").write_text("mine")
    (repo / MANIFEST_NAME).write_text("{")
    for options in (["--force"], ["--if-stale"]):
        err = _one_line_failure(
            capsys,
            *("simulate", "--repo", str(repo), "--patches", PATCHES, "--quiet", *options),
            words=("cannot tell its own files from yours", f"mv {repo} {repo}.old"),
        )
        assert "rebuilding" not in err
    assert (repo / "thesis.tex").read_text() == "mine"


def test_if_stale_says_nothing_about_rebuilding_when_it_refuses(repo, capsys):
    _parquet(repo)[0].write_bytes(b"damaged")
    (repo / "thesis.tex").write_text("mine")
    code, out, err = run_cli(capsys, "verify", "--repo", str(repo))
    assert code == 1 and "move out the 1 file(s) or folder(s) listed as not made by data_fetch, then" in err[0]
    code, out, err = run_cli(capsys, "simulate", "--repo", str(repo), "--patches", PATCHES, "--quiet", "--if-stale")
    assert code == 2 and out == "" and len(err) == 1 and "thesis.tex" in err[0]


def test_temporary_looking_files_of_yours_are_never_removed(tmp_path, capsys):
    """Files named *.tmp.parq (once a datastore's half-written files) are yours unless data_fetch made them."""
    mine = tmp_path / "U" / "analysis"
    mine.mkdir(parents=True)
    (mine / "run1.tmp.parq").write_text("mine")
    _one_line_failure(capsys, "simulate", "--repo", str(tmp_path / "U"), "--quiet", words=("not made by data_fetch",))
    assert (mine / "run1.tmp.parq").read_text() == "mine"


def test_force_through_a_symlink_replaces_the_links_target(repo, tmp_path, capsys, quick_build):
    link = tmp_path / "LINK"
    link.symlink_to(repo)
    (repo / "SIMULATOR_VERSION").write_text("0.1\nseed 20160805\npatches 1x1\n")
    code, out, err = run_cli(capsys, "simulate", "--repo", str(link), "--patches", PATCHES, "--force", "--quiet")
    assert code == 0 and err == [] and f"using its target {repo}" in out
    assert link.is_symlink() and link.resolve() == repo and simulate.read_stamp(repo) != "0.1"
    assert _orphans(tmp_path) == []


def _read_only(monkeypatch, *folders: Path) -> set[str]:
    """Make ``folders`` read-only as ``chmod a-w`` does for a user (tests run as root, for whom chmod does not
    bite); returns the set of blocked paths, which a test may change."""
    real_access = os.access
    blocked = {str(folder) for folder in folders}

    def access(path, mode, **kwargs):
        if mode & os.W_OK and os.fspath(path) in blocked:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(safety.os, "access", access)
    return blocked


def test_a_read_only_repository_is_refused_before_rebuilding(repo, clean_build, capsys, monkeypatch):
    """`chmod -R a-w DATA`, then damage: --if-stale (make data) names the damage and the fix, and builds nothing."""
    DAMAGES["parquet truncated"](repo)
    before = {path: path.read_bytes() for path in _parquet(repo)}

    def never(*args, **kwargs):
        raise AssertionError("a build started")

    monkeypatch.setattr(simulate, "_write_repository", never)
    blocked = _read_only(monkeypatch, repo)
    args = ("simulate", "--repo", str(repo), "--patches", PATCHES, "--quiet")
    err = _one_line_failure(
        capsys,
        *args,
        "--if-stale",
        words=(f"{repo} needs a rebuild (it is damaged: ", "read-only", f"`chmod -R u+w {repo}`", "another --repo"),
    )
    assert "rebuilding" not in err
    blocked.clear()
    blocked.add(str(repo / "HSC"))  # a folder inside it: replacing DATA would delete its files
    _one_line_failure(
        capsys, *args, "--force", words=(f"{repo} cannot be replaced", f"{repo / 'HSC'} cannot be written", "chmod")
    )
    assert {path: path.read_bytes() for path in _parquet(repo)} == before and _orphans(repo.parent) == []


def test_a_read_only_repository_that_is_whole_is_still_up_to_date(repo, capsys, monkeypatch):
    _read_only(monkeypatch, repo)
    code, out, err = run_cli(capsys, "simulate", "--repo", str(repo), "--patches", PATCHES, "--if-stale", "--quiet")
    assert code == 0 and err == [] and "up to date" in out


def test_a_read_only_survey_is_refused_before_rebuilding(tmp_path, capsys, monkeypatch):
    from data_fetch import survey
    from data_fetch.manifest import file_records

    out = tmp_path / "SURVEY"
    (out / "survey").mkdir(parents=True)
    (out / "survey" / "part.parquet").write_bytes(b"rows")
    (out / survey.MARKER_FILE).write_text(json.dumps({"files": file_records(out, skip=survey.MARKER_FILE)}))

    def never(*args, **kwargs):
        raise AssertionError("a build started")

    monkeypatch.setattr(survey, "_build_into", never)
    _read_only(monkeypatch, out / "survey")
    _one_line_failure(
        capsys,
        *("survey", "--out", str(out), "--force", "--quiet"),
        words=(f"{out} cannot be replaced", "read-only", f"`chmod -R u+w {out}`", "another --out"),
    )
    assert (out / "survey" / "part.parquet").read_bytes() == b"rows" and _orphans(tmp_path) == []


# ---------------------------------------------------------------------------------------------------------
# Downloads: a hostile server
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return make_fake_validation_files(tmp_path_factory.mktemp("fake"))


def _ref(fake):
    return next(f for f in fake.files if f.key == "ref").remote()


def _options(server, tmp_path, **kwargs) -> download.DownloadOptions:
    kwargs = {"retries": 0, "progress": False, "timeout": 1.0, "log": lambda m: None, **kwargs}
    return download.DownloadOptions(server.url, tmp_path / "cache", **kwargs)


def _no_files(folder: Path) -> bool:
    return not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    "mode, words, seconds",
    [
        ("gzip_bomb", "cut off", 10),
        ("content_length", "Content-Length", 10),
        ("drip", "slower than", 10),
        ("stall", "sent nothing for 1 s", 10),
        ("redirect_file", "only http and https", 10),
        ("redirect_ftp", "only http and https", 10),
    ],
)
def test_a_hostile_download_is_stopped_and_leaves_nothing(fake, tmp_path, mode, words, seconds):
    obj = _ref(fake)
    behaviour = {
        "gzip_bomb": Behaviour(gzip_bomb={obj.pointer.oid}),
        "content_length": Behaviour(content_length={obj.pointer.oid: str(10**15)}),
        "drip": Behaviour(drip={obj.pointer.oid: 0.05}),
        "stall": Behaviour(stall={obj.pointer.oid}),
        "redirect_file": Behaviour(redirect={obj.pointer.oid: "file:///etc/passwd"}),
        "redirect_ftp": Behaviour(redirect={obj.pointer.oid: "ftp://127.0.0.1/x"}),
    }[mode]
    start = time.monotonic()
    with FakeLFSServer(fake.objects, behaviour) as server:
        options = _options(server, tmp_path)
        options.cache.mkdir()
        with pytest.raises((download.DownloadError, lfs.LFSError), match=words) as error:
            download.fetch(obj, options)
    assert time.monotonic() - start < seconds
    assert "\n" not in str(error.value) and _no_files(options.cache)


@pytest.mark.parametrize(
    "rewrite, words",
    [
        (lambda e: {**e, "actions": [1, 2]}, "'actions' is a list"),
        (lambda e: {**e, "actions": {"download": "x"}}, "'actions.download' is a str"),
        (
            lambda e: {**e, "actions": {"download": {**e["actions"]["download"], "href": "file:///etc/passwd"}}},
            "only http and https",
        ),
        (
            lambda e: {**e, "actions": {"download": {**e["actions"]["download"], "href": "ftp://h/x"}}},
            "only http and https",
        ),
        (
            lambda e: {**e, "actions": {"download": {**e["actions"]["download"], "header": {"X": "a\r\nEvil: 1"}}}},
            "not a valid HTTP header value",
        ),
        (
            lambda e: {**e, "actions": {"download": {**e["actions"]["download"], "header": ["Authorization"]}}},
            "'header' is a list",
        ),
        (lambda e: {**e, "actions": {"download": {**e["actions"]["download"], "expires_in": "soon"}}}, "'expires_in'"),
        (lambda e: {**e, "actions": {"download": {**e["actions"]["download"], "expires_in": True}}}, "'expires_in'"),
        (
            lambda e: {**e, "actions": {"download": {**e["actions"]["download"], "header": {"Bad Name": "x"}}}},
            "not a valid HTTP header name",
        ),
        (lambda e: {**e, "oid": "0" * 64}, "returned no entry"),
    ],
)
def test_malformed_batch_answers_are_one_line(fake, tmp_path, capsys, monkeypatch, rewrite, words):
    monkeypatch.setattr(hsc, "FILES", fake.files)
    with FakeLFSServer(fake.objects, Behaviour(batch_entry=rewrite)) as server:
        _one_line_failure(
            capsys,
            "download",
            "hsc-validation",
            "--repo",
            str(tmp_path / "NEW"),
            "--lfs-url",
            server.url,
            "--cache",
            str(tmp_path / "cache"),
            "--quiet",
            "--retries",
            "0",
            words=(words,),
        )
    assert not (tmp_path / "NEW").exists() and _no_files(tmp_path / "cache")


def test_a_content_length_one_byte_too_large_is_refused_before_reading(fake, tmp_path):
    obj = _ref(fake)
    behaviour = Behaviour(content_length={obj.pointer.oid: str(obj.size + 1)})
    with FakeLFSServer(fake.objects, behaviour) as server:
        options = _options(server, tmp_path)
        options.cache.mkdir()
        with pytest.raises(download.DownloadError, match="announces") as error:
            download.fetch(obj, options)
    assert "\n" not in str(error.value) and _no_files(options.cache)


def test_a_ranged_answer_for_a_file_of_another_size_is_refused(fake, tmp_path):
    calexp = next(f for f in fake.files if f.key == "calexp-i").remote()
    oid = calexp.pointer.oid
    # The batch answer points at a second server whose object has one byte more: its Content-Range says so.
    with FakeLFSServer({oid: fake.objects[oid] + b"\0"}) as other:
        href = f"{other.base}/objects/{oid}"
        rewrite = lambda e: {**e, "actions": {"download": {**e["actions"]["download"], "href": href}}}  # noqa: E731
        with FakeLFSServer(fake.objects, Behaviour(batch_entry=rewrite)) as server:
            options = _options(server, tmp_path)
            with pytest.raises(download.DownloadError, match="the server's file has") as error:
                download.fetch_fits_header(calexp, options)
    assert f"{calexp.size + 1:,} bytes" in str(error.value) and "\n" not in str(error.value)
    assert any(r.get("range") for r in other.requests)


def test_a_batch_answer_choosing_another_transfer_adapter_is_refused_in_one_line(fake):
    pointer = _ref(fake).pointer
    entry = {"oid": pointer.oid, "size": pointer.size, "actions": {"download": {"href": "http://h/x"}}}
    answer = {"transfer": "ssh", "objects": [entry]}
    with pytest.raises(lfs.LFSError, match="transfer adapter 'ssh'") as error:
        lfs._parse_answer(answer, {pointer.oid: pointer}, "http://h/lfs")
    assert "\n" not in str(error.value)


def test_a_batch_answer_larger_than_the_cap_is_refused(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(lfs, "MAX_ANSWER_BYTES", 100)
    pointer = _ref(fake).pointer
    with FakeLFSServer(fake.objects) as server, pytest.raises(lfs.LFSError, match="larger than 100") as error:
        lfs.request_download(server.url, [pointer], retries=0, timeout=5.0)
    assert "\n" not in str(error.value)


def _made_up_header(band: str, **changes) -> bytes:
    data = make_calexp_header(band)
    primary = fits.Header.fromstring(data[:2880].decode())
    image = fits.Header.fromstring(data[2880:].decode())
    for key, value in changes.items():
        (primary if key == "FLUXMAG0" else image)[key] = value
    return primary.tostring().encode() + image.tostring().encode()


@pytest.mark.parametrize("changes", [{"FLUXMAG0": 1.0}, {"CRVAL1": 320.75 + 0.2 / 3600}])
def test_a_made_up_ranged_header_is_discarded_and_the_whole_file_verified(repo, fake, tmp_path, changes):
    calexp = next(f for f in fake.files if f.key == "calexp-i")
    messages = []
    behaviour = Behaviour(range_body={calexp.oid: _made_up_header("i", **changes)})
    with FakeLFSServer(fake.objects, behaviour) as server:
        summary = hsc.download_and_ingest(
            repo,
            lfs_url=server.url,
            cache=tmp_path / "cache",
            files=fake.files,
            progress=False,
            log=messages.append,
            retries=0,
        )
    assert any("does not agree with the verified files" in m for m in messages)
    assert summary.header_sources == {"r": "ranged request", "i": "whole file"}
    assert summary.zero_points["i"] == pytest.approx(2.5 * np.log10(10**10.8 * 1.02), abs=1e-6)
    headers = tmp_path / "cache" / "hsc-validation" / "headers"
    assert sorted(p.name for p in headers.iterdir()) == [
        "calexp-HSC-R-0-10,7.fits.header",
        "calexp-HSC-R-0-10,7.fits.header.json",
    ]
    assert _orphans(repo.parent) == [] and not check_repository(repo)


def test_a_good_ranged_header_passes_the_checks(fake, tmp_path):
    ref = hsc.read_catalog(_write(fake.ref, tmp_path))
    headers = download.FitsHeaders(*_split(make_calexp_header("i")), 0, "ranged request")
    assert hsc.header_inconsistencies(headers, ref) == []


def _write(table, folder: Path) -> Path:
    path = folder / "ref.fits"
    write_source_catalog(table, path, afw_table_version=1)
    return path


def _split(data: bytes):
    return fits.Header.fromstring(data[:2880].decode()), fits.Header.fromstring(data[2880:].decode())


@pytest.mark.parametrize("kind", ["file", "readonly", "full disk"])
def test_cache_problems_are_one_line_and_leave_nothing(fake, tmp_path, capsys, monkeypatch, kind):
    monkeypatch.setattr(hsc, "FILES", fake.files)
    cache = tmp_path / "cache"
    if kind == "file":
        cache.write_text("a file")
    elif kind == "readonly":  # tests run as root, for whom chmod does not bite: fake the permission check
        real_access = os.access
        monkeypatch.setattr(
            hsc.os, "access", lambda p, mode: False if str(p).endswith("hsc-validation") else real_access(p, mode)
        )
    else:
        real_mkstemp = tempfile.mkstemp

        def mkstemp_on_a_full_disk(*args, **kwargs):
            fd, name = real_mkstemp(*args, **kwargs)
            os.close(fd)
            return os.open("/dev/full", os.O_WRONLY), name

        monkeypatch.setattr(download.tempfile, "mkstemp", mkstemp_on_a_full_disk)
    with FakeLFSServer(fake.objects) as server:
        _one_line_failure(
            capsys,
            "download",
            "hsc-validation",
            "--repo",
            str(tmp_path / "NEW"),
            "--lfs-url",
            server.url,
            "--cache",
            str(cache),
            "--quiet",
            "--retries",
            "0",
            words={"file": ("is a file",), "readonly": ("read-only",), "full disk": ("space",)}[kind],
        )
    assert not (tmp_path / "NEW").exists() and _orphans(tmp_path) == []
    if kind == "full disk":
        assert _no_files(cache / "hsc-validation")


def test_a_killed_download_leaves_temporary_files_that_the_next_run_removes(fake, tmp_path):
    folder = tmp_path / "cache" / "hsc-validation"
    folder.mkdir(parents=True)
    leftover = folder / f"{download.TEMPORARY_PREFIX}abc12345{download.TEMPORARY_SUFFIX}"
    leftover.write_bytes(b"half")
    messages = []
    with FakeLFSServer(fake.objects) as server:
        hsc.download_and_ingest(
            tmp_path / "NEW",
            lfs_url=server.url,
            cache=tmp_path / "cache",
            files=fake.files,
            progress=False,
            log=messages.append,
            retries=0,
        )
    assert not leftover.exists()
    assert any("Removed 1 temporary file" in m for m in messages)


# ---------------------------------------------------------------------------------------------------------
# Library messages
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("zero_point, word", [(1000, "zero"), (-1000, "infinite")])
def test_from_zero_point_names_the_input(zero_point, word):
    with pytest.raises(ValueError, match=rf"zero point {zero_point} mag .* is {word}.*e\.g\. 27"):
        PhotoCalib.from_zero_point(zero_point)


def test_read_source_catalog_names_the_damage(tmp_path):
    ref, _ = make_tables(40)
    good = tmp_path / "good.fits"
    write_source_catalog(ref, good, afw_table_version=1)
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(good.read_bytes()[:-3000])
    with pytest.raises(ValueError, match="is truncated: its table of 40 rows needs"):
        read_source_catalog(truncated)
    for key, value, words in [("FLAGCOL", 99, "FLAGCOL = 99 names no column"), ("TFLAG1", "", "TFLAG1 is empty")]:
        with fits.open(good) as hdul:
            hdul[1].header[key] = value
            hdul.writeto(tmp_path / f"{key}.fits")
        with pytest.raises(ValueError, match=words):
            read_source_catalog(tmp_path / f"{key}.fits")


def test_open_butler_on_a_file_names_the_folder_to_give(simulated_repo):
    """A path to butler.yaml was called a damaged repository with the advice to rebuild it (a probe's finding)."""
    from tutorial_lib.repository import RepositoryError, open_butler

    with pytest.raises(RepositoryError, match="is a file, not a repository folder") as info:
        open_butler(simulated_repo / "butler.yaml", "tutorial")
    assert "make data" not in str(info.value) and repr(str(simulated_repo)) in str(info.value)
