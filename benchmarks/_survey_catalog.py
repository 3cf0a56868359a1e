"""A fast writer of the simulated survey for the benchmarks only: the same rows, the same HATS layout.

``python -m data_fetch survey`` writes each chunk with LSDB (``from_dataframe(...).write_catalog``) and then
joins the chunks, which takes minutes for 10^7 rows here. The benchmarks need catalogs of 10^6 to 10^7 rows,
so this module writes the same catalog directly: the rows are the simulator's own (``data_fetch.survey``'s
``_strip_rows``, tract by tract, strip by strip, with the same seed, so the same rows as ``data_fetch survey``
makes for that area), each row gets its ``_healpix_29`` spatial index (hats' ``compute_spatial_index``), rows
are grouped into the builder's partitions (HEALPix order ``data_fetch.survey.PARTITION_ORDER``) and written one
Parquet file per partition, sorted by ``_healpix_29`` as LSDB writes them; hats writes ``_metadata``,
``_common_metadata``, ``partition_info.csv`` and ``hats.properties``. No margin cache (the benchmarks read
none). The result opens with ``lsdb.open_catalog`` like the builder's.

Memory: each strip's rows are written at once as per-partition fragments, so the peak is one partition's rows
plus one strip, whatever the area.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

#: Marker file of a catalog written here (a target without it is never replaced).
MARKER_FILE = "MADE_BY_BENCHMARKS_SURVEY_CATALOG.json"
#: Changes when the writer changes, so an old catalog is rebuilt.
WRITER_VERSION = 1


def _record(area_deg2: float, seed: int) -> dict:
    from data_fetch import survey

    return {
        "made_by": "benchmarks._survey_catalog (the simulator's rows, written directly as HATS)",
        "writer_version": WRITER_VERSION,
        "survey_version": survey.SURVEY_VERSION,
        "seed": seed,
        "area_requested_deg2": area_deg2,
        "partition_order": survey.PARTITION_ORDER,
    }


def read_record(path: Path) -> dict | None:
    """The marker of a catalog written here, or None."""
    try:
        return json.loads((Path(path) / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None


def write_survey(path: Path, area_deg2: float, *, seed: int | None = None, progress: bool = True) -> dict:
    """Write the simulated survey of ``area_deg2`` as a HATS collection at ``path`` (``path/survey``).

    An existing catalog made here with the same options is kept; one made with other options is replaced;
    anything else at ``path`` is refused.

    Returns
    -------
    dict
        The marker record, with ``n_rows`` and ``n_partitions``.
    """
    from hats.catalog import PartitionInfo, TableProperties
    from hats.io import write_parquet_metadata
    from hats.pixel_math import HealpixPixel
    from hats.pixel_math.spatial_index import compute_spatial_index, spatial_index_to_healpix
    from tqdm.auto import tqdm

    from data_fetch import survey

    seed = survey.DEFAULT_SEED if seed is None else seed
    path = Path(path).absolute()
    wanted = _record(area_deg2, seed)
    old = read_record(path)
    if old is not None and {k: old.get(k) for k in wanted} == wanted:
        return old
    if path.exists() and old is None:
        raise FileExistsError(
            f"{path} exists and was not written by benchmarks._survey_catalog; remove it or choose --out"
        )

    order = survey.PARTITION_ORDER
    schema = survey.survey_schema()  # with LSDB's types: it writes strings as large_string
    schema = pa.schema([f.with_type(pa.large_string()) if f.type == pa.string() else f for f in schema])
    schema = schema.append(pa.field("_healpix_29", pa.int64()))
    boxes = survey.tract_boxes(area_deg2)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.building-", dir=path.parent))
    try:
        fragments = staging / "fragments"
        strips = [(tract, strip) for tract in range(len(boxes)) for strip in range(survey.PATCHES_PER_SIDE)]
        for k, (tract, strip) in enumerate(tqdm(strips, desc="Simulating strips", unit="strip", disable=not progress)):
            frame = survey._strip_rows(seed, tract, strip, boxes[tract])
            index = compute_spatial_index(frame["coord_ra"].to_numpy(), frame["coord_dec"].to_numpy())
            frame["_healpix_29"] = index
            table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False).replace_schema_metadata(None)
            pixel = spatial_index_to_healpix(index, order)
            for p in np.unique(pixel):
                (fragments / str(p)).mkdir(parents=True, exist_ok=True)
                feather.write_feather(  # uncompressed Arrow: the fragments are read once, soon
                    table.filter(pa.array(pixel == p)),
                    fragments / str(p) / f"{k:06d}.arrow",
                    compression="uncompressed",
                )
        catalog = staging / "collection" / survey.CATALOG_NAME
        pixels = sorted(int(p.name) for p in fragments.iterdir())
        n_rows = 0
        for p in tqdm(pixels, desc="Writing partitions", unit="partition", disable=not progress):
            table = pa.concat_tables(feather.read_table(f) for f in sorted((fragments / str(p)).iterdir()))
            table = table.sort_by("_healpix_29")
            n_rows += table.num_rows
            target = catalog / "dataset" / f"Norder={order}" / f"Dir={p // 10_000 * 10_000}" / f"Npix={p}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, target)
            shutil.rmtree(fragments / str(p))
        healpix = [HealpixPixel(order, p) for p in pixels]
        PartitionInfo.from_healpix(healpix).write_to_file(catalog / "partition_info.csv")
        write_parquet_metadata(catalog)
        TableProperties(
            catalog_name=survey.CATALOG_NAME,
            catalog_type="object",
            total_rows=n_rows,
            ra_column="coord_ra",
            dec_column="coord_dec",
            healpix_column="_healpix_29",
            healpix_order=29,
        ).to_properties_file(catalog)
        (catalog.parent / "collection.properties").write_text(
            f"#HATS Collection\nobs_collection={survey.CATALOG_NAME}\nhats_primary_table_url={survey.CATALOG_NAME}\n"
        )
        record = {**wanted, "n_rows": n_rows, "n_partitions": len(pixels), "n_tracts": len(boxes)}
        (catalog.parent / MARKER_FILE).write_text(json.dumps(record, indent=1) + "\n")
        if path.exists():
            shutil.rmtree(path)  # only a catalog written here gets this far
        (catalog.parent).rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record
