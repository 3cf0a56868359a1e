"""Execution time of each lesson in a fresh kernel (goal: under 30 s each; exits 1 otherwise).

Run: ``python -m benchmarks.notebook_times`` (needs DATA/, made by ``make data``).
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GOAL_SECONDS = 30.0


def main(argv: list[str] | None = None) -> int:
    """Print the table; 0 if every lesson runs within the goal."""
    print(f"{'notebook':<40} {'seconds':>8}")
    total = 0.0
    slow = []
    for path in sorted(NOTEBOOKS.glob("[0-9]*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
        ).execute()
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"{path.name:<40} {elapsed:>8.1f}")
        if elapsed > GOAL_SECONDS:
            slow.append(path.name)
    print(f"{'total':<40} {total:>8.1f}")
    print(f"goal: each under {GOAL_SECONDS:.0f} s: {'met' if not slow else 'MISSED by ' + ', '.join(slow)}")
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
