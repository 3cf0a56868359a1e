"""``python -m data_fetch survey``: rows per second and peak memory against area (goal: linear, < 1 GB).

Each build runs in its own process under ``/usr/bin/time`` (peak resident memory, CPU seconds). With the cores
shared, wall time depends on the load (printed); CPU seconds per row show the linearity. Goals: peak memory
under 1 GB at every size; CPU seconds per row at the largest size within 1.5x of the smallest.

Run: ``python -m benchmarks.survey_build [--areas 1 2 4]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_PEAK_MB = 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=float, nargs="+", default=[1.0, 2.0, 4.0], help="areas, deg^2")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="survey-build-") as tmp:
        for area in args.areas:
            out = Path(tmp) / f"s{area:g}"
            stats = Path(tmp) / "time.txt"
            start = time.perf_counter()
            subprocess.run(
                [
                    "/usr/bin/time",
                    "-f",
                    "%M %U %S",
                    "-o",
                    str(stats),
                    sys.executable,
                    "-W",
                    "ignore",
                    "-m",
                    "data_fetch",
                    "survey",
                    "--out",
                    str(out),
                    "--area",
                    str(area),
                    "--quiet",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            wall = time.perf_counter() - start
            peak_kb, user, system = stats.read_text().split()[-3:]
            record = json.loads((out / "MADE_BY_DATA_FETCH_SURVEY.json").read_text())
            rows.append((area, record["n_rows"], wall, float(user) + float(system), int(peak_kb) / 1024))
            shutil.rmtree(out)
    load = os.getloadavg()
    print(f"Survey build; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    print(
        f"{'area deg2':>10s} {'rows':>12s} {'wall s':>8s} {'rows/s (wall)':>14s} {'CPU s':>8s} "
        f"{'rows/CPU s':>11s} {'peak MB':>8s}"
    )
    for area, n, wall, cpu, peak in rows:
        print(f"{area:10g} {n:12,} {wall:8.1f} {n / wall:14,.0f} {cpu:8.1f} {n / cpu:11,.0f} {peak:8.0f}")
    per_row = [cpu / n for _, n, _, cpu, _ in rows]
    linear = per_row[-1] / per_row[0]
    peak = max(r[-1] for r in rows)
    print(f"CPU s per row, largest / smallest: {linear:.2f} (goal <= 1.5) {'ok' if linear <= 1.5 else 'MISSED'}")
    print(f"peak memory: {peak:.0f} MB (goal < {GOAL_PEAK_MB}) {'ok' if peak < GOAL_PEAK_MB else 'MISSED'}")
    print(
        "Fixed costs (importing LSDB, compiling its numba functions) are in every build; they weigh on the "
        "smallest sizes."
    )
    return 0 if linear <= 1.5 and peak < GOAL_PEAK_MB else 1


if __name__ == "__main__":
    sys.exit(main())
