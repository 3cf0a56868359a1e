"""Run every benchmark and print its table: ``python -m benchmarks`` (or ``make benchmark``)."""

from __future__ import annotations

import runpy
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["build_repository.py", "selection_speed.py", "widget_latency.py", "notebook_times.py"]

for name in ORDER:
    if (HERE / name).exists():
        print(f"\n== {name} ==")
        runpy.run_path(str(HERE / name), run_name="__main__")
