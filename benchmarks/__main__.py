"""Run every benchmark and print its table: ``python -m benchmarks`` (or ``make benchmark``)."""

from __future__ import annotations

import runpy
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["build_repository.py", "selection_speed.py", "widget_latency.py", "notebook_times.py"]

for name in ORDER:
    if (HERE / name).exists():
        print(f"\n== {name} ==")
        try:
            runpy.run_path(str(HERE / name), run_name="__main__")
        except SystemExit as stop:  # a benchmark that misses its goal exits non-zero; still run the others
            if stop.code not in (0, None):
                print(f"{name}: goal not met (exit {stop.code})")
