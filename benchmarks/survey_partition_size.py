"""LSDB against pyarrow on the same rows at several partition sizes: how much of LSDB's cost is per partition.

The 10^7-row benchmark catalog (:mod:`benchmarks._survey_catalog`, HEALPix order 6) is rewritten at coarser
fixed orders (each coarser pixel's Parquet file is its order-6 children's files concatenated; in the nested
scheme they are already sorted by ``_healpix_29``), and :mod:`benchmarks.survey_speed`'s three routes run on
each, interleaved, the best time kept. Goals as in issue 12: LSDB with 1 worker within 1.5x of pyarrow, and
2 workers at least 1.6x faster than 1, at the same partition size.

Run: ``python -m benchmarks.survey_partition_size [--area 70] [--orders 6 5 4] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._survey_catalog import MARKER_FILE, read_record
from benchmarks.survey_speed import (
    GOAL_ONE_WORKER,
    GOAL_TWO_WORKERS,
    local_clusters,
    survey_path,
    with_lsdb,
    with_pyarrow,
)


def coarser_copy(source: Path, order: int) -> tuple[Path, int, int]:
    """The catalog at ``source`` (order 6) rewritten with partitions at ``order``; (path, rows, partitions)."""
    from hats.catalog import PartitionInfo
    from hats.io import write_parquet_metadata
    from hats.pixel_math import HealpixPixel

    from data_fetch import survey

    fine = survey.PARTITION_ORDER
    files = sorted(source.glob(f"survey/dataset/Norder={fine}/Dir=*/Npix=*.parquet"), key=lambda f: int(f.stem[5:]))
    if order == fine:
        return source, sum(pq.ParquetFile(f).metadata.num_rows for f in files), len(files)
    target = source.parent / f"{source.name}_order{order}"
    groups: dict[int, list[Path]] = {}
    for file in files:
        groups.setdefault(int(file.stem[5:]) >> (2 * (fine - order)), []).append(file)
    marker = (source / MARKER_FILE).read_text()
    if target.exists() and read_record(target) != read_record(source):  # the source was rebuilt: so is the copy
        shutil.rmtree(target)
    if not target.exists():
        staging = target.with_name(target.name + ".building")
        shutil.rmtree(staging, ignore_errors=True)
        catalog = staging / "survey"
        for pixel, children in groups.items():
            out = catalog / "dataset" / f"Norder={order}" / f"Dir={pixel // 10_000 * 10_000}" / f"Npix={pixel}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.concat_tables(pq.read_table(f) for f in children), out)
        PartitionInfo.from_healpix([HealpixPixel(order, p) for p in sorted(groups)]).write_to_file(
            catalog / "partition_info.csv"
        )
        write_parquet_metadata(catalog)
        shutil.copy(source / "survey" / "hats.properties", catalog / "hats.properties")
        shutil.copy(source / "collection.properties", staging / "collection.properties")
        (staging / MARKER_FILE).write_text(marker)
        staging.rename(target)
    return target, sum(pq.ParquetFile(f).metadata.num_rows for f in files), len(groups)


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", type=float, default=70.0, help="survey area, deg^2 (70: about 10^7 rows)")
    parser.add_argument("--orders", type=int, nargs="+", default=[6, 5, 4], help="partition orders to compare")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repeats; the best time is kept")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    source = survey_path(args.area)
    catalogs = [coarser_copy(source, order) for order in args.orders]
    print(f"Before: {_uptime()}")
    clusters, clients = local_clusters()
    routes = {
        "pyarrow": with_pyarrow,
        "1 worker": lambda p: with_lsdb(p, clients[1]),
        "2 workers": lambda p: with_lsdb(p, clients[2]),
    }
    seconds = {(route, k): np.inf for route in routes for k in range(len(catalogs))}
    try:
        for route in ("1 worker", "2 workers"):  # warm the workers (imports) outside the timing
            routes[route](catalogs[0][0])
        for repeat in range(args.repeat):
            for k, (path, _, _) in enumerate(catalogs):
                for route, run in routes.items():
                    start = time.perf_counter()
                    run(path)
                    seconds[(route, k)] = min(seconds[(route, k)], time.perf_counter() - start)
            print(f"After repeat {repeat + 1}: {_uptime()}")
    finally:
        for workers in clients:
            clients[workers].close()
            clusters[workers].close()

    print(
        f"{'order':>5s} {'partitions':>10s} {'rows/partition':>14s} {'pyarrow s':>9s} {'1 worker s':>10s} "
        f"{'1w/pyarrow':>10s} {'2 workers s':>11s} {'1w/2w':>6s}"
    )
    met = []
    for k, (order, (_, n_rows, n_partitions)) in enumerate(zip(args.orders, catalogs, strict=True)):
        base, one, two = (seconds[(route, k)] for route in routes)
        met.append(one / base <= GOAL_ONE_WORKER and one / two >= GOAL_TWO_WORKERS)
        print(
            f"{order:5d} {n_partitions:10d} {n_rows // n_partitions:14,d} {base:9.2f} {one:10.2f} "
            f"{one / base:10.2f} {two:11.2f} {one / two:6.2f} {'both goals met' if met[-1] else ''}"
        )
    return 0 if any(met) else 1


if __name__ == "__main__":
    sys.exit(main())
