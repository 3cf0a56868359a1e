"""``make upgrade``: adopt the newest releases that pyproject.toml allows, on purpose, for review.

1. compile the newest allowed versions (``uv pip compile --upgrade``, the committed lock's platform and header);
2. put them in ``requirements.lock`` and re-execute every lesson with them (``make refresh-outputs``, which
   reinstalls ``.venv`` from the new lock);
3. check that the lock is inside pyproject.toml's ranges and environment.yml agrees (``tests/test_project.py``);
4. print the version changes and the readable diff of the lessons' outputs (``scripts/nbval_report.py``), saved in
   ``reports/upgrade``.

It never commits. If any step fails, or it is interrupted, ``requirements.lock`` and the notebooks are put back as
they were and ``.venv`` is reinstalled from the old lock. It refuses to start when ``requirements.lock`` or the
notebooks have uncommitted changes, so the diff to review holds the upgrade only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import lockfile
import nbformat
import nbval_report

REPO_ROOT = lockfile.REPO_ROOT
LOCK = lockfile.LOCK
NOTEBOOKS = REPO_ROOT / "notebooks"
WORK = REPO_ROOT / ".latest" / "upgrade"
REPORT_DIR = Path("reports") / "upgrade"


class StepFailed(RuntimeError):
    """A step of the upgrade failed; the message names it."""


def run(step: str, command: list[str]) -> None:
    print(f"\n== {step}: {' '.join(command)}", flush=True)
    if subprocess.run(command, cwd=REPO_ROOT).returncode != 0:
        raise StepFailed(step)


def uncommitted(paths: list[Path]) -> list[str]:
    """The lines of ``git status --porcelain`` for these paths (empty outside a git checkout)."""
    result = subprocess.run(
        ["git", "status", "--porcelain", "--", *(str(p.relative_to(REPO_ROOT)) for p in paths)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    return result.stdout.splitlines() if result.returncode == 0 else []


def restore(old_lock: Path, notebooks_before: Path) -> None:
    """Put the old lock and notebooks back, and reinstall .venv from the old lock."""
    shutil.copyfile(old_lock, LOCK)
    for saved in notebooks_before.glob("*.ipynb"):
        shutil.copyfile(saved, NOTEBOOKS / saved.name)
    print("\nRestored requirements.lock and the notebooks; reinstalling .venv from the old lock.", flush=True)
    subprocess.run(["make", "venv"], cwd=REPO_ROOT)


def review(notebooks_before: Path, old_pins: dict[str, str]) -> None:
    """Print what changed: versions, outputs (readable diff, saved), and the files git sees as modified."""
    changes = lockfile.version_changes(old_pins, lockfile.read_pins(LOCK))
    print(f"\nrequirements.lock: {len(changes)} pins changed")
    print(lockfile.format_table(changes, ("package", "was", "now")))
    pairs = [
        (
            f"notebooks/{before.name}",
            nbformat.read(before, as_version=4),
            f"notebooks/{before.name} (upgraded)",
            nbformat.read(NOTEBOOKS / before.name, as_version=4),
        )
        for before in sorted(notebooks_before.glob("*.ipynb"))
    ]
    changed = nbval_report.report(
        pairs,
        REPORT_DIR,
        nbval_report.load_sanitize_patterns(nbval_report.DEFAULT_SANITIZE),
        view_hint="nbdime's HTML view of every changed notebook, against the last commit: .venv/bin/nbdiff-web",
    )
    if not changed:
        print("What git shows below beyond the lock is what nbval ignores: how printed text was split into")
        print("outputs, widget ids, execution metadata.")
    subprocess.run(["git", "diff", "--stat", "--", "requirements.lock", "notebooks"], cwd=REPO_ROOT)


def main() -> int:
    dirty = uncommitted([LOCK, NOTEBOOKS])
    if dirty:
        print(
            "make upgrade: commit or stash these changes first, so the diff to review holds the upgrade only:\n  "
            + "\n  ".join(dirty),
            file=sys.stderr,
        )
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    new_lock = WORK / "requirements.lock.new"
    try:
        lockfile.compile_lock(new_lock, upgrade=True)
    except lockfile.LockError as error:
        print(f"make upgrade: {error}; nothing was changed.", file=sys.stderr)
        return 1
    old_pins = lockfile.read_pins(LOCK)
    if lockfile.read_pins(new_lock) == old_pins:
        print("requirements.lock already pins the newest versions pyproject.toml allows; nothing to do.")
        return 0

    old_lock, notebooks_before = WORK / "requirements.lock.old", WORK / "notebooks-before"
    shutil.copyfile(LOCK, old_lock)
    if notebooks_before.exists():
        shutil.rmtree(notebooks_before)
    notebooks_before.mkdir()
    for notebook in NOTEBOOKS.glob("*.ipynb"):
        shutil.copyfile(notebook, notebooks_before / notebook.name)

    try:
        shutil.copyfile(new_lock, LOCK)
        run("re-execute the lessons with the new versions", ["make", "refresh-outputs"])
        run(
            "lock inside pyproject.toml's ranges, environment.yml in agreement",
            [str(REPO_ROOT / ".venv" / "bin" / "pytest"), "tests/test_project.py", "-q", "-p", "no:cacheprovider"],
        )
    except (StepFailed, KeyboardInterrupt) as error:
        restore(old_lock, notebooks_before)
        print(f"\nmake upgrade stopped ({error or 'interrupted'}): requirements.lock and the notebooks are unchanged.")
        return 1

    review(notebooks_before, old_pins)
    print(
        "\nNothing is committed. Review the diff above, run `make test`, then commit requirements.lock and the\n"
        "notebooks (for example `git commit -am 'Upgrade the pinned versions'`). To drop the upgrade:\n"
        "`git checkout requirements.lock notebooks && make venv`."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
