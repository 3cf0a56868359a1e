"""Execution time of each lesson in a fresh kernel (goal: under 30 s each).

Run: ``python benchmarks/notebook_times.py`` (needs DATA/, made by ``make data``).
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def main() -> None:
    print(f"{'notebook':<40} {'seconds':>8}")
    total = 0.0
    for path in sorted(NOTEBOOKS.glob("[0-9]*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
        ).execute()
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"{path.name:<40} {elapsed:>8.1f}")
    print(f"{'total':<40} {total:>8.1f}")


if __name__ == "__main__":
    main()
