"""A ``DATA`` shared read-only with a workshop room, and folder names as the Makefile takes them.

A teacher builds ``DATA`` once and shares it read-only (``chmod -R a-w DATA``, or a read-only mount); learners
run ``make data`` (``simulate --if-stale``) and ``verify`` on it. Up to date, both succeed without writing anything;
stale or damaged, they end in one line naming the folder, that it is read-only, and the fix. Building on it keeps
failing. Tests run as root, whom chmod does not stop: the end-to-end cases run the command line as the user
``nobody`` (skipped where that is not possible), the in-process ones fake a read-only mount (``EROFS``).

``make`` refuses a ``REPO`` that is empty, starts with ``-`` or holds a character outside ``A-Za-z0-9._/+@,=-``
(``require_plain_repo``); the command line refuses exactly the same names.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import REPO_ROOT, run_cli

import data_fetch.hsc_validation as hsc
import data_fetch.simulate as simulate
from data_fetch import SIMULATOR_VERSION, manifest, safety

PATCHES = "1"  # 1 x 1 patch per tract: the smallest build
OWNER_FIX = "Ask whoever owns it to run `make data`, or use your own copy with `make data REPO=my-data`."


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory) -> Path:
    """One clean build of the smallest repository; tests copy it."""
    return simulate.build(
        tmp_path_factory.mktemp("clean") / "DATA", num_patches=(1, 1), progress=False, log=lambda m: None
    ).path


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


def _truncate_a_parquet_file(repo: Path) -> None:
    victim = sorted(repo.rglob("*.parq"))[0]
    victim.write_bytes(victim.read_bytes()[:100])


def _snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry of ``folder`` and below, with its mode, size and modification time: nothing may change."""
    entries = [folder, *folder.rglob("*")]
    return {str(p.relative_to(folder)): (p.lstat().st_mode, p.lstat().st_size, p.lstat().st_mtime_ns) for p in entries}


def _one_line(err: list[str] | str) -> str:
    lines = [line for line in err.splitlines() if line.strip()] if isinstance(err, str) else err
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


# ---------------------------------------------------------------------------------------------------------
# In-process: a read-only mount (EROFS), faked for this process
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def shared(clean_build, tmp_path) -> Path:
    """A copy of the clean build, ``share/DATA``: the folder of the mount is ``share``."""
    target = tmp_path / "share" / "DATA"
    target.parent.mkdir()
    shutil.copytree(clean_build, target)
    return target


def _read_only_mount(monkeypatch, folder: Path) -> None:
    """Make ``folder`` and everything in it read-only as a read-only mount does: ``os.access(W_OK)`` is False there
    and ``os.open`` for writing or creating fails with EROFS."""
    real_open, real_access = os.open, os.access

    def inside(path) -> bool:
        path = Path(os.path.abspath(path))
        return path == folder or folder in path.parents

    def read_only_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def read_only_access(path, mode, **kwargs):
        if mode & os.W_OK and inside(path):
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)
    monkeypatch.setattr(os, "access", read_only_access)


def _no_build(*args, **kwargs):
    raise AssertionError("a build started")


def _lock_state(lock: Path) -> str:
    """How the lock file ``lock`` is held by others: "none" (no file), "free", "shared" or "exclusive"."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return "none"
    try:
        for operation, state in ((fcntl.LOCK_EX, "free"), (fcntl.LOCK_SH, "shared")):
            try:
                fcntl.flock(fd, operation | fcntl.LOCK_NB)
                return state
            except BlockingIOError:
                pass
        return "exclusive"
    finally:
        os.close(fd)


def test_a_current_repository_on_a_read_only_mount_is_up_to_date_for_make_data_and_verify(shared, capsys, monkeypatch):
    before = _snapshot(shared.parent)
    monkeypatch.setattr(simulate, "_write_repository", _no_build)
    _read_only_mount(monkeypatch, shared.parent)
    code, out, err = run_cli(capsys, "simulate", "--repo", str(shared), "--patches", PATCHES, "--if-stale", "--quiet")
    assert (code, err) == (0, [])
    assert out == f"{shared} is up to date (simulator version {SIMULATOR_VERSION}; files and registry checked).\n"
    code, out, err = run_cli(capsys, "verify", "--repo", str(shared))
    assert (code, err, out) == (0, [], f"{shared}: every file matches its manifest (size and SHA-256).\n")
    assert _snapshot(shared.parent) == before  # no lock file, no staging folder


@pytest.mark.parametrize("lock_file", ["there", "absent"])
def test_a_check_of_a_read_only_repository_holds_a_shared_lock_or_none(shared, capsys, monkeypatch, lock_file):
    """The lock file of the owner, if there: locked shared (an owner's build would wait, and it for one); else the
    check goes on without a lock and creates none."""
    lock = safety.lock_path(shared)
    if lock_file == "there":
        lock.touch()
    seen: list[str] = []
    real_verify = manifest.verify

    def verify_noting_the_lock(target):
        seen.append(_lock_state(lock))
        return real_verify(target)

    monkeypatch.setattr(manifest, "verify", verify_noting_the_lock)
    _read_only_mount(monkeypatch, shared.parent)
    code, out, err = run_cli(capsys, "verify", "--repo", str(shared))
    assert (code, err) == (0, []) and "every file matches" in out
    assert seen == (["shared"] if lock_file == "there" else ["none"])
    assert lock.exists() == (lock_file == "there")


def test_a_check_of_a_read_only_repository_refuses_while_its_owner_builds(shared, capsys, monkeypatch):
    with safety.exclusive_lock(shared, "the owner's build"):
        _read_only_mount(monkeypatch, shared.parent)
        code, _, err = run_cli(capsys, "verify", "--repo", str(shared))
    line = _one_line(err)
    assert code == 2 and f"{shared} is in use by process {os.getpid()} (the owner's build" in line


@pytest.mark.parametrize("stale", ["other options", "damaged"])
def test_a_stale_repository_on_a_read_only_mount_is_one_line_naming_it_and_the_fix(shared, capsys, monkeypatch, stale):
    patches = "2" if stale == "other options" else PATCHES
    if stale == "damaged":
        _truncate_a_parquet_file(shared)
    before = _snapshot(shared.parent)
    monkeypatch.setattr(simulate, "_write_repository", _no_build)
    _read_only_mount(monkeypatch, shared.parent)
    code, out, err = run_cli(capsys, "simulate", "--repo", str(shared), "--patches", patches, "--if-stale", "--quiet")
    line = _one_line(err)
    assert code == 2 and out == ""
    assert line.startswith(f"data_fetch: error: {shared} is read-only for you and needs a rebuild (it ")
    assert line.endswith(f"); nothing was written. {OWNER_FIX}")
    assert ("it was built with other options" if stale == "other options" else "it is damaged: ") in line
    if stale == "damaged":
        code, out, err = run_cli(capsys, "verify", "--repo", str(shared))
        assert code == 1 and out.startswith(f"{shared}/")
        assert _one_line(err) == (
            f"data_fetch: {shared}: 1 damaged file(s); it is read-only for you, so ask whoever owns it to run "
            "`make data`, or use your own copy with `make data REPO=my-data`."
        )
    assert _snapshot(shared.parent) == before


def test_building_on_a_read_only_mount_still_fails(shared, capsys, monkeypatch):
    monkeypatch.setattr(simulate, "_write_repository", _no_build)
    _read_only_mount(monkeypatch, shared.parent)
    for extra in (("--force",), ()):
        code, _, err = run_cli(capsys, "simulate", "--repo", str(shared), "--patches", PATCHES, "--quiet", *extra)
        assert code == 2 and _one_line(err) == (
            f"data_fetch: error: cannot write in {shared.parent}; choose a --repo in a folder you can write to."
        )


def test_an_ingest_never_goes_on_without_its_lock(shared, tmp_path, capsys, monkeypatch):
    """Only a check may go on read-only: the download's ingest still needs to write its lock file."""
    _read_only_mount(monkeypatch, shared.parent)
    args = ("--repo", str(shared), "--cache", str(tmp_path / "cache"), "--lfs-url", "http://127.0.0.1:1/x")
    code, _, err = run_cli(capsys, "download", "hsc-validation", "--quiet", *args)
    assert code == 2 and f"cannot create the lock file {safety.lock_path(shared)} (Read-only file system)" in err[0]


def test_a_survey_on_a_read_only_mount_is_only_read_by_if_stale(small_survey, tmp_path, monkeypatch):
    """Lesson 10's ``ensure_survey`` (``survey --if-stale``) on a survey a teacher shares read-only."""
    from conftest import SMALL_SURVEY_AREA, SMALL_SURVEY_PARTITION_ROWS

    from data_fetch import survey

    shared_survey = tmp_path / "share" / "SURVEY"
    shutil.copytree(small_survey, shared_survey)
    before = _snapshot(shared_survey.parent)
    monkeypatch.setattr(survey, "_build_into", _no_build)
    _read_only_mount(monkeypatch, shared_survey.parent)
    options = {"seed": 7, "margin_arcsec": 5.0, "partition_rows": SMALL_SURVEY_PARTITION_ROWS, "progress": False}
    summary = survey.build_survey(shared_survey, area_deg2=SMALL_SURVEY_AREA, if_stale=True, **options)
    assert summary.up_to_date
    with pytest.raises(survey.SurveyError, match=r"read-only for you .*Ask whoever owns it to rebuild it, or choose"):
        survey.build_survey(shared_survey, area_deg2=SMALL_SURVEY_AREA, if_stale=True, **{**options, "seed": 8})
    with pytest.raises(survey.SurveyError, match="cannot write in"):
        survey.build_survey(shared_survey, area_deg2=SMALL_SURVEY_AREA, force=True, **options)
    assert _snapshot(shared_survey.parent) == before


# ---------------------------------------------------------------------------------------------------------
# End to end: the command line run as the user nobody on a DATA that root owns and made read-only
# ---------------------------------------------------------------------------------------------------------
class Room:
    """Folders a learner (``nobody``) can reach, and the command line run as that learner."""

    def __init__(self, root: Path, user: pwd.struct_passwd):
        self.root, self.user = root, user
        self.home = root / "home"

    def command(self, *args: str) -> list[str]:
        ids = [f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups"]
        # The learner may read and search every folder (CAP_DAC_READ_SEARCH), so it runs this clone's .venv
        # wherever the clone is (under a private folder, as `mktemp -d` makes); what it may write is left to the
        # permissions, which is what these tests are about.
        reads = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
        return [shutil.which("setpriv"), *ids, *reads, sys.executable, "-m", "data_fetch", *args]

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args), cwd=self.home, env=self.env(), capture_output=True, text=True, timeout=300
        )

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(*args),
            cwd=self.home,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def data(self, clean_build: Path, name: str, *, parent_writable: bool) -> Path:
        """A read-only copy of ``clean_build`` (``chmod -R a-w``, root's), in a folder the learner may write or not."""
        folder = self.root / name
        folder.mkdir()
        folder.chmod(0o777 if parent_writable else 0o755)
        target = folder / "DATA"
        shutil.copytree(clean_build, target)
        for path in [target, *target.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        return target


@pytest.fixture(scope="module")
def room():
    """A :class:`Room`; skipped unless this process is root, with setpriv (only root can run a command as another
    user)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("running the command line as another user needs root and setpriv")
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("there is no user nobody")
    root = Path(tempfile.mkdtemp(prefix="shared-data-"))
    try:
        root.chmod(0o755)
        learners = Room(root, user)
        learners.home.mkdir()
        learners.home.chmod(0o777)
        probe = learners.run("verify", "--help")
        assert probe.returncode == 0, f"python -m data_fetch does not run as nobody: {probe.stderr.strip()[-300:]}"
        yield learners
    finally:
        shutil.rmtree(root)  # root may delete read-only folders


@pytest.mark.parametrize("parent", ["shared", "yours"])
def test_a_current_read_only_data_passes_make_data_and_verify_for_a_learner(room, clean_build, parent):
    """``parent``: the folder holding DATA is read-only for the learner too (a teacher's share), or the learner's."""
    data = room.data(clean_build, f"current-{parent}", parent_writable=parent == "yours")
    before, beside = _snapshot(data), sorted(os.listdir(data.parent))
    made = room.run("simulate", "--repo", str(data), "--patches", PATCHES, "--if-stale", "--quiet")
    assert (made.returncode, made.stderr) == (0, ""), made.stderr
    assert made.stdout == f"{data} is up to date (simulator version {SIMULATOR_VERSION}; files and registry checked).\n"
    checked = room.run("verify", "--repo", str(data))
    assert (checked.returncode, checked.stderr) == (0, ""), checked.stderr
    assert checked.stdout == f"{data}: every file matches its manifest (size and SHA-256).\n"
    assert _snapshot(data) == before and sorted(os.listdir(data.parent)) == beside


@pytest.mark.parametrize("parent", ["shared", "yours"])
@pytest.mark.parametrize("stale", ["other options", "damaged"])
def test_a_stale_read_only_data_is_one_line_naming_it_and_the_fix_for_a_learner(room, clean_build, parent, stale):
    data = room.data(clean_build, f"stale-{parent}-{stale.replace(' ', '-')}", parent_writable=parent == "yours")
    if stale == "damaged":
        _truncate_a_parquet_file(data)  # root writes through the read-only modes
    before, beside = _snapshot(data), sorted(os.listdir(data.parent))
    patches = "2" if stale == "other options" else PATCHES
    result = room.run("simulate", "--repo", str(data), "--patches", patches, "--if-stale", "--quiet")
    line = _one_line(result.stderr)
    assert result.returncode == 2 and result.stdout == ""
    assert line.startswith(f"data_fetch: error: {data} is read-only for you and needs a rebuild (it ")
    assert line.endswith(f"); nothing was written. {OWNER_FIX}")
    assert _snapshot(data) == before and sorted(os.listdir(data.parent)) == beside


def test_a_learners_check_waits_for_the_teachers_build(room, clean_build):
    """The teacher (root) builds: verify says so and stops, make data waits for it, then finds DATA up to date."""
    data = room.data(clean_build, "waiting", parent_writable=False)
    with ThreadPoolExecutor(1) as pool:
        with safety.exclusive_lock(data, "the teacher's build"):
            checked = room.run("verify", "--repo", str(data))
            assert checked.returncode == 2
            assert f"{data} is in use by process {os.getpid()} (the teacher's build" in _one_line(checked.stderr)
            waiting = room.popen("simulate", "--repo", str(data), "--patches", PATCHES, "--if-stale", "--quiet")
            first = pool.submit(waiting.stdout.readline).result(timeout=120)
            assert first.startswith(f"{data} is in use by process {os.getpid()} (the teacher's build"), first
            assert first.rstrip().endswith("waiting for it to finish (Ctrl-C to stop waiting).")
            time.sleep(0.3)
            assert waiting.poll() is None
        out, err = waiting.communicate(timeout=120)
    assert (waiting.returncode, err) == (0, ""), err
    assert out == f"{data} is up to date (simulator version {SIMULATOR_VERSION}; files and registry checked).\n"


@pytest.mark.parametrize(
    "parent, words",
    [("shared", ("cannot write in",)), ("yours", ("cannot be replaced: it is read-only for you", "chmod -R u+w"))],
)
def test_a_learners_forced_build_on_read_only_data_still_fails(room, clean_build, parent, words):
    data = room.data(clean_build, f"force-{parent}", parent_writable=parent == "yours")
    before = _snapshot(data)
    result = room.run("simulate", "--repo", str(data), "--patches", PATCHES, "--force", "--quiet")
    line = _one_line(result.stderr)
    assert result.returncode == 2 and all(word in line for word in words), line
    assert _snapshot(data) == before and not safety.lock_path(data).exists()


# ---------------------------------------------------------------------------------------------------------
# Folder names: the command line refuses exactly what make refuses
# ---------------------------------------------------------------------------------------------------------
def _make_pattern() -> str:
    """The ``case`` pattern of the Makefile's ``require_plain_repo``: the names it refuses."""
    text = (REPO_ROOT / "Makefile").read_text()
    match = re.search(r'case "\$\$REPO" in ([^)]+)\)', text)
    assert match, "require_plain_repo's case pattern not found in the Makefile"
    return match[1]


def _make_accepts(name: str) -> bool:
    script = f'case "$1" in {_make_pattern()}) exit 1;; esac'
    return subprocess.run(["sh", "-c", script, "sh", name], env={"LC_ALL": "C.UTF-8"}).returncode == 0


def _cli_accepts(name: str) -> bool:
    try:
        safety.check_target(name, "--repo", log=lambda m: None)
    except safety.SafetyError:
        return False
    return True


@pytest.mark.parametrize("name", ["DATA", "my-data", "a/b-c", "./-x", "A.b_c+d@e,f=g-9"])
def test_a_plain_folder_name_is_accepted(name):
    assert safety.check_target(name, "--repo", log=lambda m: None) == Path.cwd() / os.path.normpath(name)


@pytest.mark.parametrize(
    "name, words",
    [
        ("-x", ("'-x' starts with '-'", "read as an option")),
        ("données", ("'données' contains 'é'", "ASCII letters")),
        ("naïve/DATA", ("contains 'ï'",)),
        ("\u0661", ("contains '\u0661'",)),  # an Arabic-Indic digit: \d, not 0-9
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ("simulate", "--quiet", "--repo={name}"),
        ("verify", "--repo={name}"),
        ("survey", "--quiet", "--out={name}"),
        ("download", "hsc-validation", "--quiet", "--lfs-url", "http://127.0.0.1:1/x", "--repo={name}"),
    ],
    ids=["simulate", "verify", "survey", "download"],
)
def test_a_folder_name_make_refuses_is_one_line_naming_the_cause(capsys, monkeypatch, name, words, command):
    monkeypatch.setattr(simulate, "_write_repository", _no_build)
    args = [word.format(name=name) for word in command]
    code, out, err = run_cli(capsys, *args)
    line = _one_line(err)
    option = args[-1].split("=", 1)[0]
    assert code == 2 and line.startswith(f"data_fetch: error: {option} "), line
    assert all(word in line for word in words), (words, line)
    assert sorted(os.listdir(".")) == []


def test_a_cache_folder_may_have_any_letters_but_not_a_leading_dash(tmp_path, monkeypatch):
    """The cache's default lies under the home folder (``~/.cache``), whatever its owner's name; no make recipe
    passes it to a shell."""
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "josé"
    assert hsc._cache_folder(home / "cache", log=lambda m: None) == home / "cache" / hsc.CACHE_SUBFOLDER
    with pytest.raises(safety.SafetyError, match="starts with '-'"):
        hsc._cache_folder("-x", log=lambda m: None)
    with pytest.raises(safety.SafetyError, match="contains ' '"):
        hsc._cache_folder(home / "my cache", log=lambda m: None)


@pytest.mark.parametrize(
    "name",
    ["DATA", "my-data", "a/b-c", "./-x", "-x", "--", "-", "données", "日本", "a b", "x;y", "50%", "a#b", "q?", "", " "],
)
def test_the_command_line_and_make_accept_the_same_names(name):
    assert _cli_accepts(name) == _make_accepts(name)
