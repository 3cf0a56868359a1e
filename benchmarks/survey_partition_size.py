"""LSDB against pyarrow on the same rows at several partition sizes: how much of LSDB's cost is per partition.

The 10^7-row benchmark catalog (:mod:`benchmarks._survey_catalog`, HEALPix order 6) is rewritten with larger
partitions, two ways:

* at a coarser fixed order (``--orders``): each coarser pixel's file is its order-6 children's rows;
* adaptively, as hats-import partitions a catalog (``--thresholds``): hats' own
  ``hats.pixel_math.partition_stats.generate_alignment`` merges the order-6 pixels up to the coarsest pixel
  holding at most the threshold's rows, so the partitions are of similar size where the sky is full and
  merged further at the survey's edges.

In the nested scheme the children of a pixel are contiguous in ``_healpix_29``, so concatenating their files in
pixel order keeps each partition sorted. The files are written with the builder's Parquet settings (hats'
``get_parquet_write_table_kwargs``, zstd level 1), so only the partitioning differs. Then
:mod:`benchmarks.survey_speed`'s three routes run on each layout, interleaved, the best time kept. Goals as in
issue 12: LSDB with 1 worker within 1.5x of pyarrow, and 2 workers at least 1.6x faster than 1, on the same layout.

Run: ``python -m benchmarks.survey_partition_size [--area 70] [--orders 6 5 4] [--thresholds 600000] [--repeat 3]``.
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
    close_clusters,
    local_clusters,
    survey_path,
    with_lsdb,
    with_pyarrow,
)


def _fine_files(source: Path) -> dict[int, Path]:
    from data_fetch import survey

    fine = survey.PARTITION_ORDER
    return {int(f.stem[5:]): f for f in source.glob(f"survey/dataset/Norder={fine}/Dir=*/Npix=*.parquet")}


def fixed_order_groups(source: Path, order: int) -> dict[tuple[int, int], list[Path]]:
    """The order-6 files of ``source`` grouped by their parent pixel at ``order``: ``{(order, pixel): files}``."""
    from data_fetch import survey

    shift = 2 * (survey.PARTITION_ORDER - order)
    groups: dict[tuple[int, int], list[Path]] = {}
    for pixel, file in sorted(_fine_files(source).items()):
        groups.setdefault((order, pixel >> shift), []).append(file)
    return groups


def adaptive_groups(source: Path, threshold: int) -> dict[tuple[int, int], list[Path]]:
    """The order-6 files of ``source`` grouped as hats' ``generate_alignment`` aligns them for ``threshold`` rows."""
    from hats.pixel_math.partition_stats import generate_alignment

    from data_fetch import survey

    fine = survey.PARTITION_ORDER
    files = _fine_files(source)
    histogram = np.zeros(12 * 4**fine, np.int64)
    for pixel, file in files.items():
        histogram[pixel] = pq.ParquetFile(file).metadata.num_rows
    alignment = generate_alignment(histogram, highest_order=fine, threshold=threshold)
    groups: dict[tuple[int, int], list[Path]] = {}
    for pixel, file in sorted(files.items()):
        order, parent, _ = alignment[pixel]
        groups.setdefault((int(order), int(parent)), []).append(file)
    return groups


def regrouped_copy(source: Path, name: str, groups: dict[tuple[int, int], list[Path]]) -> tuple[Path, int, int]:
    """The catalog at ``source`` rewritten with one partition per group; (path, rows, partitions)."""
    from hats.catalog import PartitionInfo
    from hats.io import write_parquet_metadata
    from hats.io.file_io.file_io import get_parquet_write_table_kwargs
    from hats.io.paths import pixel_catalog_file
    from hats.pixel_math import HealpixPixel

    from data_fetch import survey

    n_rows = sum(pq.ParquetFile(f).metadata.num_rows for files in groups.values() for f in files)
    if all(order == survey.PARTITION_ORDER for order, _ in groups):
        return source, n_rows, len(groups)
    target = source.parent / f"{source.name}_{name}"
    if target.exists() and read_record(target) != read_record(source):  # the source was rebuilt: so is the copy
        shutil.rmtree(target)
    if not target.exists():
        staging = target.with_name(target.name + ".building")
        shutil.rmtree(staging, ignore_errors=True)
        catalog = staging / "survey"
        for (order, pixel), files in groups.items():
            table = pa.concat_tables(pq.read_table(f) for f in files)
            out = Path(pixel_catalog_file(catalog, HealpixPixel(order, pixel)).path)
            out.parent.mkdir(parents=True, exist_ok=True)
            kwargs = get_parquet_write_table_kwargs(table.schema, write_table_kwargs=survey.PARQUET_COMPRESSION)
            pq.write_table(table, out, **kwargs)
        PartitionInfo.from_healpix([HealpixPixel(o, p) for o, p in sorted(groups)]).write_to_file(
            catalog / "partition_info.csv"
        )
        write_parquet_metadata(catalog)
        shutil.copy(source / "survey" / "hats.properties", catalog / "hats.properties")
        shutil.copy(source / "collection.properties", staging / "collection.properties")
        shutil.copy(source / MARKER_FILE, staging / MARKER_FILE)
        staging.rename(target)
    return target, n_rows, len(groups)


def layouts(source: Path, orders, thresholds) -> list[tuple[str, Path, int, int, list[int]]]:
    """``(label, path, rows, partitions, sorted partition sizes)`` of each layout asked for."""
    out = []
    named = [(f"order {o}", f"order{o}", fixed_order_groups(source, o)) for o in orders]
    named += [(f"adaptive <= {t:,}", f"adaptive{t}", adaptive_groups(source, t)) for t in thresholds]
    for label, name, groups in named:
        path, n_rows, n_partitions = regrouped_copy(source, name, groups)
        sizes = sorted(sum(pq.ParquetFile(f).metadata.num_rows for f in files) for files in groups.values())
        out.append((label, path, n_rows, n_partitions, sizes))
    return out


def uptime() -> str:
    """The ``uptime`` line (load average of the shared machine)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def parse_layout_arguments(description: str, argv, orders: list[int], thresholds: list[int]):
    """Parse ``--area --orders --thresholds --repeat``, quieten warnings and Dask's logs, and make the layouts.

    Returns
    -------
    args : argparse.Namespace
    catalogs : list
        As :func:`layouts` returns them.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--area", type=float, default=70.0, help="survey area, deg^2 (70: about 10^7 rows)")
    parser.add_argument("--orders", type=int, nargs="*", default=orders, help="fixed partition orders")
    parser.add_argument("--thresholds", type=int, nargs="*", default=thresholds, help="adaptive: most rows a part")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repeats; the best time is kept")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    return args, layouts(survey_path(args.area), args.orders, args.thresholds)


def main(argv=None) -> int:
    args, catalogs = parse_layout_arguments(__doc__.splitlines()[0], argv, [6, 5, 4], [600_000, 1_000_000])
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
        f"{'layout':22s} {'parts':>5s} {'rows/part min-median-max':>26s} {'pyarrow s':>16s} {'1 worker s':>16s} "
        f"{'1w/pa':>5s} {'2 workers s':>16s} {'1w/2w':>5s}"
    )
    met = []
    for k, (label, _, _, n_partitions, sizes) in enumerate(catalogs):
        base, one, two = (min(seconds[(route, k)]) for route in routes)
        spans = [f"{min(seconds[(r, k)]):5.2f} [{max(seconds[(r, k)]):5.2f}]" for r in routes]
        met.append(one / base <= GOAL_ONE_WORKER and one / two >= GOAL_TWO_WORKERS)
        size_text = f"{sizes[0]:,}-{sizes[len(sizes) // 2]:,}-{sizes[-1]:,}"
        print(
            f"{label:22s} {n_partitions:5d} {size_text:>26s} {spans[0]:>16s} {spans[1]:>16s} {one / base:5.2f} "
            f"{spans[2]:>16s} {one / two:5.2f} {'both goals met' if met[-1] else 'missed'}"
        )
    return 0 if any(met) else 1


if __name__ == "__main__":
    sys.exit(main())
