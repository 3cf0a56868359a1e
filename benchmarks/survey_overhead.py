"""Where LSDB's time goes against the pyarrow baseline: the lesson's route taken apart, on the same files.

Issue 12 asks LSDB with 1 worker to stay within 1.5x of pyarrow + pandas in one process. This benchmark adds
LSDB's costs one at a time, each row doing the same selection and histogram as
:mod:`benchmarks.survey_speed` on the same files:

1. pyarrow, the needed columns (the baseline);
2. pyarrow reading LSDB's columns too: LSDB always reads ``coord_ra``, ``coord_dec`` and ``_healpix_29``;
3. LSDB in this process (Dask's synchronous scheduler, no cluster): LSDB's reader (index, ``NestedFrame``,
   its check of each partition against the catalog's meta), the selection and the histogram as Dask tasks;
4. the same without LSDB's check of each read partition (information only: lsdb 0.11 passes unknown keywords
   of ``open_catalog`` to its reading operation, so ``verify_meta=False`` reaches it; not a documented option);
5. the baseline (step 1) as one task on a 1-worker ``LocalCluster``: what the worker's process costs the same code
   (Dask starts it with ``MALLOC_TRIM_THRESHOLD_=65536``, and runs tasks in a thread of its own);
6. LSDB on that cluster, then 7. on 2 workers. Each cluster runs only while it is measured (an idle cluster
   slows whatever runs beside it).

Each layout of :mod:`benchmarks.survey_partition_size` can be measured (``--partition-rows``: the builder's
1,000,000 by default; 120,000 for the order-6 pixels of survey versions before 3). Rows are interleaved, the
best of ``--repeat`` kept, with the range, and the load average before and after each repeat. Every step runs
on one thread per process, as :func:`benchmarks.survey_speed.with_pyarrow` explains: Arrow's pool is set to one
thread here, as a worker's is (before 3 December 2026, step 3 read with Arrow's pool of every core).

Run: ``python -m benchmarks.survey_overhead [--area 70] [--partition-rows 1000000] [--repeat 3]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.survey_partition_size import parse_layout_arguments, uptime
from benchmarks.survey_speed import (
    COLOUR_EDGES,
    COLUMNS,
    FAINT,
    MAG_EDGES,
    cmd_histogram,
    one_cluster,
    with_lsdb,
    with_pyarrow,
)

#: Columns LSDB reads besides the ones asked for (the catalog's ra, dec and spatial index columns).
LSDB_COLUMNS = ["coord_ra", "coord_dec", "_healpix_29"]


def with_pyarrow_lsdb_columns(path: Path) -> np.ndarray:
    """The baseline, reading LSDB's extra columns as well."""
    from benchmarks.survey_speed import _expression
    from tutorial_lib.survey.criteria import expression_mask

    expression = _expression()
    total = np.zeros((len(COLOUR_EDGES) - 1, len(MAG_EDGES) - 1))
    for file in sorted((path / "survey" / "dataset").glob("Norder=*/Dir=*/Npix=*.parquet")):
        table = pq.read_table(file, columns=COLUMNS + LSDB_COLUMNS, use_threads=False)
        frame = table.to_pandas(types_mapper=pd.ArrowDtype, use_threads=False)
        total += cmd_histogram(frame[expression_mask(frame, expression)])
    return total


def with_lsdb_in_process(path: Path, **open_kwargs) -> np.ndarray:
    """The lesson's LSDB route, computed by Dask's synchronous scheduler in this process."""
    import lsdb

    from tutorial_lib.survey import LESSON_SURVEY_CRITERIA, select
    from tutorial_lib.survey.histograms import map_and_sum

    catalog = lsdb.open_catalog(path, columns=COLUMNS, **open_kwargs)
    selected = select(catalog, LESSON_SURVEY_CRITERIA, faint=FAINT)
    (total,) = dask.compute(map_and_sum(selected, cmd_histogram), scheduler="sync")
    return total


def _warm() -> None:
    """Import what the steps use (in this process, or in a worker by ``client.run``), outside the timing."""
    import lsdb  # noqa: F401

    import tutorial_lib.survey.criteria
    import tutorial_lib.survey.histograms  # noqa: F401


def main(argv=None) -> int:
    args, catalogs = parse_layout_arguments(__doc__.splitlines()[0], argv, [1_000_000])
    print(f"Before: {uptime()}")
    arrow_threads = pa.cpu_count()
    pa.set_cpu_count(1)  # step 3 reads through Arrow's pool, as a worker does (OMP_NUM_THREADS=1)
    try:
        return _measure(args, catalogs)
    finally:
        pa.set_cpu_count(arrow_threads)  # `python -m benchmarks` runs the next benchmark in this process


def _measure(args, catalogs) -> int:
    """Time every step (interleaved repeats), print the table; 0 when every step gives the same counts."""
    here = {
        "1 pyarrow, needed columns (baseline)": with_pyarrow,
        "2 pyarrow, + coord_ra, coord_dec, _healpix_29": with_pyarrow_lsdb_columns,
        "3 LSDB, one process (sync scheduler)": with_lsdb_in_process,
        "4 LSDB, one process, no meta check of reads": lambda p: with_lsdb_in_process(p, verify_meta=False),
    }
    on_cluster: dict[int, dict[str, Callable]] = {
        1: {
            "5 pyarrow baseline as a task, 1 worker": lambda p, client: client.submit(
                with_pyarrow, p, pure=False
            ).result(),
            "6 LSDB, 1-worker LocalCluster": with_lsdb,
        },
        2: {"7 LSDB, 2-worker LocalCluster": with_lsdb},
    }
    steps = [*here, *(step for runs in on_cluster.values() for step in runs)]
    seconds: dict[tuple[str, int], list[float]] = {(s, k): [] for s in steps for k in range(len(catalogs))}
    counts: dict[tuple[str, int], np.ndarray] = {}

    def time_step(step, run) -> None:
        for k, (_, path, _, _, _) in enumerate(catalogs):
            start = time.perf_counter()
            counts[(step, k)] = run(path)
            seconds[(step, k)].append(time.perf_counter() - start)

    _warm()
    for repeat in range(args.repeat):
        for step, run in here.items():
            time_step(step, run)
        for workers, runs in on_cluster.items():
            with one_cluster(workers) as client:
                client.run(_warm)  # every worker imports outside the timing
                for step, run in runs.items():
                    time_step(step, lambda p, client=client, run=run: run(p, client))
        print(f"After repeat {repeat + 1}: {uptime()}")
    same = all(np.array_equal(counts[(step, k)], counts[(steps[0], k)]) for step, k in counts)

    for k, (label, _, n_rows, n_partitions, _) in enumerate(catalogs):
        base = min(seconds[(steps[0], k)])
        print(f"\n{label}: {n_rows:,} rows in {n_partitions} partitions; best of {args.repeat} [slowest]")
        print(f"{'step':48s} {'seconds':>8s} {'slowest':>8s} {'x baseline':>10s}")
        for step in steps:
            best, worst = min(seconds[(step, k)]), max(seconds[(step, k)])
            print(f"{step:48s} {best:8.2f} {worst:8.2f} {best / base:10.2f}")
    print(f"\nevery step gives the same CMD counts: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
