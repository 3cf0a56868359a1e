"""The lock file: compile it with uv, read its pins, compare two locks, and look for releases outside the ranges.

``requirements.lock`` pins every package that ``make`` installs. It is compiled by ``uv pip compile`` from
``pyproject.toml`` (with the ``test`` extra) for Python 3.11 on Linux x86_64, preferring the pins already in it, so
``make lock`` changes only what the ranges force to change; ``make upgrade`` compiles with ``--upgrade`` instead.
Its leading comment lines are kept as they are.

Run ``python scripts/lockfile.py [--upgrade] [--output requirements.lock]`` (``make lock``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCK = REPO_ROOT / "requirements.lock"
PYPROJECT = REPO_ROOT / "pyproject.toml"
#: The platform the committed lock is compiled for (its header says so).
LOCK_TARGET = ["--python-version", "3.11", "--python-platform", "x86_64-unknown-linux-gnu"]
COMPILE_OPTIONS = ["--extra", "test", "--no-header", "--no-annotate", "--quiet"]


class LockError(RuntimeError):
    """uv could not compile or reach the package index; the message says which and how to fix it."""


def find_uv() -> str:
    """The uv executable of the running venv (``requirements.lock`` pins it), else one on PATH."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise LockError("uv not found: run `make venv` (requirements.lock pins uv) or `pip install uv`")
    return found


def run_uv(args: list[str], *, offline: bool = False) -> subprocess.CompletedProcess:
    """Run ``uv ARGS``; raise :class:`LockError` with uv's own last error line if it fails."""
    command = [find_uv(), *args, *(["--offline"] if offline else [])]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        raise LockError(f"`uv {' '.join(args[:2])}` failed: {reason}")
    return result


def read_pins(path: Path) -> dict[str, str]:
    """``{normalised name: version}`` of every ``name==version`` line of a lock file."""
    return parse_pins(path.read_text())


def parse_pins(text: str) -> dict[str, str]:
    """``{normalised name: version}`` of every ``name==version`` line of a lock file's text."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name.split("[")[0])] = version.split(";")[0].strip()
    return pins


def header_lines(path: Path) -> list[str]:
    """The leading comment lines of a lock file (its header), kept when it is recompiled."""
    header = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    return header


def compile_lock(
    output: Path,
    *,
    upgrade: bool = False,
    preferences: Path | None = LOCK,
    target: list[str] | None = None,
    offline: bool = False,
) -> Path:
    """Compile ``pyproject.toml`` (with the test extra) into ``output``, written whole or not at all.

    Parameters
    ----------
    output : Path
        The lock file to write; replaced only when the compilation succeeded.
    upgrade : bool
        Resolve the newest versions the ranges allow, ignoring the preferences.
    preferences : Path or None
        A lock whose pins uv keeps where the ranges still allow them (``make lock``); its header is kept.
    target : list of str or None
        uv options naming the interpreter or platform; default the committed lock's (:data:`LOCK_TARGET`).
    offline : bool
        Resolve from uv's cache only.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".lock-") as tmp:
        work = Path(tmp) / "requirements.lock"
        if preferences is not None and preferences.exists():
            shutil.copyfile(preferences, work)  # uv prefers the pins of an existing output file
        options = ["--upgrade"] if upgrade else []
        run_uv(
            ["pip", "compile", str(PYPROJECT), *COMPILE_OPTIONS, *(target or LOCK_TARGET), *options, "-o", str(work)],
            offline=offline,
        )
        header = header_lines(preferences) if preferences is not None and preferences.exists() else []
        body = work.read_text()
        work.write_text("".join(line + "\n" for line in header) + body)
        os.replace(work, output)
    return output


def version_changes(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(package, old version, new version)`` for every package whose pin differs; ``-`` where absent."""
    names = sorted(set(old) | set(new))
    return [(name, old.get(name, "-"), new.get(name, "-")) for name in names if old.get(name) != new.get(name)]


def format_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """A plain-text table with aligned columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, tuple("-" * w for w in widths), *rows]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def project_requirements() -> list[Requirement]:
    """The dependencies of ``pyproject.toml``, the test extra included."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def has_upper_bound(specifier: SpecifierSet) -> bool:
    return any(spec.operator in ("<", "<=", "==", "~=", "===") for spec in specifier)


def newest_releases(names: list[str], python: str | None = None) -> dict[str, str]:
    """The newest release of each package on the index, whatever our ranges say (one ``uv pip compile --no-deps``)."""
    with tempfile.TemporaryDirectory() as tmp:
        wanted = Path(tmp) / "unbounded.in"
        wanted.write_text("".join(name + "\n" for name in names))
        target = ["--python", python] if python else LOCK_TARGET
        result = run_uv(["pip", "compile", str(wanted), "--no-deps", "--no-header", "--no-annotate", *target])
    return parse_pins(result.stdout)


def releases_outside_windows(requirements: list[Requirement], newest: dict[str, str]) -> list[str]:
    """One line for each package whose newest release is above the upper bound of its range in pyproject.toml."""
    lines = []
    for req in requirements:
        name = canonicalize_name(req.name)
        version = newest.get(name)
        if version is None or not has_upper_bound(req.specifier) or req.specifier.contains(Version(version)):
            continue
        lines.append(
            f"{req.name} {version} is released but outside its window {req.specifier} in pyproject.toml: "
            "widen the range there (and in environment.yml), then `make test-latest` and `make upgrade`."
        )
    return lines


def check_windows(python: str | None = None) -> list[str]:
    """Lines for :func:`releases_outside_windows`, or the one line saying why the index could not be asked."""
    bounded = [r for r in project_requirements() if has_upper_bound(r.specifier)]
    try:
        newest = newest_releases([r.name for r in bounded], python)
    except LockError as error:
        return [f"Pin windows not checked: the package index is unreachable (offline?): {error}"]
    outside = releases_outside_windows(bounded, newest)
    if not outside:
        return [f"Pin windows: the newest release of all {len(bounded)} upper-bounded packages is in its range."]
    return outside


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="newest versions the ranges allow, not the current pins")
    parser.add_argument("--output", type=Path, default=LOCK, help="lock to write (default: requirements.lock)")
    args = parser.parse_args(argv)
    old = read_pins(LOCK) if LOCK.exists() else {}
    try:
        compile_lock(args.output, upgrade=args.upgrade)
    except LockError as error:
        print(f"{error}; {args.output} is unchanged.", file=sys.stderr)
        return 1
    changes = version_changes(old, read_pins(args.output))
    print(f"wrote {args.output.name}: {len(changes)} pins changed")
    if changes:
        print(format_table(changes, ("package", "was", "now")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
