"""``make data``'s wall time, and time, rows per second and peak memory of builds of growing tract sizes.

First the command ``make data`` runs, ``python -m data_fetch simulate --repo <new folder> --if-stale``, timed
from the start of its process to its end (imports included) ``--repeat`` times: minimum and median wall time,
CPU seconds, and the load average, since other work on the machine slows it. The first run also writes the
bytecode cache (``PYTHONDONTWRITEBYTECODE`` is removed, as on a learner's machine) and is shown apart. Goal: a
median of 5 s or less on the project's 2-core machine.

Then each tract size is built in its own process so its peak memory (max RSS) is its own. Goal: a cost that grows
linearly with area (at most 1.5 times as much per unit area as the default 2 tracts of 3 x 3 patches).

Exits 1 when a goal is missed. Run: ``python -m benchmarks.build_repository [--repeat 5] [--sizes 3 6 9]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._machine import load_average, machine_line

REPO_ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
from data_fetch.simulate import build
start = time.perf_counter()
summary = build(sys.argv[1], num_patches=(int(sys.argv[2]),) * 2, progress=False)
elapsed = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "rows": summary.n_ref_rows, "peak_mb": peak_mb}))
"""


GOAL_MAKE_DATA = 5.0  # s, median wall time of `make data`'s command
GOAL_LINEARITY = 1.5


def time_make_data() -> tuple[float, float]:
    """Wall and CPU seconds of ``make data``'s command building a new repository in a temporary folder."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "data_fetch", "simulate", "--repo", str(Path(tmp) / "DATA"), "--if-stale"]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, check=True)
        wall = time.perf_counter() - start
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return wall, cpu


def measure(size: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(Path(tmp) / "DATA"), str(size)],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Print the table; 0 if the goals are met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 6, 9], help="patches per tract side")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of make data's command (default: 5)")
    args = parser.parse_args(argv)
    print(f"make data's command; the machine: {machine_line()}")
    first_wall, first_cpu = time_make_data()
    print(f"  first run (writes the bytecode cache): {first_wall:.1f} s wall, {first_cpu:.1f} s CPU")
    runs = [time_make_data() for _ in range(args.repeat)]
    walls = sorted(wall for wall, _ in runs)
    median = statistics.median(walls)
    print(
        f"  {args.repeat} runs: wall min {walls[0]:.1f} s, median {median:.1f} s (goal <= {GOAL_MAKE_DATA:.0f} s); "
        f"CPU median {statistics.median(cpu for _, cpu in runs):.1f} s; after: {load_average()}"
    )
    ok = median <= GOAL_MAKE_DATA
    print("Building the simulated repository (2 tracts; reference rows; forced tables have 3x as many)")
    print(
        f"{'patches/tract':>14} {'area x':>7} {'ref rows':>9} {'seconds':>8} {'rows/s':>9} "
        f"{'s per area':>11} {'peak MB':>8}"
    )
    base = None
    for size in args.sizes:
        result = measure(size)
        area = size * size / 9
        base = base or result["seconds"] / area
        print(
            f"{size:>11}x{size:<2} {area:>7.0f} {result['rows']:>9} {result['seconds']:>8.1f} "
            f"{result['rows'] / result['seconds']:>9.0f} {result['seconds'] / area / base:>11.2f} "
            f"{result['peak_mb']:>8.0f}"
        )
        ok &= result["seconds"] / area / base <= GOAL_LINEARITY
    print("'s per area' is the time per unit area relative to the default build: near 1 means linear cost.")
    print(
        f"goals: make data median at most {GOAL_MAKE_DATA:.0f} s, s per area at most {GOAL_LINEARITY}: "
        f"{'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
