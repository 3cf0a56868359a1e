"""The lesson's selection plus a density CMD on a HATS survey: LSDB with 1 and 2 Dask workers against pyarrow +
pandas in one process on the same Parquet files, at three sizes; peak memory per worker.

Both routes do the same work: the same columns, the same selection (``selection_expression`` of the lesson's
criteria and faint limit, evaluated by pandas), the same histogram function, on the same files. The LSDB route is
the lesson's (notebook 10): ``lsdb.open_catalog(columns=...)``, :func:`tutorial_lib.survey.select`, then
``map_partitions`` of the histogram and a tree of sums on the cluster
(:func:`tutorial_lib.survey.histograms.map_and_sum`, whose every task reads, selects, histograms and adds a group
of partitions of about a million rows). LSDB also reads each partition's ``coord_ra``, ``coord_dec`` and
``_healpix_29`` (it always does); that is part of its cost. Each worker runs one thread, and so does the
baseline (:func:`with_pyarrow`); the baseline on all the machine's threads is printed for information, and so
is the baseline's work shared by two processes without Dask (:func:`with_processes`): the most that two workers
could gain on this machine, where two processes share two cores, the memory bandwidth and the caches.

Goals (issue 12): LSDB with 1 worker within 1.5x of the baseline's time; 2 workers at least 1.6x faster than 1;
a cost linear in the rows, for every route: the marginal cost per row (between consecutive sizes) the same
within 1.5x. A computation also has a fixed cost (measured on 2 December 2026: 0.04 s for pyarrow; 0.11 s for
LSDB with 1 worker and 0.14 to 0.17 s with 2: opening the catalog, the graph, the first and last tasks), so the
average cost per row falls with size even when the cost is a straight line; the table prints the line's fixed
cost and slope (least squares) beside both. The machine's cores are shared, so the routes are
interleaved (each repeat runs every route on every size) and the best time of each is kept; the load average
and the time of a fixed loop (:mod:`benchmarks._machine`) are printed before, the load average after. Only the
cluster being measured is running (each repeat starts it, warms it and closes it): before 3 December 2026 both
clusters ran throughout, and an idle cluster's processes slowed whatever ran beside them.

The catalogs (10^6 to 10^7 rows) are written once into ``benchmarks/results/`` by
:mod:`benchmarks._survey_catalog`: ``data_fetch survey``'s own catalogs, without a margin.

Run: ``python -m benchmarks.survey_speed [--areas 7 21 70] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._machine import load_average, machine_line

RESULTS = Path(__file__).resolve().parent / "results"
COLOUR_EDGES = np.arange(-0.5, 2.5001, 0.025)
MAG_EDGES = np.arange(16.0, 25.0001, 0.05)
FAINT = 25.0
COLUMNS = ["detect_isPrimary", "refExtendedness", "i_psfFlux_flag", "r_psfMag", "i_psfMag"]
GOAL_ONE_WORKER = 1.5
GOAL_TWO_WORKERS = 1.6
GOAL_LINEAR = 1.5
#: The baseline of the goals: pyarrow and pandas in this process, on one thread (:func:`with_pyarrow`).
BASELINE = "pyarrow, one thread"
#: The baseline's work on two processes without Dask (:func:`with_processes`): the most two workers could give.
CEILING = "pyarrow, 2 processes"


def survey_path(area: float) -> Path:
    """A survey of ``area`` deg^2 in benchmarks/results (written once)."""
    from benchmarks._survey_catalog import write_survey

    path = RESULTS / f"survey_direct_{area:g}deg2"
    write_survey(path, area)
    return path


def linear_cost(rows: list[int], seconds: list[float]) -> tuple[float, float, list[float]]:
    """A straight line through (rows, seconds): its fixed cost (s) and cost per row (s), least squares, and the
    marginal cost per row between each pair of consecutive sizes (s), whose spread says whether it is a line."""
    per_row, fixed = np.polyfit(np.asarray(rows, dtype=float), np.asarray(seconds, dtype=float), 1)
    marginal = [(seconds[k + 1] - seconds[k]) / (rows[k + 1] - rows[k]) for k in range(len(rows) - 1)]
    return float(fixed), float(per_row), marginal


def cmd_histogram(frame: pd.DataFrame) -> np.ndarray:
    """Density CMD of selected rows, counts in (r - i, i) bins (the same function for every route)."""
    mag = frame["i_psfMag"].to_numpy(dtype=float, na_value=np.nan)
    colour = frame["r_psfMag"].to_numpy(dtype=float, na_value=np.nan) - mag
    counts, _, _ = np.histogram2d(colour, mag, bins=(COLOUR_EDGES, MAG_EDGES))
    return counts


def _expression() -> str:
    from tutorial_lib.survey import LESSON_SURVEY_CRITERIA, selection_expression

    return selection_expression(LESSON_SURVEY_CRITERIA, faint=FAINT)


def with_pyarrow(path: Path, threads: bool = False) -> np.ndarray:
    """Baseline: each partition's Parquet file read by pyarrow, one after the other, in this process.

    With one thread by default, as a Dask worker reads: distributed starts its workers with
    ``OMP_NUM_THREADS=1`` (its ``distributed.nanny.pre-spawn-environ``), which Arrow also reads for the size of
    its thread pool. The nanny sets that variable in this process too, so without ``use_threads=False`` the
    baseline's threads would depend on whether Arrow's pool was made before or after the clusters (it was: the
    baseline took 0.69 s with two threads and 0.85 s with one, on the same files).
    ``threads=True``: Arrow's pool of every core (:func:`main` sets it), for information.
    """
    return _histogram_of_files(partition_files(path), threads)


def partition_files(path: Path) -> list[Path]:
    """The Parquet file of each partition of the survey at ``path``."""
    return sorted((path / "survey" / "dataset").glob("Norder=*/Dir=*/Npix=*.parquet"))


def _histogram_of_files(files: list[Path], threads: bool = False) -> np.ndarray:
    """The baseline's work on some files: read, select and histogram each, one after the other."""
    from tutorial_lib.survey.criteria import expression_mask

    expression = _expression()
    total = np.zeros((len(COLOUR_EDGES) - 1, len(MAG_EDGES) - 1))
    for file in files:
        table = pq.read_table(file, columns=COLUMNS, use_threads=threads)
        frame = table.to_pandas(types_mapper=pd.ArrowDtype, use_threads=threads)  # as LSDB reads it
        total += cmd_histogram(frame[expression_mask(frame, expression)])
    return total


def with_processes(path: Path, pool) -> np.ndarray:
    """The baseline's work shared by the processes of ``pool``, without Dask: what this machine gives two
    processes at most (information for the 2-worker goal).

    The files are dealt largest first to the process with the fewest rows so far, so both get about the same
    rows; each process reads on one thread, as a worker does.
    """
    file_rows = {file: pq.read_metadata(file).num_rows for file in partition_files(path)}
    shares: list[list[Path]] = [[] for _ in range(pool._max_workers)]
    rows = [0] * len(shares)
    for file in sorted(file_rows, key=file_rows.__getitem__, reverse=True):
        lightest = rows.index(min(rows))
        shares[lightest].append(file)
        rows[lightest] += file_rows[file]
    return sum(pool.map(_histogram_of_files, shares))


def process_pool(processes: int):
    """A pool of ``processes`` fresh Python processes (spawned, as Dask's nanny starts its workers), warmed up:
    each has imported what the baseline needs."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
    list(pool.map(_histogram_of_files, [[] for _ in range(processes)]))
    return pool


def with_lsdb(path: Path, client) -> np.ndarray:
    """The lesson's route on the cluster of ``client``."""
    import lsdb

    from tutorial_lib.survey import LESSON_SURVEY_CRITERIA, select
    from tutorial_lib.survey.histograms import map_and_sum

    catalog = lsdb.open_catalog(path, columns=COLUMNS)
    selected = select(catalog, LESSON_SURVEY_CRITERIA, faint=FAINT)
    return client.compute(map_and_sum(selected, cmd_histogram)).result()


def local_clusters(sizes: tuple[int, ...] = (1, 2)) -> tuple[dict, dict]:
    """A ``LocalCluster`` of each number of workers in ``sizes`` (one thread per worker process, on 127.0.0.1)
    and their clients, keyed by the number of workers; the caller closes them (:func:`close_clusters`)."""
    from dask.distributed import Client, LocalCluster

    clusters = {
        workers: LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        for workers in sizes
    }
    clients = {workers: Client(cluster, set_as_default=False) for workers, cluster in clusters.items()}
    return clusters, clients


def close_clusters(clusters: dict, clients: dict) -> None:
    """Close the clients and clusters of :func:`local_clusters` without their INFO log lines.

    Each ``LocalCluster`` lowers the level of distributed's log handlers for its life (``silence_logs``) and
    gives them back their INFO level when it closes, so the second cluster's closing lines would be printed
    amid the benchmark's table.
    """
    logging.disable(logging.INFO)
    try:
        for workers in clients:
            clients[workers].close()
            clusters[workers].close()
    finally:
        logging.disable(logging.NOTSET)


@contextmanager
def one_cluster(workers: int) -> Iterator:
    """The client of a ``LocalCluster`` of ``workers`` (:func:`local_clusters`), closed when the block ends.

    Benchmarks start each cluster only for its own measurement: an idle cluster's processes (heartbeats, memory
    monitors) take CPU from whatever runs beside them (the two-process baseline gained 1.55x to 1.88x alone, 1.31x
    to 1.58x beside two idle clusters, on 3 December 2026).
    """
    clusters, clients = local_clusters((workers,))
    try:
        yield clients[workers]
    finally:
        close_clusters(clusters, clients)


def _peak_worker_mb(client) -> list[float]:
    """Peak resident memory of each worker process, MB (Linux reports ru_maxrss in KiB)."""
    return sorted(v / 1024 for v in client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=float, nargs=3, default=[7.0, 21.0, 70.0], help="three survey areas, deg^2")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repeats; the best time is kept")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("distributed").setLevel(logging.ERROR)  # no INFO lines from closing the clusters
    from benchmarks._survey_catalog import read_record

    paths = [survey_path(a) for a in args.areas]
    pa.set_cpu_count(os.cpu_count() or 1)  # the information route's pool; the clusters' nannies set OMP_NUM_THREADS
    n_rows = [read_record(p)["n_rows"] for p in paths]
    n_partitions = [read_record(p)["n_partitions"] for p in paths]
    print(f"Before: {machine_line()}")
    # The pool first: each cluster's nannies put OMP_NUM_THREADS=1 and MALLOC_TRIM_THRESHOLD_ into this process's
    # environment, which a process started later inherits (the baseline's own malloc is set up already).
    pool = process_pool(2)
    here = {
        BASELINE: with_pyarrow,
        f"pyarrow, {os.cpu_count()} threads": lambda p: with_pyarrow(p, threads=True),
        CEILING: lambda p: with_processes(p, pool),
    }
    on_cluster = {"lsdb 1 worker": 1, "lsdb 2 workers": 2}
    routes = [*here, *on_cluster]
    seconds = {(route, k): np.inf for route in routes for k in range(len(paths))}
    slowest = {(route, k): 0.0 for route in routes for k in range(len(paths))}
    counts = {}
    peaks: dict[int, list[float]] = {}

    def time_route(route, run) -> None:
        for k, path in enumerate(paths):
            start = time.perf_counter()
            counts[(route, k)] = run(path)
            elapsed = time.perf_counter() - start
            seconds[(route, k)] = min(seconds[(route, k)], elapsed)
            slowest[(route, k)] = max(slowest[(route, k)], elapsed)

    try:
        with_processes(paths[0], pool)  # warm the processes (imports) outside the timing
        for _ in range(args.repeat):
            for route, run in here.items():
                time_route(route, run)
            for route, workers in on_cluster.items():
                with one_cluster(workers) as client:
                    with_lsdb(paths[-1], client)  # warm every worker (imports) outside the timing
                    time_route(route, lambda p, client=client: with_lsdb(p, client))
                    peak = _peak_worker_mb(client)
                    peaks[workers] = [max(a, b) for a, b in zip(peaks.get(workers, peak), peak, strict=True)]
            print(f"After a repeat: {load_average()}")
    finally:
        pool.shutdown()

    print(
        f"Lesson selection + density CMD, best of {args.repeat} interleaved runs; after: {load_average()}\n"
        "Catalogs: data_fetch.survey.build_survey (default seed, partitions of at most 1,000,000 rows, no margin), "
        "kept in benchmarks/results by benchmarks._survey_catalog"
    )
    print(
        f"{'route':22s} {'rows':>11s} {'partitions':>10s} {'seconds':>8s} {'slowest':>8s} {'M rows/s':>9s} "
        f"{'x baseline':>10s}"
    )
    for k in range(len(paths)):
        for route in routes:
            s = seconds[(route, k)]
            ratio = s / seconds[(BASELINE, k)]
            speed = n_rows[k] / s / 1e6
            worst = slowest[(route, k)]
            row = f"{route:22s} {n_rows[k]:11,d} {n_partitions[k]:10d} {s:8.2f} {worst:8.2f} {speed:9.2f}"
            print(f"{row} {ratio:10.2f}")
    for workers, mb in peaks.items():
        print(f"peak memory per worker, {workers} worker(s): {', '.join(f'{m:.0f} MB' for m in mb)}")

    largest = len(paths) - 1
    one_vs_base = seconds[("lsdb 1 worker", largest)] / seconds[(BASELINE, largest)]
    two_vs_one = seconds[("lsdb 1 worker", largest)] / seconds[("lsdb 2 workers", largest)]
    goals = [
        ("LSDB 1 worker / baseline time, largest size", one_vs_base, one_vs_base <= GOAL_ONE_WORKER, "<= 1.5"),
        ("LSDB 1 worker / 2 workers time, largest size", two_vs_one, two_vs_one >= GOAL_TWO_WORKERS, ">= 1.6"),
    ]
    print(f"{'route':22s} {'fixed s':>8s} {'us per row':>10s} {'marginal us/row':>18s} {'average us/row':>18s}")
    for route in routes:
        times = [seconds[(route, k)] for k in range(len(paths))]
        fixed, per_row, marginal = linear_cost(n_rows, times)
        average = [t / n * 1e6 for t, n in zip(times, n_rows, strict=True)]
        print(
            f"{route:22s} {fixed:8.2f} {per_row * 1e6:10.3f} {' '.join(f'{m * 1e6:5.3f}' for m in marginal):>18s} "
            f"{' '.join(f'{a:5.3f}' for a in average):>18s}"
        )
        if route == CEILING:  # information: its processes idle while the smallest catalog's one file is read
            continue
        linear = max(marginal) / min(marginal) if min(marginal) > 0 else np.inf
        label = f"marginal cost per row, max / min: {route}"
        goals.append((label, linear, linear <= GOAL_LINEAR, "<= 1.5"))
    same = all(np.array_equal(counts[(route, k)], counts[(BASELINE, k)]) for route, k in counts)
    goals.append(("every route gives the same CMD counts", float(same), same, "equal"))
    print(f"{'goal':52s} {'measured':>9s} {'target':>8s}")
    for label, value, met, target in goals:
        print(f"{label:52s} {value:9.2f} {target:>8s} {'ok' if met else 'MISSED'}")
    ceiling = seconds[(BASELINE, largest)] / seconds[(CEILING, largest)]
    print(f"{'for reference: baseline / ' + CEILING + ', largest size':52s} {ceiling:9.2f}  (two processes here)")
    return 0 if all(g[2] for g in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
