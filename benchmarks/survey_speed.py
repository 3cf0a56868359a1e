"""The lesson's selection plus a density CMD on a HATS survey: LSDB with 1 and 2 Dask workers against plain
pyarrow + numpy in one process on the same Parquet files, at three sizes; peak memory per worker.

Goals (issue 12): LSDB with 1 worker within 1.5x of the single-process baseline; 2 workers at least 1.6x faster
than 1; the cost per row the same at the three sizes (linear, within 1.5x). The surveys are built (once) by
``data_fetch.survey`` in ``benchmarks/results/``. The machine's load average is printed with the table: with
the cores shared, the 2-worker speed-up cannot show.

Run: ``python -m benchmarks.survey_speed [--areas 1 2 4]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

RESULTS = Path(__file__).resolve().parent / "results"
COLOUR_EDGES = np.arange(-0.5, 2.5001, 0.025)
MAG_EDGES = np.arange(16.0, 25.0001, 0.05)
FAINT = 25.0
COLUMNS = ["detect_isPrimary", "refExtendedness", "i_psfFlux_flag", "r_psfMag", "i_psfMag"]


def survey_path(area: float) -> Path:
    """A survey of ``area`` deg^2 in benchmarks/results (built once, rebuilt if made with other options)."""
    from data_fetch import survey

    path = RESULTS / f"survey_{area:g}deg2"
    if not survey.is_up_to_date(path, area_deg2=area, seed=survey.DEFAULT_SEED, margin_arcsec=None):
        RESULTS.mkdir(exist_ok=True)
        survey.build_survey(path, area_deg2=area, force=path.exists(), progress=False)
    return path


def cmd_of_selection(frame) -> np.ndarray:
    """The lesson's selection and its density CMD for one partition (the same function for both routes)."""
    from tutorial_lib.survey import LESSON_SURVEY_CRITERIA, selection_expression

    keep = frame.eval(selection_expression(LESSON_SURVEY_CRITERIA, faint=FAINT))
    keep = keep.to_numpy(dtype=bool, na_value=False)
    mag = frame["i_psfMag"].to_numpy(dtype=float, na_value=np.nan)[keep]
    colour = frame["r_psfMag"].to_numpy(dtype=float, na_value=np.nan)[keep] - mag
    counts, _, _ = np.histogram2d(colour, mag, bins=(COLOUR_EDGES, MAG_EDGES))
    return counts


def with_pyarrow(path: Path) -> tuple[np.ndarray, int]:
    """Baseline: read each partition's Parquet file with pyarrow, one after the other, in this process."""
    total, rows = 0, 0
    for file in sorted((path / "survey" / "dataset").glob("Norder=*/Dir=*/Npix=*.parquet")):
        frame = pq.read_table(file, columns=COLUMNS).to_pandas(types_mapper=pd.ArrowDtype)  # as LSDB reads it
        total = total + cmd_of_selection(frame)
        rows += len(frame)
    return total, rows


def with_lsdb(path: Path, client) -> np.ndarray:
    import dask
    import lsdb

    from tutorial_lib.survey.histograms import boxed, sum_partition_results

    catalog = lsdb.open_catalog(path, columns=COLUMNS)
    (total,) = dask.compute(sum_partition_results(catalog.map_partitions(boxed, cmd_of_selection)))
    return total


def _peak_worker_mb(client) -> list[float]:
    return sorted(v / 1024 for v in client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).values())


def _best_of(function, repeat):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=float, nargs=3, default=[1.0, 2.0, 4.0], help="three survey areas, deg^2")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    from dask.distributed import Client, LocalCluster

    paths = [survey_path(a) for a in args.areas]
    rows_per_s = {}
    peaks = {}
    checks = []
    for workers in (1, 2):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
        try:
            for area, path in zip(args.areas, paths, strict=True):
                seconds, counts = _best_of(lambda p=path, c=client: with_lsdb(p, c), args.repeat)
                rows_per_s[(f"lsdb {workers} worker{'s' * (workers > 1)}", area)] = seconds
                checks.append(counts.sum())
            peaks[workers] = _peak_worker_mb(client)
        finally:
            client.close()
            cluster.close()
    n_rows = {}
    for area, path in zip(args.areas, paths, strict=True):
        seconds, (counts, rows) = _best_of(lambda p=path: with_pyarrow(p), args.repeat)
        rows_per_s[("pyarrow, one process", area)] = seconds
        n_rows[area] = rows
        checks.append(counts.sum())

    load = os.getloadavg()
    print(
        f"Lesson selection + density CMD, rows per second (best of {args.repeat}); load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores"
    )
    header = "".join(f"{f'{a:g} deg2 ({n_rows[a] / 1e6:.2f} M rows)':>26s}" for a in args.areas)
    print(f"{'route':24s}{header}")
    speed = {}
    for route in ("pyarrow, one process", "lsdb 1 worker", "lsdb 2 workers"):
        cells = []
        for area in args.areas:
            speed[(route, area)] = n_rows[area] / rows_per_s[(route, area)]
            cells.append(f"{speed[(route, area)] / 1e6:24.2f} M")
        print(f"{route:24s}{''.join(cells)}")
    for workers, mb in peaks.items():
        print(f"peak memory per worker with {workers} worker(s): {', '.join(f'{m:.0f} MB' for m in mb)}")
    biggest = args.areas[-1]
    one_vs_base = speed[("pyarrow, one process", biggest)] / speed[("lsdb 1 worker", biggest)]
    two_vs_one = speed[("lsdb 2 workers", biggest)] / speed[("lsdb 1 worker", biggest)]
    per_row = [rows_per_s[("lsdb 1 worker", a)] / n_rows[a] for a in args.areas]
    linear = max(per_row) / min(per_row)
    same = len({int(c) for c in checks[: len(args.areas)]}) and all(
        int(checks[i]) == int(checks[i + len(args.areas)]) == int(checks[i + 2 * len(args.areas)])
        for i in range(len(args.areas))
    )
    goals = [
        ("LSDB 1 worker vs pyarrow baseline (slower by)", one_vs_base, one_vs_base <= 1.5, "<= 1.5x"),
        ("LSDB 2 workers vs 1 worker (faster by)", two_vs_one, two_vs_one >= 1.6, ">= 1.6x"),
        ("cost per row, largest / smallest size", linear, linear <= 1.5, "<= 1.5x (linear)"),
        ("the three routes give the same CMD counts", float(same), bool(same), "equal"),
    ]
    print(f"{'goal':48s} {'measured':>9s} {'target':>18s}")
    for label, value, met, target in goals:
        print(f"{label:48s} {value:9.2f} {target:>18s} {'ok' if met else 'MISSED'}")
    return 0 if all(g[2] for g in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
