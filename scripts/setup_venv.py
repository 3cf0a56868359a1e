"""Create ``.venv`` and install ``requirements.lock`` into it, safely (``make venv`` runs this).

Run by the machine's own Python (standard library only):
``python3 scripts/setup_venv.py --venv .venv [--installer uv|pip] [--wheelhouse DIR]``;
``--check`` only says (exit status 0 or 1) whether the venv is complete and belongs to this folder.

What the plain recipe it replaces could not do:

* **A copied or moved project folder.** A venv's scripts and the editable install of this project hold the
  absolute path of the folder it was made in, so a copied ``.venv`` (the instructor's offline route copies the
  whole folder) either fails (``.venv/bin/jupyter: cannot execute``) or silently runs the other folder's code.
  ``pyvenv.cfg`` records where the venv was made (its ``command`` line, Python 3.11+); a venv made elsewhere,
  or whose base Python is gone, is recreated.
* **An interrupted or concurrent first run.** ``python -m venv`` stopped early leaves a ``.venv`` without pip;
  a venv with no completed install (no stamp) is recreated. A lock file (``.venv.lock``) makes a second run
  wait for the first instead of installing into a half-made venv.
* The stamp ``.venv/.installed``, written last, records the venv and the project folder installed into it: a
  ``.venv`` linked to another checkout's venv would run that checkout's code.
* A venv to recreate is renamed away (``.venv.old-<pid>``) before it is deleted, so a stop midway leaves no
  half-deleted venv under its own name; the next run deletes the leftover.

A ``.venv`` that is not a virtual environment (no ``pyvenv.cfg``) was not made by this project and is never
deleted: the run stops and says how to move it away.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

STAMP = ".installed"
MINIMUM_PYTHON = (3, 11)


class VenvError(Exception):
    """A problem the user must fix; its message names it and the fix."""


def _config(venv: Path) -> dict[str, str]:
    """The ``key = value`` lines of ``pyvenv.cfg``."""
    lines = (venv / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace").splitlines()
    return {key.strip(): value.strip() for key, sep, value in (line.partition("=") for line in lines) if sep}


def stale_reason(venv: Path) -> str | None:
    """Why ``venv`` must be (re)created, or None when it is complete and was made for this folder.

    Raises
    ------
    VenvError
        If ``venv`` exists but is not a virtual environment (this project did not make it).
    """
    if not venv.exists() and not venv.is_symlink():
        return "it does not exist yet"
    if not (venv / "pyvenv.cfg").is_file():
        raise VenvError(
            f"{venv} is not a virtual environment (no pyvenv.cfg), so this project did not make it and will not "
            f"replace it. Move it away (mv {venv} {venv}.old) and run make again."
        )
    config = _config(venv)
    made_for = re.search(r"-m venv (?:--\S+ )*(.+)$", config.get("command", ""))
    if made_for and Path(made_for.group(1)).resolve() != venv.resolve():
        return f"it was made in {made_for.group(1)} (a copied or moved folder), and its scripts point there"
    base = config.get("executable") or config.get("home", "")
    if not base or not Path(base).exists():
        return f"the Python it was made from ({base or 'unknown'}) is gone"
    if not os.access(venv / "bin" / "python", os.X_OK):
        return f"{venv}/bin/python is missing"
    stamp = venv / STAMP
    if not stamp.is_file():
        return "its installation never completed (interrupted, or it failed)"
    recorded = stamp.read_text(encoding="utf-8").split("\n")
    if recorded[0].strip() not in ("", str(venv.resolve())):
        return f"it was installed for {recorded[0].strip()}"
    project = recorded[1].strip() if len(recorded) > 1 else ""
    if project and project != str(Path.cwd().resolve()):
        return f"its editable install is the project in {project}, not this one"
    return None


def _run(*command: str | Path) -> None:
    subprocess.run([str(c) for c in command], check=True)


def _install(venv: Path, installer: str, wheelhouse: Path | None, lock: Path) -> None:
    """Install the lock and this project (editable) into ``venv``, with uv when it can be had, else pip."""
    python = venv / "bin" / "python"
    pip: list[str | Path] = [python, "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    pip_source = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
    uv_source = ["--offline", "--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
    uv_pin = next((line for line in lock.read_text().splitlines() if line.startswith("uv==")), None)
    source = f" from the wheels in {wheelhouse}/ (offline)" if wheelhouse else ""
    have_uv = False
    if installer == "uv" and uv_pin:
        have_uv = subprocess.run([*map(str, pip), *pip_source, uv_pin]).returncode == 0
    if have_uv:
        print(f"Installing {lock} into {venv}{source} with uv", flush=True)
        uv: list[str | Path] = [venv / "bin" / "uv", "pip", "install", "--python", python, "--quiet", *uv_source]
        _run(*uv, "-r", lock)
        _run(*uv, "--no-deps", "--no-build-isolation", "-e", ".")
        _run(python, "scripts/compile_bytecode.py")
    else:
        why = "not requested" if installer == "pip" else "unavailable"
        print(f"Installing {lock} into {venv}{source} with pip (uv {why}; this takes a few minutes)", flush=True)
        _run(*pip, *pip_source, "-r", lock)
        _run(*pip, *pip_source, "--no-deps", "--no-build-isolation", "-e", ".")


def _write_stamp(venv: Path) -> None:
    """The stamp, written last and atomically: the venv the install completed for, and the project installed."""
    temporary = venv / f"{STAMP}.tmp"
    temporary.write_text(f"{venv.resolve()}\n{Path.cwd().resolve()}\n", encoding="utf-8")
    temporary.replace(venv / STAMP)


def _remove(venv: Path) -> None:
    """Delete a venv this project made: renamed first (one step), so a stop midway leaves no half-deleted venv
    under its own name, only a ``.venv.old-*`` that the next run deletes."""
    doomed = venv if ".old-" in venv.name else venv.with_name(f"{venv.name}.old-{os.getpid()}")
    try:
        if doomed != venv:
            venv.rename(doomed)
        shutil.rmtree(doomed)
    except OSError as error:
        raise VenvError(
            f"cannot delete {doomed} ({error.strerror}: {error.filename}), which must be made anew; delete it "
            f"yourself (sudo rm -rf {doomed} if an administrator made part of it) and run make again."
        ) from error


def _leftovers(venv: Path) -> list[Path]:
    """Venvs :func:`_remove` renamed and a stopped run did not finish deleting (their pyvenv.cfg may be gone
    already: only this script names a folder so)."""
    pattern = re.compile(rf"{re.escape(venv.name)}\.old-\d+")
    return [p for p in venv.parent.glob(f"{venv.name}.old-*") if pattern.fullmatch(p.name) and not p.is_symlink()]


def _newer_than(path: Path, *others: Path) -> bool:
    return path.stat().st_mtime >= max(other.stat().st_mtime for other in others)


def setup(venv: Path, installer: str, wheelhouse: Path | None, lock: Path = Path("requirements.lock")) -> None:
    """Make ``venv`` complete and up to date with ``lock``, under a lock that a second run waits for."""
    with open(f"{venv}.lock", "a+") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Waiting for another run that is setting up {venv}...", flush=True)
            fcntl.flock(held, fcntl.LOCK_EX)
        reason = stale_reason(venv)
        if reason and venv.is_symlink():
            raise VenvError(
                f"{venv} must be recreated ({reason}), but it is a symbolic link: remove the link "
                f"(rm {venv}) or recreate the venv it points to, then run make again."
            )
        if reason and venv.exists():
            print(f"Recreating {venv}: {reason}.", flush=True)
            _remove(venv)
        for leftover in _leftovers(venv):
            _remove(leftover)
        if not venv.exists():
            _run(sys.executable, "-m", "venv", venv)
        elif not reason and _newer_than(venv / STAMP, lock, Path("pyproject.toml")):
            return  # another run finished it while this one waited
        _install(venv, installer, wheelhouse, lock)
        _write_stamp(venv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(".venv"))
    parser.add_argument("--installer", choices=("uv", "pip"), default="uv")
    parser.add_argument("--wheelhouse", type=Path, help="install from these wheels only (the offline route)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the venv must be (re)made, else 0")
    args = parser.parse_args(argv)
    if sys.version_info < MINIMUM_PYTHON:
        print("Python 3.11 or newer is needed; run make PYTHON=python3.11 ...", file=sys.stderr)
        return 2
    try:
        if args.check:
            return 1 if stale_reason(args.venv) or _leftovers(args.venv) else 0
        setup(args.venv, args.installer, args.wheelhouse)
    except VenvError as error:
        print(f"make venv: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"make venv: stopped; run make again to finish setting up {args.venv}.", file=sys.stderr)
        return 130
    except subprocess.CalledProcessError as error:
        print(f"make venv: {error.cmd[0]} failed (exit {error.returncode}); see its message above.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
