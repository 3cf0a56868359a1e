"""``make test-latest``: the lessons and the unit tests against the newest releases that pyproject.toml allows.

Nothing of the pinned set-up is touched (``.venv``, ``DATA/``, ``requirements.lock``, ``notebooks/``):

1. resolve: ``uv pip compile --upgrade`` into ``.latest/requirements-latest.lock`` (from uv's cache when offline);
2. install: that lock into ``.venv-latest``, then this project (editable);
3. data: the simulated repository, built by the new versions, in ``.latest/DATA``;
4. nbval: strict nbval on copies of the lessons in ``.latest/notebooks`` (their ``../DATA`` is ``.latest/DATA``),
   with the readable report of changed outputs (``scripts/nbval_report.py``) saved in ``reports/test-latest``;
5. unit: the unit tests (not the browser test) with ``.venv-latest``.

Then it prints every package whose version differs from ``requirements.lock``, one line per package whose newest
release is outside its range in pyproject.toml (``lsst-daf-butler`` releases weekly), and the result of each step.
Exit status 0 when every step passed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import lockfile

REPO_ROOT = lockfile.REPO_ROOT
WORK = REPO_ROOT / ".latest"
VENV = REPO_ROOT / ".venv-latest"
LATEST_LOCK = WORK / "requirements-latest.lock"
REPORT_DIR = Path("reports") / "test-latest"


class Steps:
    """Runs named steps, times them and keeps their results for the closing table."""

    def __init__(self):
        self.results: list[tuple[str, str, str]] = []

    def run(self, name: str, command: list[str], note: str = "", **kwargs) -> bool:
        print(f"\n== {name}: {' '.join(str(c) for c in command)}", flush=True)
        start = time.monotonic()
        returncode = subprocess.run(command, cwd=REPO_ROOT, **kwargs).returncode
        self.record(name, returncode == 0, time.monotonic() - start, note if returncode else "")
        return returncode == 0

    def record(self, name: str, passed: bool, seconds: float, note: str = "") -> None:
        self.results.append((name, "passed" if passed else "FAILED", f"{seconds:.0f} s", note))

    @property
    def passed(self) -> bool:
        return all(result == "passed" for _, result, _, _ in self.results)

    def table(self) -> str:
        return lockfile.format_table(self.results, ("step", "result", "time", "see"))


def resolve(python: Path) -> tuple[bool, str]:
    """Compile the newest allowed versions for ``python``; fall back to uv's cache when the index is unreachable."""
    target = ["--python", str(python)]
    try:
        lockfile.compile_lock(LATEST_LOCK, upgrade=True, preferences=None, target=target)
        return False, ""
    except lockfile.LockError as online_error:
        try:
            lockfile.compile_lock(LATEST_LOCK, upgrade=True, preferences=None, target=target, offline=True)
        except lockfile.LockError as offline_error:
            raise lockfile.LockError(f"{online_error}; and from uv's cache: {offline_error}") from None
        return True, f"Offline ({online_error}): resolved from uv's cache, the newest versions uv has seen."


def prepare_lessons() -> Path:
    """Fresh copies of the lessons in .latest/notebooks, beside .latest/DATA and the project's requirements.lock."""
    notebooks = WORK / "notebooks"
    if notebooks.exists():
        shutil.rmtree(notebooks)
    shutil.copytree(REPO_ROOT / "notebooks", notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy2(lockfile.LOCK, WORK / "requirements.lock")  # lesson 0 compares the versions with the project's pins
    return notebooks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="python3", help="interpreter for .venv-latest (default: python3)")
    args = parser.parse_args(argv)
    steps = Steps()
    WORK.mkdir(exist_ok=True)
    python = VENV / "bin" / "python"
    if not python.exists() and not steps.run("venv", [args.python, "-m", "venv", str(VENV)]):
        return finish(steps, None)

    start = time.monotonic()
    try:
        offline, note = resolve(python)
    except lockfile.LockError as error:
        print(f"Cannot resolve the newest versions: {error}", file=sys.stderr)
        steps.record("resolve", False, time.monotonic() - start, "no index and no cache")
        return finish(steps, None)
    steps.record("resolve", True, time.monotonic() - start)
    if note:
        print(note)

    uv = [lockfile.find_uv(), "pip"]
    where = ["--python", str(python), *(["--offline"] if offline else [])]
    installed = steps.run("install", [*uv, "sync", "--quiet", *where, str(LATEST_LOCK)]) and steps.run(
        "install project", [*uv, "install", "--quiet", *where, "--no-deps", "--no-build-isolation", "-e", "."]
    )
    if not installed:
        return finish(steps, offline)

    data = WORK / "DATA"
    if not steps.run("data", [str(python), "-m", "data_fetch", "simulate", "--repo", str(data), "--force"]):
        return finish(steps, offline)

    notebooks = prepare_lessons()
    pytest = str(VENV / "bin" / "pytest")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "scripts")}
    steps.run(
        "nbval",
        [
            pytest,
            "-p",
            "nbval_report",
            "-p",
            "no:cacheprovider",
            "--nbval",
            *sorted(str(p.relative_to(REPO_ROOT)) for p in notebooks.glob("[0-9]*.ipynb")),
            "--nbval-sanitize-with",
            "tests/nbval_sanitize.cfg",
            "--nbval-report-dir",
            str(REPORT_DIR),
        ],
        note=f"{REPORT_DIR}/report.txt",
        env=env,
    )
    steps.run(
        "unit",
        [pytest, "tests", "--ignore=tests/browser", "--mpl", "-p", "no:cacheprovider", "-q"],
        note="the pytest summary above",
    )
    return finish(steps, offline)


def finish(steps: Steps, offline: bool | None) -> int:
    """Print the version table, the pin windows and the results; the exit status."""
    print("\n" + "=" * 100)
    if LATEST_LOCK.exists() and offline is not None:
        changes = lockfile.version_changes(lockfile.read_pins(lockfile.LOCK), lockfile.read_pins(LATEST_LOCK))
        print(f"Packages whose newest allowed version differs from requirements.lock: {len(changes)}")
        if changes:
            print(lockfile.format_table(changes, ("package", "requirements.lock", "newest")))
    python = VENV / "bin" / "python"
    for line in lockfile.check_windows(str(python) if python.exists() else None):
        print(line)
    print("\n" + steps.table())
    verdict = "PASSED" if steps.passed else "FAILED"
    print(f"\nmake test-latest: {verdict} with the newest releases allowed by pyproject.toml.")
    return 0 if steps.passed else 1


if __name__ == "__main__":
    sys.exit(main())
