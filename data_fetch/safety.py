"""Nothing lost, nothing half-written: how ``python -m data_fetch`` writes a repository or a cache.

Paths
    :func:`check_target` refuses, with one line, a ``--repo`` or ``--cache`` that could not work or that names a
    folder never to be replaced: text that the Makefile would refuse as ``REPO`` (``require_plain_repo``), with
    characters outside :data:`SAFE_PATH_CHARACTERS` (shell metacharacters, non-ASCII letters, and ``%``, ``#``,
    ``?``, which the Butler would read as URI syntax) or a leading ``-`` (every later command would read it as an
    option); the current folder, the home folder, ``/`` or any folder above the current one, anything under
    ``/proc``, ``/sys`` or ``/dev``, and anything inside a repository or survey data_fetch made
    (:func:`enclosing_output`: it would be a foreign file there, which blocks that output's verify and rebuilds). A
    symbolic link is followed (the real folder is built or replaced, and the command says so); a dangling one is
    refused. :func:`require_parent_folder` names a missing folder, or the file in its place. Before a build that
    would replace a folder, :func:`require_writable` refuses one with a read-only folder in it (the swap could not
    move it), naming the ``chmod`` that fixes it, or, when the folder is shared read-only (another user's, or on a
    read-only file system), whom to ask and how to use your own copy.

Marker
    Every repository data_fetch makes holds :data:`tutorial_lib.repository.MARKER_NAME`. ``--force`` replaces only a
    folder with that marker (or the ``SIMULATOR_VERSION`` stamp that versions before the marker wrote).

Lock
    :func:`exclusive_lock` takes an ``fcntl`` lock on a file beside the target (``.DATA.lock``) for the whole build
    or ingest; a second command on the same target says which process holds it and exits, or, with ``--if-stale``,
    waits for it and then finds the target up to date. The lock file records that process; it is removed when the
    lock is released only if data_fetch wrote it (a file of that name holding anything else is refused, never
    overwritten or removed).

    A check that may only read (``verify``, and ``--if-stale`` until it finds the target stale) goes on where that
    file cannot be written, as in a read-only ``DATA`` a teacher shares with a room: it takes a shared lock on the
    file if it is there and readable, so it still waits for the owner's build, else no lock. Nothing is then written
    in or beside the target: :func:`require_writable` refuses a rebuild, and :func:`recover` leaves what it finds.

Staging and the swap
    A build writes into ``.DATA.building-<pid>-<random>/repo`` beside the target (an ingest:
    ``.DATA.ingesting-...``). :func:`swap_into_place` then writes a journal into the staging folder, moves an old
    repository to ``previous`` in it and renames the new one onto the target with ``RENAME_NOREPLACE``, so a folder
    that appeared at the target meanwhile is never replaced. SIGINT, SIGTERM and SIGHUP wait until both renames are
    done. Only a ``kill -9`` can stop the swap half way: :func:`recover`, run under the lock by the next command,
    finishes it when the new repository is complete, else restores the previous one, says which, and removes staging
    folders whose process is gone.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tutorial_lib.repository import MARKER_NAME, check_repository

__all__ = [
    "SAFE_PATH_CHARACTERS",
    "Interrupted",
    "SafetyError",
    "atomic_write",
    "check_target",
    "enclosing_output",
    "exclusive_lock",
    "install_signal_handlers",
    "is_data_fetch_repository",
    "cannot_tell",
    "read_only_advice",
    "read_only_folder",
    "refuse_foreign",
    "require_writable",
    "shown_name",
    "make_staging",
    "recover",
    "require_free_space",
    "require_parent_folder",
    "signals_deferred",
    "swap_into_place",
    "write_marker",
]

#: Characters a --repo or --out may hold: ASCII letters, digits and ``_ . / + , @ = -``, the ones the Makefile
#: allows in REPO (``require_plain_repo``, which also refuses a leading ``-``).
SAFE_PATH_CHARACTERS = "A-Za-z0-9_./+,@=-"
_SAFE_PATH_RE = re.compile(rf"[{SAFE_PATH_CHARACTERS}]+")
#: The same with any letter or digit (``\w``): a --cache, which no make recipe passes on and whose default lies
#: under the home folder, whatever its owner's name.
_SAFE_CACHE_RE = re.compile(r"[\w./+,@=-]+")
#: File systems that are not storage.
_SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))
#: The stamp that data_fetch versions before the marker wrote, exactly as they wrote it.
_LEGACY_STAMP = "SIMULATOR_VERSION"
_LEGACY_STAMP_RE = re.compile(rb"\d+(\.\d+)*\nseed \d+\npatches \d+x\d+\n")
#: The marker of a survey made by ``python -m data_fetch survey`` (:data:`data_fetch.survey.MARKER_FILE`).
SURVEY_MARKER_NAME = "MADE_BY_DATA_FETCH_SURVEY.json"
#: What :func:`exclusive_lock` writes into its lock file; a file of that name holding anything else is not ours.
_LOCK_RECORD_RE = re.compile(r"process \d+ \(.*, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n")
_STAGING_RE = re.compile(r"\.(?P<name>.+)\.(?P<kind>building|ingesting)-(?P<pid>\d+)-[A-Za-z0-9_]+")
JOURNAL = "SWAP.json"
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Log = Callable[[str], None]
#: Targets this process finished swapping into place (a signal that waited for the swap then says so).
COMPLETED: list[Path] = []


class SafetyError(RuntimeError):
    """A command refused to start, or stopped, to keep data safe; the message names the path and the fix."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived; raised like KeyboardInterrupt so that every cleanup runs."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: The signals that interrupted this process, in order: a library may turn the exception a signal raised into
#: one of its own (pydantic's SchemaError, say), and the command line still reports the interruption.
RECEIVED: list[int] = []


def _raise_interrupted(signum, frame) -> None:
    RECEIVED.append(signum)
    raise Interrupted(signum)


def _raise_keyboard_interrupt(signum, frame) -> None:
    RECEIVED.append(signum)
    signal.default_int_handler(signum, frame)


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP clean up as Ctrl-C (SIGINT) does; each signal is recorded in :data:`RECEIVED`.

    A signal the parent set to be ignored stays ignored (``nohup`` ignores SIGHUP on purpose). The three signals are
    unblocked: a process inherits its parent's signal mask, and a blocked SIGTERM would never run the cleanup.
    """
    for signum, handler in (
        (signal.SIGTERM, _raise_interrupted),
        (signal.SIGHUP, _raise_interrupted),
        (signal.SIGINT, _raise_keyboard_interrupt),
    ):
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)


def report_interrupted(signum: int) -> int:
    """Say on stderr, in one line, that signal ``signum`` stopped the command and what was kept; its exit status."""
    name = signal.Signals(signum).name
    done = f"{COMPLETED[-1]} had just been written, complete" if COMPLETED else "nothing was written"
    print(f"data_fetch: interrupted ({name}); {done}.", file=sys.stderr)
    return 128 + signum


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block is done (they are delivered right after)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def fault_point(stage: str) -> None:
    """Test hooks (tests/test_faults.py) at ``stage`` of a build or ingest.

    ``DATA_FETCH_FAULT=<stage>`` kills this process with SIGKILL there. ``DATA_FETCH_PAUSE=<stage>`` creates the
    file ``$DATA_FETCH_PAUSE_FILE`` and waits there up to 60 s, so that a test can send a signal at a known point.
    """
    if os.environ.get("DATA_FETCH_FAULT") == stage:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get("DATA_FETCH_PAUSE") == stage and os.environ.get("DATA_FETCH_PAUSE_FILE"):
        Path(os.environ["DATA_FETCH_PAUSE_FILE"]).touch()
        time.sleep(60)


# ---------------------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------------------
def check_target(
    text: str, option: str = "--repo", log: Log = print, *, example: str | None = "DATA", any_letters: bool = False
) -> Path:
    """The absolute folder ``text`` names (a symbolic link followed), or SafetyError if it must not be used.

    ``example`` is the folder an empty ``text`` is told to give instead (the command's default), or None for none.
    ``any_letters`` allows letters and digits beyond ASCII (a cache folder under a home folder such as ``josé``).
    """
    _require_plain(text, option, example, _SAFE_CACHE_RE if any_letters else _SAFE_PATH_RE)
    path = Path(text).absolute()
    if path.is_symlink():
        if not path.exists():
            raise SafetyError(f"{option} {text} is a symbolic link to {os.readlink(path)}, which does not exist.")
        real = path.resolve()
        log(f"{text} is a symbolic link: using its target {real}.")
        path = real
    else:
        path = Path(os.path.normpath(path))
    for system in _SYSTEM_FOLDERS:
        if path == system or system in path.parents:
            raise SafetyError(f"{option} {text} is under {system}, which is not storage; choose another folder.")
    cwd = Path.cwd().resolve()
    protected = {Path("/"): "the root folder", Path.home().resolve(): "your home folder", cwd: "the current folder"}
    resolved = path.resolve()
    if resolved in protected:
        raise SafetyError(f"{option} {text} is {protected[resolved]}; it is never replaced or built into.")
    if resolved in cwd.parents:
        raise SafetyError(f"{option} {text} is a folder above the current one; it is never replaced or built into.")
    enclosing = enclosing_output(resolved)
    if enclosing is not None:
        raise SafetyError(
            f"{option} {text} is inside {enclosing}, which data_fetch made; anything written there would be a file "
            f"it did not make, and its verify and rebuilds would then refuse. Choose a folder outside {enclosing}."
        )
    return path


def _require_plain(text: str, option: str, example: str | None, allowed: re.Pattern[str]) -> None:
    """Refuse ``text`` as the Makefile refuses a ``REPO`` (``require_plain_repo``): empty, starting with ``-``, or
    holding a character ``allowed`` does not match; the message names the ``-`` or the characters."""
    if not text or not text.strip():
        hint = f", e.g. {option} {example}" if example else ""
        raise SafetyError(f"{option} is empty; give a folder name{hint}.")
    bad = sorted({c for c in text if not allowed.fullmatch(c)})
    if bad:
        letters = "letters" if allowed is _SAFE_CACHE_RE else "ASCII letters (A-Z, a-z)"
        raise SafetyError(
            f"{option} {text!r} contains {' '.join(repr(c) for c in bad)}; use only {letters}, digits and "
            "'_ . / + , @ = -', as `make` does (the Butler reads % # ? as URI syntax, and the shell reads others)."
        )
    if text.startswith("-"):
        raise SafetyError(
            f"{option} {text!r} starts with '-', which every command it is passed to would read as an option; "
            "choose a name that does not start with '-'" + (f" (e.g. {option} {example})." if example else ".")
        )


def enclosing_output(path: Path) -> Path | None:
    """The nearest folder above ``path`` that data_fetch made (a repository or a survey), or None if there is none."""
    for parent in path.parents:
        if is_data_fetch_repository(parent) or (parent / SURVEY_MARKER_NAME).is_file():
            return parent
    return None


def _not_a_folder(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return f"is a symbolic link to {os.readlink(path)}, which does not exist"
    return "is a file, not a folder" if path.is_file() else "is not a folder"


def require_parent_folder(target: Path, option: str) -> None:
    """Refuse, naming the cause, a ``target`` whose folder does not exist (or is a file).

    Parameters
    ----------
    target : pathlib.Path
        The absolute path a command would create (as :func:`check_target` returns it).
    option : str
        The option that chose it (``--repo``, ``--out``), for the message.

    Raises
    ------
    SafetyError
        ``target.parent`` is not a folder; the message names the file in the way, or the missing folder.
    """
    parent = target.parent
    if parent.is_dir():
        return
    blocker = next((p for p in (parent, *parent.parents) if os.path.lexists(p)), None)
    if blocker is not None and not blocker.is_dir():
        raise SafetyError(
            f"{blocker} {_not_a_folder(blocker)}, so the folder {target} would go in does not exist; choose "
            f"another {option}."
        )
    raise SafetyError(f"the folder {parent} does not exist; create it first or choose another {option}.")


def read_only_folder(target: Path) -> Path | None:
    """The first folder of ``target`` (itself included) that this process cannot write, or None if there is none.

    Replacing ``target`` needs them all writable: moving a folder to another parent rewrites its ``..`` entry, and
    removing the replaced copy deletes the entries of every folder in it.
    """
    for folder, _, _ in os.walk(target):  # symbolic links to folders are not followed
        if not os.access(folder, os.W_OK):
            return Path(folder)
    return None


def require_writable(target: Path, text: str, option: str, reason: str | None = None) -> None:
    """Refuse, before anything is built, to replace ``target`` when a folder of it is read-only.

    Parameters
    ----------
    target : pathlib.Path
        The existing folder a build would replace.
    text : str
        ``target`` as the user gave it: the message and the ``chmod`` command it suggests name it so, unless it is
        a symbolic link (then they name the folder it points to, which is the one to make writable).
    option : str
        The option that chose ``target`` (``--repo``, ``--out``), to suggest another folder.
    reason : str, optional
        Why it would be replaced (for ``--if-stale``: its damage, say), for the message.

    Raises
    ------
    SafetyError
        ``target`` or a folder in it cannot be written, or this process only reads it (:func:`exclusive_lock`
        could not write the lock file); the message names it and the fix: ``chmod`` for a folder of yours, else
        (shared read-only) whom to ask, and how to use your own copy.
    """
    blocked = read_only_folder(target)
    held_read_only = target in _READ_ONLY_HOLDS
    if blocked is None and not held_read_only:
        return
    shown = text if Path(text).absolute() == target else str(target)
    if held_read_only or (reason and _shared_read_only(blocked)):
        raise SafetyError(_shared_read_only_message(target, shown, option, reason, blocked))
    where = "" if blocked == target else f" ({blocked} cannot be written)"
    start = f"{shown} needs a rebuild ({reason}), but" if reason else f"{shown} cannot be replaced:"
    raise SafetyError(
        f"{start} it is read-only for you{where}; nothing was written. Make it writable with "
        f"`chmod -R u+w {shown}`, or choose another {option}."
    )


def _shared_read_only(folder: Path) -> bool:
    """Whether ``chmod`` cannot make ``folder`` writable: it is another user's, or on a read-only file system."""
    try:
        return folder.stat().st_uid != os.geteuid() or bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return True


def _shared_read_only_message(target: Path, shown: str, option: str, reason: str | None, blocked: Path | None) -> str:
    """The refusal to rebuild ``target`` (``shown`` as the user gave it) that someone else must rebuild."""
    if blocked is None:  # the folder is writable, its lock file is not: building would race with its owner
        where = f" (its lock file {lock_path(target)} cannot be written: {_READ_ONLY_HOLDS[target]})"
    else:
        where = "" if blocked == target else f" ({blocked} cannot be written)"
    state = f"needs a rebuild ({reason})" if reason else "cannot be replaced"
    fix = _ask_the_owner(option)
    return f"{shown} is read-only for you{where} and {state}; nothing was written. {fix[0].upper()}{fix[1:]}."


def _ask_the_owner(option: str) -> str:
    if option == "--repo":
        return "ask whoever owns it to run `make data`, or use your own copy with `make data REPO=my-data`"
    return f"ask whoever owns it to rebuild it, or choose another {option}"


def read_only_advice(target: Path, shown: str) -> str | None:
    """What to do about the damaged ``--repo`` ``target`` (``shown`` as the user gave it) that this process cannot
    rebuild, as a phrase; None when it can. Call it under :func:`exclusive_lock`.

    A folder of yours: the ``chmod`` that makes it writable, then the rebuild. Shared read-only (another user's, on
    a read-only file system, or its lock file cannot be written): whom to ask, and how to use your own copy.
    """
    blocked = read_only_folder(target)
    if blocked is None and target not in _READ_ONLY_HOLDS:
        return None
    if target in _READ_ONLY_HOLDS or _shared_read_only(blocked):
        return f"it is read-only for you, so {_ask_the_owner('--repo')}"
    folder = shown if Path(shown).absolute() == target else str(target)  # a symbolic link: the folder it names
    return (
        f"it is read-only for you: make it writable with `chmod -R u+w {folder}`, then rebuild it with "
        f"`python -m data_fetch simulate --repo {shown} --if-stale` (make data)"
    )


def is_data_fetch_repository(path: Path) -> bool:
    """True when ``path`` holds data_fetch's marker (or the exact stamp of versions before the marker)."""
    if (path / MARKER_NAME).is_file():
        return True
    stamp = path / _LEGACY_STAMP
    try:
        return stamp.is_file() and stamp.stat().st_size < 200 and bool(_LEGACY_STAMP_RE.fullmatch(stamp.read_bytes()))
    except OSError:
        return False


def describe_folder(path: Path) -> str:
    """A few of the names in ``path``, for refusals: ``it holds thesis.tex, notes/ and 3 more``."""
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
    except OSError as error:
        return f"it cannot be listed ({error.strerror})"
    if not names:
        return "it is empty"
    shown = ", ".join(names[:3])
    return f"it holds {shown}" + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def empty_folder_fix(path: Path, shown: str) -> str | None:
    """The fix for an empty folder the user made where data_fetch would build (``shown`` as the user gave it), or
    None when ``path`` is not an empty folder.

    data_fetch makes its output folder itself and replaces only folders it made; an empty folder has nothing to
    lose, but it may carry a mode, a group or ACLs someone chose, so it is not taken over either.
    """
    try:
        # Through a symbolic link, removing the folder would leave a dangling link, which is refused as a target.
        if Path(shown).is_symlink() or path.is_symlink() or not path.is_dir() or any(path.iterdir()):
            return None
    except OSError:
        return None
    return f"remove the empty folder (`rmdir {shown}`; data_fetch makes the folder itself) and run the command again"


def shown_name(name: str) -> str:
    """A path for a message: as it is, or quoted (``repr``) when it holds a control character or a comma."""
    return name if name.isprintable() and "," not in name else repr(name)


def cannot_tell(target: Path | str, why: str) -> str:
    """The refusal when ``target`` has no readable record of its own files (``why``), so none can be told from
    anyone else's."""
    return (
        f"{why}; without that record data_fetch cannot tell its own files from yours, so {target} is left as it "
        f"is. Move it away (for example `mv {target} {target}.old`), run the command again, and delete the old "
        "folder once you have kept what you need from it."
    )


def refuse_foreign(target: Path, names: Sequence[str], listed_by: str | None = None) -> None:
    """Refuse to replace ``target`` while it holds entries data_fetch did not make (``names``, relative paths;
    ``listed_by``: a command that lists them all, for the message).

    Raises
    ------
    SafetyError
        ``names`` is not empty; the message names up to five and says how to go on.
    """
    if names:
        shown = ", ".join(shown_name(name) for name in names[:5])
        if len(names) > 5:
            shown += f" and {len(names) - 5} more" + (f"; `{listed_by}` lists them all" if listed_by else "")
        raise SafetyError(
            f"{target} holds {len(names)} file(s) or folder(s) that data_fetch did not make ({shown}); replacing it "
            f"would delete them, so it is left as it is. Move them out of {target}, then run the command again."
        )


def write_marker(repo: Path, kind: str) -> None:
    """Write data_fetch's marker into ``repo``."""
    atomic_write(
        repo / MARKER_NAME,
        f"This folder is a Butler repository made by `python -m data_fetch` ({kind}).\n"
        "`python -m data_fetch ... --force` may replace it; it replaces no folder without this file.\n".encode(),
    )


def atomic_write(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file in the same folder and a rename: all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; these files are shared like any other
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------
# Space
# ---------------------------------------------------------------------------------------------------------
def format_bytes(nbytes: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes:.0f} B"


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable`` of /proc/meminfo), or None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def require_free_space(folder: Path, needed: int, what: str) -> None:
    """SafetyError unless ``folder``'s file system has ``needed`` bytes free."""
    free = free_bytes(folder)
    if free < needed:
        raise SafetyError(
            f"{what} needs about {format_bytes(needed)} in {folder}, which has {format_bytes(free)} free; "
            "free some space or choose another folder. Nothing was written."
        )


# ---------------------------------------------------------------------------------------------------------
# Lock
# ---------------------------------------------------------------------------------------------------------
def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


#: Why ``open`` cannot write a lock file: the folder or the file is another user's, or the file system is read-only.
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
#: The targets this process only reads, because it cannot write their lock file (:func:`exclusive_lock`), with
#: why (``strerror``); nothing may be written in or beside them (:func:`require_writable`, :func:`make_staging`).
_READ_ONLY_HOLDS: dict[Path, str] = {}


class _LockNotWritable(Exception):
    """The lock file cannot be created, or opened for writing; ``args``: the message and the ``strerror``."""


@contextmanager
def exclusive_lock(
    target: Path, what: str, wait: Callable[[str], None] | None = None, *, shared_if_read_only: bool | None = None
) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``.<name>.lock`` beside ``target`` for the block.

    Parameters
    ----------
    target : pathlib.Path
        The folder the lock guards.
    what : str
        The command holding it, recorded in the lock file for whoever finds it held.
    wait : callable, optional
        When another process holds the lock: None refuses at once; a callable is given one line naming the
        holder, then the lock is awaited (Ctrl-C stops waiting). An ``--if-stale`` run waits, so a second
        ``make lab`` started during the first one's build finds the data built, rather than failing.
    shared_if_read_only : bool, optional
        Whether the block may only read ``target`` when the lock file cannot be written (a folder shared
        read-only): it then runs under a shared lock on the lock file if that can be read, else under none, and
        :func:`require_writable` refuses to rebuild ``target``. Default: when ``wait`` is given (an ``--if-stale``
        run, which reads before it may rebuild).

    Raises
    ------
    SafetyError
        Another process holds the lock and ``wait`` is None; the message names it. Or the lock file cannot be
        written and the block may not only read.
    """
    path = lock_path(target)
    try:
        fd, created = _lock_exclusively(path, target, wait)
    except _LockNotWritable as error:
        if not (wait is not None if shared_if_read_only is None else shared_if_read_only):
            raise SafetyError(f"{error.args[0]}; choose another folder.") from None
        strerror = error.args[1]
    else:
        strerror = None
    if strerror is not None:  # outside the except clause: the block's own errors must not chain to this one
        with _read_only_hold(target, strerror, wait):
            yield
        return
    # A file found there is ours only if it holds our record (a killed process left it); else it is left as it is.
    ours = created or _holds_lock_record(fd, path)
    if ours:
        os.ftruncate(fd, 0)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.pwrite(fd, f"process {os.getpid()} ({what}, started {started})\n".encode(), 0)
    try:
        yield
    finally:
        if ours:
            path.unlink(missing_ok=True)
        os.close(fd)


def _lock_exclusively(path: Path, target: Path, wait: Callable[[str], None] | None) -> tuple[int, bool]:
    """An exclusively locked descriptor of the lock file now at ``path``, and whether this call created the file."""
    while True:
        fd, created = _open_lock_file(path)
        _acquire(fd, fcntl.LOCK_EX, target, wait)
        # The file may have been removed by the process that held it just before: lock the file that is there.
        if _is_file_at(path, fd):
            return fd, created
        os.close(fd)


@contextmanager
def _read_only_hold(target: Path, strerror: str, wait: Callable[[str], None] | None) -> Iterator[None]:
    """Mark ``target`` read-only for the block, under a shared lock on its lock file if that can be read, else none.

    The shared lock still waits for (or, ``wait`` None, refuses during) a build by whoever can write there.
    """
    fd = _lock_shared(lock_path(target), target, wait)
    _READ_ONLY_HOLDS[target] = strerror
    try:
        yield
    finally:
        _READ_ONLY_HOLDS.pop(target, None)
        if fd is not None:
            os.close(fd)


def _lock_shared(path: Path, target: Path, wait: Callable[[str], None] | None) -> int | None:
    """A descriptor of the lock file at ``path`` opened read-only and share-locked, or None if it cannot be opened."""
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise _in_the_way(path, error.strerror) from None
            return None  # absent, or unreadable: a check that only reads goes on without a lock
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise _in_the_way(path)
        _acquire(fd, fcntl.LOCK_SH, target, wait)
        if _is_file_at(path, fd):
            return fd
        os.close(fd)


def _acquire(fd: int, operation: int, target: Path, wait: Callable[[str], None] | None) -> None:
    """``flock(fd, operation)``; when another process holds the lock, refuse (``wait`` None) or say so and wait.

    ``fd`` is closed when this raises.
    """
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        try:
            holder = os.pread(fd, 500, 0).decode(errors="replace").strip() or "another process"
        except OSError:
            holder = "another process"
    if wait is None:
        os.close(fd)
        raise SafetyError(f"{target} is in use by {holder}; wait for it to finish (or stop it), then run this again.")
    wait(f"{target} is in use by {holder}; waiting for it to finish (Ctrl-C to stop waiting).")
    try:
        fcntl.flock(fd, operation)
    except BaseException:
        os.close(fd)
        raise


def _is_file_at(path: Path, fd: int) -> bool:
    """Whether ``fd`` is the file now at ``path`` (not one its holder removed meanwhile)."""
    try:
        now, mine = os.stat(path, follow_symlinks=False), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _in_the_way(path: Path, strerror: str | None = None) -> SafetyError:
    cause = f"{strerror}: it is not a plain file" if strerror else "it is not a plain file"
    return SafetyError(
        f"{path} is in the way of data_fetch's lock file ({cause}); it is left as it is. Move it away, or choose "
        "another folder."
    )


def _open_lock_file(path: Path) -> tuple[int, bool]:
    """A descriptor of the lock file ``path`` (never through a symbolic link), and whether this call created it.

    Raises
    ------
    _LockNotWritable
        The file cannot be created or opened for writing (permissions, a read-only file system).
    SafetyError
        Something that is not a plain file is in its place.
    """
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        try:
            return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644), True
        except FileExistsError:
            pass
        except OSError as error:
            message = f"cannot create the lock file {path} ({error.strerror})"
            if error.errno in _NOT_WRITABLE:
                raise _LockNotWritable(message, error.strerror) from None
            raise SafetyError(f"{message}; choose another folder.") from None
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            continue  # its holder removed it meanwhile: create it
        except OSError as error:
            if error.errno in _NOT_WRITABLE:
                message = f"cannot open the lock file {path} for writing ({error.strerror})"
                raise _LockNotWritable(message, error.strerror) from None
            raise _in_the_way(path, error.strerror) from None
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd, False
        os.close(fd)
        raise _in_the_way(path)


def _holds_lock_record(fd: int, path: Path) -> bool:
    """Whether the locked file ``fd``, which data_fetch did not just create, is one it may use and then remove.

    Empty: usable but not removed (whose it is cannot be told). data_fetch's record: True. Anything else: refused.
    """
    content = os.pread(fd, 1000, 0)
    if not content:
        return False
    if _LOCK_RECORD_RE.fullmatch(content.decode(errors="replace")):
        return True
    os.close(fd)
    raise SafetyError(
        f"{path} exists and was not written by data_fetch, which keeps its lock there; it is left as it is. Move it "
        "away (or rename it), then run the command again."
    )


# ---------------------------------------------------------------------------------------------------------
# Staging, swap, recovery
# ---------------------------------------------------------------------------------------------------------
def make_staging(target: Path, kind: str) -> Path:
    """A new staging folder ``.<name>.<kind>-<pid>-<random>`` beside ``target`` (kind: building or ingesting).

    Refused (SafetyError) while this process holds ``target`` only to read it (:func:`exclusive_lock`).
    """
    if target in _READ_ONLY_HOLDS:
        raise SafetyError(
            f"cannot write beside {target}: its lock file {lock_path(target)} cannot be written "
            f"({_READ_ONLY_HOLDS[target]}); nothing was written. Choose another folder."
        )
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{kind}-{os.getpid()}-", dir=target.parent))


_libc = ctypes.CDLL(None, use_errno=True)
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def rename_noreplace(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, failing with FileExistsError if ``target`` exists (even an empty folder)."""
    renameat2 = getattr(_libc, "renameat2", None)
    if renameat2 is not None:
        result = renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE)
        if result == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), str(target))
        if code not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(code, os.strerror(code), str(target))
    if os.path.lexists(target):  # no renameat2 here: check, then rename (os.rename refuses a non-empty folder)
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    os.rename(source, target)


def swap_into_place(
    new: Path, target: Path, staging: Path, *, replace: bool, foreign: Callable[[Path], list[str]] | None = None
) -> None:
    """Put the complete repository ``new`` (inside ``staging``) at ``target``.

    The caller holds the lock. With ``replace``, the data_fetch repository at ``target`` (checked again here) is
    moved into ``staging/previous`` first and removed only after the new one is in place; without it, ``target``
    must still be absent. ``foreign(target)`` names the files data_fetch did not make there (see
    :func:`refuse_foreign`), checked once more just before the swap. Signals wait until both renames are done.

    Raises
    ------
    SafetyError
        A folder appeared at ``target`` while building (or the repository there is no longer data_fetch's); it is
        left alone and the new repository is discarded.
    """
    appeared = SafetyError(
        f"{target} appeared while the new repository was being written; it was left as it is and the new "
        "repository was discarded. Run the command again, or choose another --repo."
    )
    atomic_write(staging / JOURNAL, json.dumps({"target": str(target), "pid": os.getpid()}).encode())
    previous = staging / "previous"
    with signals_deferred():
        if replace and os.path.lexists(target):
            if not (target.is_dir() and not target.is_symlink() and is_data_fetch_repository(target)):
                raise appeared
            if foreign is not None:
                refuse_foreign(target, foreign(target))
            os.rename(target, previous)
        fault_point("between-renames")
        try:
            rename_noreplace(new, target)
            COMPLETED.append(target)
        except FileExistsError:
            if previous.exists():  # something took the target in the instant between the renames: keep both
                beside = target.parent / f"{target.name}.previous-{os.getpid()}"
                os.rename(previous, beside)
                raise SafetyError(f"{appeared} The previous repository is now {beside}.") from None
            raise appeared from None


def recover(target: Path, log: Log = print) -> None:
    """Finish or undo a swap that a killed process left half done, and remove staging folders of dead processes.

    Run with the lock held: no other process can be writing these folders. Under a read-only hold (a check of a
    folder shared read-only, see :func:`exclusive_lock`) it leaves everything as it is.
    """
    parent = target.parent
    if not parent.is_dir() or target in _READ_ONLY_HOLDS:
        return
    for staging in sorted(parent.iterdir()):
        match = _STAGING_RE.fullmatch(staging.name)
        if not match or match["name"] != target.name or not staging.is_dir() or int(match["pid"]) == os.getpid():
            continue
        pid = int(match["pid"])
        previous, new = staging / "previous", staging / "repo"
        if previous.is_dir() and not os.path.lexists(target):
            if (staging / JOURNAL).is_file() and new.is_dir() and not check_repository(new, open_registry=False):
                os.rename(new, target)
                log(
                    f"{target}: process {pid} was stopped while replacing it; the new repository was complete, "
                    "so the replacement was finished (the previous one was removed)."
                )
            else:
                os.rename(previous, target)
                log(
                    f"{target}: process {pid} was stopped while replacing it; the new repository was not complete, "
                    "so the previous one was put back."
                )
        shutil.rmtree(staging, ignore_errors=True)
        if os.path.lexists(staging):
            log(f"Could not remove all of {staging}, left behind by process {pid}; remove it yourself.")
        else:
            log(f"Removed {staging.name}, left behind by process {pid}, {_process_state(pid)}.")


def _process_state(pid: int) -> str:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "which is gone"
    except PermissionError:
        pass
    return "which no longer writes it"


def remove_orphan_files(folder: Path, patterns: tuple[str, ...], log: Log = print) -> None:
    """Remove files matching ``patterns`` in ``folder`` (not recursive): temporary files of a killed process."""
    if not folder.is_dir():
        return
    removed = sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        log(f"Removed {len(removed)} temporary file(s) in {folder} left behind by a stopped download.")
