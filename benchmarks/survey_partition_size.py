"""LSDB against pyarrow on the same rows at several partition sizes: how much of LSDB's cost is per partition.

The same survey (the benchmark's 70 deg^2, about 10^7 rows) is built once per ``--partition-rows`` value with
``data_fetch.survey.build_survey(partition_rows=N)``: hats' own ``generate_alignment`` (as hats-import and
``lsdb.from_dataframe`` use it) merges the order-6 mapping pixels up to the coarsest pixel holding at most N rows.
120,000 keeps nearly every order-6 pixel (the fullest holds about 120,000 rows): the layout of survey versions
before 3. 1,000,000 is hats-import's default and the builder's. Then :mod:`benchmarks.survey_speed`'s three
routes run on each layout, interleaved, the best time kept. Goals as in issue 12: LSDB with 1 worker within
1.5x of pyarrow (one thread), and 2 workers at least 1.6x faster than 1, on the same layout.

Run: ``python -m benchmarks.survey_partition_size [--area 70] [--partition-rows 120000 300000 1000000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.survey_speed import (
    GOAL_ONE_WORKER,
    GOAL_TWO_WORKERS,
    RESULTS,
    close_clusters,
    local_clusters,
    survey_path,
    with_lsdb,
    with_pyarrow,
)


def layout(area: float, partition_rows: int) -> tuple[str, Path, int, int, list[int]]:
    """``(label, path, rows, partitions, sorted partition sizes)`` of the survey of ``area`` built with
    ``partition_rows`` (once; the builder's default is survey_speed's own catalog)."""
    from data_fetch import survey

    if partition_rows == survey.PARTITION_ROWS:
        path = survey_path(area)
    else:
        path = RESULTS / f"survey_direct_{area:g}deg2_rows{partition_rows}"
        survey.build_survey(path, area_deg2=area, partition_rows=partition_rows, if_stale=True)
    files = sorted((path / "survey" / "dataset").glob("Norder=*/Dir=*/Npix=*.parquet"))
    sizes = sorted(pq.ParquetFile(f).metadata.num_rows for f in files)
    return f"at most {partition_rows:,} rows", path, sum(sizes), len(sizes), sizes


def uptime() -> str:
    """The ``uptime`` line (load average of the shared machine)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def parse_layout_arguments(description: str, argv, partition_rows: list[int]):
    """Parse ``--area --partition-rows --repeat``, quieten warnings and Dask's logs, and build the layouts.

    Returns
    -------
    args : argparse.Namespace
    catalogs : list
        As :func:`layout` returns them.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--area", type=float, default=70.0, help="survey area, deg^2 (70: about 10^7 rows)")
    parser.add_argument(
        "--partition-rows", type=int, nargs="+", default=partition_rows, help="most rows in a partition, per layout"
    )
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repeats; the best time is kept")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    return args, [layout(args.area, rows) for rows in args.partition_rows]


def main(argv=None) -> int:
    args, catalogs = parse_layout_arguments(__doc__.splitlines()[0], argv, [120_000, 300_000, 1_000_000])
    print(f"Before: {uptime()}")
    clusters, clients = local_clusters()
    routes = {
        "pyarrow": with_pyarrow,
        "1 worker": lambda p: with_lsdb(p, clients[1]),
        "2 workers": lambda p: with_lsdb(p, clients[2]),
    }
    seconds = {(route, k): [] for route in routes for k in range(len(catalogs))}
    try:
        for route in ("1 worker", "2 workers"):  # warm the workers (imports) outside the timing
            routes[route](catalogs[0][1])
        for repeat in range(args.repeat):
            for k, (_, path, _, _, _) in enumerate(catalogs):
                for route, run in routes.items():
                    start = time.perf_counter()
                    run(path)
                    seconds[(route, k)].append(time.perf_counter() - start)
            print(f"After repeat {repeat + 1}: {uptime()}")
    finally:
        close_clusters(clusters, clients)

    print(
        f"Best of {args.repeat} (range in brackets)\n"
        f"{'layout':26s} {'parts':>5s} {'rows/part min-median-max':>26s} {'pyarrow s':>16s} {'1 worker s':>16s} "
        f"{'1w/pa':>5s} {'2 workers s':>16s} {'1w/2w':>5s}"
    )
    met = []
    for k, (label, _, _, n_partitions, sizes) in enumerate(catalogs):
        base, one, two = (min(seconds[(route, k)]) for route in routes)
        spans = [f"{min(seconds[(r, k)]):5.2f} [{max(seconds[(r, k)]):5.2f}]" for r in routes]
        met.append(one / base <= GOAL_ONE_WORKER and one / two >= GOAL_TWO_WORKERS)
        size_text = f"{sizes[0]:,}-{sizes[len(sizes) // 2]:,}-{sizes[-1]:,}"
        print(
            f"{label:26s} {n_partitions:5d} {size_text:>26s} {spans[0]:>16s} {spans[1]:>16s} {one / base:5.2f} "
            f"{spans[2]:>16s} {one / two:5.2f} {'both goals met' if met[-1] else 'missed'}"
        )
    return 0 if any(met) else 1


if __name__ == "__main__":
    sys.exit(main())
