"""``python -m data_fetch survey``: rows per second and peak memory against area (goal: linear, < 1 GB).

Each build runs in its own process under ``/usr/bin/time`` (wall time, CPU seconds, peak resident memory), so
every row includes the fixed cost of a build (starting Python, importing numpy, pandas, pyarrow and hats).
The builds run as on a learner's machine, where Python caches the bytecode of what it imports: without
``PYTHONDONTWRITEBYTECODE`` (set in some CI and sandbox shells, where every run would recompile some 2,000
modules from source: 15-60 CPU s here), after one untimed warm-up build that fills ``__pycache__``.

Goals (issue 12):

* peak memory under 1 GB at every size;
* linear cost: rows per CPU second at the largest size at least 1 / :data:`LINEARITY_FACTOR` of that at the
  middle size, and the CPU seconds per million more rows from the middle to the largest size at most
  :data:`LINEARITY_FACTOR` times those from the smallest to the middle one (a cost per row that grows with the
  area would show there; the fixed cost of a build does not);
* the default area (20 deg^2) builds in :data:`GOAL_DEFAULT_SECONDS` or less. The build runs in one thread, so
  on a quiet machine its wall time is its CPU time; the goal is checked on CPU seconds, which the other
  processes on shared cores do not inflate (the wall time and the load average are printed beside them).

Run: ``.venv/bin/python -m benchmarks.survey_build [--areas 1 5 20] [--margin]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._machine import load_average

GOAL_PEAK_MB = 1024
LINEARITY_FACTOR = 1.5
GOAL_DEFAULT_SECONDS = 90.0
DEFAULT_AREA_DEG2 = 20.0  # data_fetch.survey.DEFAULT_AREA_DEG2 (not imported: that would time the import here)


def build(area: float, out: Path, margin: bool) -> dict:
    """Build one survey in a fresh process; its wall and CPU seconds, peak memory (MB) and rows."""
    stats = out.parent / f"time-{area:g}.txt"
    command = [sys.executable, "-W", "ignore", "-m", "data_fetch", "survey", "--out", str(out), "--area", str(area)]
    command += ["--quiet", *(["--margin"] if margin else [])]
    start = time.perf_counter()
    timed = ["/usr/bin/time", "-f", "%M %U %S", "-o", str(stats), *command]
    subprocess.run(timed, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    peak_kb, user, system = stats.read_text().split()[-3:]
    record = json.loads((out / "MADE_BY_DATA_FETCH_SURVEY.json").read_text())
    shutil.rmtree(out)
    return {
        "area": area,
        "rows": record["n_rows"],
        "wall": wall,
        "cpu": float(user) + float(system),
        "peak_mb": int(peak_kb) / 1024,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=float, nargs="+", default=[1.0, 5.0, 20.0], help="areas, deg^2 (3 or more)")
    parser.add_argument("--margin", action="store_true", help="also build the 5 arcsec margin cache")
    args = parser.parse_args(argv)
    if len(args.areas) < 3:
        parser.error("give at least three areas, to show whether the cost is linear")
    areas = sorted(args.areas)
    with tempfile.TemporaryDirectory(prefix="survey-build-") as tmp:
        build(0.01, Path(tmp) / "warm-up", args.margin)  # fills __pycache__, as any first run does
        results = [build(area, Path(tmp) / f"s{area:g}", args.margin) for area in areas]
    print(f"Survey build{' with margin' if args.margin else ''}; {load_average()}")
    print(
        f"{'area deg2':>10s} {'rows':>12s} {'wall s':>8s} {'rows/s (wall)':>14s} {'CPU s':>8s} "
        f"{'rows/CPU s':>11s} {'peak MB':>8s}"
    )
    for r in results:
        print(
            f"{r['area']:10g} {r['rows']:12,} {r['wall']:8.1f} {r['rows'] / r['wall']:14,.0f} {r['cpu']:8.1f} "
            f"{r['rows'] / r['cpu']:11,.0f} {r['peak_mb']:8.0f}"
        )
    middle, largest = results[len(results) // 2], results[-1]
    ratio = (largest["rows"] / largest["cpu"]) / (middle["rows"] / middle["cpu"])
    # The cost of the rows alone: CPU seconds per million more rows from one size to the next.
    marginal = [
        (b["cpu"] - a["cpu"]) / (b["rows"] - a["rows"]) * 1e6 for a, b in zip(results, results[1:], strict=False)
    ]
    steady = marginal[-1] <= LINEARITY_FACTOR * marginal[-2]
    linear = ratio >= 1 / LINEARITY_FACTOR and steady
    peak = max(r["peak_mb"] for r in results)
    small_enough = peak < GOAL_PEAK_MB
    default = next((r for r in results if r["area"] == DEFAULT_AREA_DEG2), None)
    fast = default is None or default["cpu"] <= GOAL_DEFAULT_SECONDS
    print(
        f"rows per CPU s, {largest['area']:g} deg2 / {middle['area']:g} deg2: {ratio:.2f} "
        f"(goal >= {1 / LINEARITY_FACTOR:.2f}) {'ok' if linear else 'MISSED'}"
    )
    steps = ", ".join(
        f"{a['area']:g} to {b['area']:g} deg2: {m:.1f}" for a, b, m in zip(results, results[1:], marginal, strict=False)
    )
    print(
        f"CPU s per million more rows, {steps} (goal: last <= {LINEARITY_FACTOR}x the one before) "
        f"{'ok' if steady else 'MISSED'}"
    )
    fixed = results[0]["cpu"] - marginal[0] * results[0]["rows"] / 1e6
    print(f"fixed cost of a build (extrapolated to 0 rows): {fixed:.1f} CPU s")
    print(f"peak memory: {peak:.0f} MB (goal < {GOAL_PEAK_MB}) {'ok' if small_enough else 'MISSED'}")
    if default is not None:
        print(
            f"default {DEFAULT_AREA_DEG2:g} deg2: {default['cpu']:.0f} CPU s, {default['wall']:.0f} s wall "
            f"(goal <= {GOAL_DEFAULT_SECONDS:.0f} s of CPU, its wall time on a quiet machine) "
            f"{'ok' if fast else 'MISSED'}"
        )
    return 0 if linear and small_enough and fast else 1


if __name__ == "__main__":
    sys.exit(main())
