"""Time, rows per second and peak memory to build the simulated repository, for growing tract sizes.

Each build runs in its own process so its peak memory (max RSS) is its own. Goal: the default build (2 tracts
of 3 x 3 patches) under 20 s on a 2-core machine, and a cost that grows linearly with area.

Exits 1 when the default build takes longer than 20 s or a larger one costs more than 1.5 times as much per
unit area. Run: ``python benchmarks/build_repository.py [--sizes 3 6 9]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from data_fetch.simulate import build
start = time.perf_counter()
summary = build(sys.argv[1], num_patches=(int(sys.argv[2]),) * 2, progress=False)
elapsed = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "rows": summary.n_ref_rows, "peak_mb": peak_mb}))
"""


GOAL_SECONDS = 20.0
GOAL_LINEARITY = 1.5


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
    args = parser.parse_args(argv)
    print("Building the simulated repository (2 tracts; reference rows; forced tables have 3x as many)")
    print(
        f"{'patches/tract':>14} {'area x':>7} {'ref rows':>9} {'seconds':>8} {'rows/s':>9} "
        f"{'s per area':>11} {'peak MB':>8}"
    )
    base = None
    ok = True
    for size in args.sizes:
        result = measure(size)
        area = size * size / 9
        base = base or result["seconds"] / area
        print(
            f"{size:>11}x{size:<2} {area:>7.0f} {result['rows']:>9} {result['seconds']:>8.1f} "
            f"{result['rows'] / result['seconds']:>9.0f} {result['seconds'] / area / base:>11.2f} "
            f"{result['peak_mb']:>8.0f}"
        )
        if size == 3:
            ok &= result["seconds"] <= GOAL_SECONDS
        ok &= result["seconds"] / area / base <= GOAL_LINEARITY
    print("'s per area' is the time per unit area relative to the default build: near 1 means linear cost.")
    print(
        f"goal: default build under {GOAL_SECONDS:.0f} s, s per area at most {GOAL_LINEARITY}: "
        f"{'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
