"""Histograms of a survey catalog per criteria bitmask, computed in one pass on the Dask cluster.

Each row's criteria are packed into a bitmask (:func:`tutorial_lib.survey.criteria.pack_bitmask`); with ``n``
criteria there are ``2**n`` bitmask values. One pass over the rows (``Catalog.map_partitions``, then a tree of
sums on the cluster) counts, for every bitmask value,

* the rows, and the rows with ``i_psfMag <= edge`` for each faint-limit edge (0.1 mag steps);
* the same split by ``truth_type`` when the catalog has the truth columns;
* a colour-magnitude histogram for each colour (the density CMD);
* a HEALPix sky histogram for each faint-limit edge.

A selection (ticked criteria and a faint limit) is then a sum of these arrays over the bitmask values that pass
the ticked criteria (:func:`tutorial_lib.survey.criteria.passing_bitmasks`): the rows are never read again.
A faint limit on an edge gives exactly the count of ``i_psfMag <= faint``, as LSDB's ``query`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from ..lesson import COLOURS, FAINT_RANGE, REFERENCE_BAND
from .criteria import SURVEY_CRITERIA, criterion_names, pack_bitmask, require_columns

__all__ = [
    "COLOURS",
    "MAX_SKY_PIXELS",
    "HistogramSpec",
    "SurveyHistograms",
    "compute_survey_histograms",
    "count_rows",
    "boxed",
    "ROWS_PER_TASK",
    "map_and_sum",
    "partition_histograms",
    "partition_file_rows",
    "sum_partition_results",
]

#: Truth classes of the simulated survey's ``truth_type`` column (data_fetch.survey.TRUTH_TYPES).
TRUTH_CLASSES = ("star", "galaxy", "blend parent")
#: Upper bound on the sky histogram's HEALPix pixels (its resolution is chosen to stay under it).
MAX_SKY_PIXELS = 1024
_FAINT_STEP = 0.1
#: Rows a task of :func:`map_and_sum` reads, about: a task costs a round trip to the scheduler, so it should
#: hold enough work; but there should be several tasks per worker, so that the workers finish together.
#: ``benchmarks/survey_speed.py`` on 9.7 million rows: batches of 8 partitions of about 115,000 rows were the
#: fastest of 1, 2, 4 and 8, for 1 and 2 workers.
ROWS_PER_TASK = 1_000_000


def _grid(lo: float, hi: float, step: float) -> np.ndarray:
    """Edges from lo to hi by step, each rounded to the decimal the step implies (18.1, not 18.099999...)."""
    n = int(round((hi - lo) / step))
    return np.round(lo + step * np.arange(n + 1), 6)


@dataclass(frozen=True)
class HistogramSpec:
    """What to histogram: criteria, bins, sky resolution.

    Attributes
    ----------
    criteria : tuple of str
        Criteria packed into the bitmask, in bit order.
    band : str
        Band of the magnitude axis and the faint limit.
    faint_edges : numpy.ndarray
        Faint limits the counts are exact for (AB mag, 0.1 mag steps over the explorer's range).
    mag_edges, colour_edges : numpy.ndarray
        Bins of the CMD image (mag, colour), aligned with the faint edges.
    sky_order : int
        HEALPix order of the sky histogram.
    sky_pixels : numpy.ndarray
        The sorted NESTED pixel numbers the sky histogram covers (every pixel inside the catalog's partitions).
    truth : bool
        Whether to split counts by ``truth_type``.
    """

    criteria: tuple[str, ...]
    sky_order: int
    sky_pixels: np.ndarray = field(repr=False)
    band: str = REFERENCE_BAND
    faint_edges: np.ndarray = field(default_factory=lambda: _grid(*FAINT_RANGE, _FAINT_STEP), repr=False)
    mag_edges: np.ndarray = field(default_factory=lambda: _grid(14.0, 28.0, _FAINT_STEP), repr=False)
    colour_edges: np.ndarray = field(default_factory=lambda: _grid(-0.8, 2.6, 0.025), repr=False)
    truth: bool = True

    @property
    def n_bitmasks(self) -> int:
        return 2 ** len(self.criteria)

    def columns(self) -> list[str]:
        """Columns one pass reads."""
        names = [c for name in self.criteria for c in SURVEY_CRITERIA[name].columns]
        names += [f"{b}_psfMag" for pair in COLOURS.values() for b in pair]
        if self.truth:
            names.append("truth_type")
        return list(dict.fromkeys(names))

    @classmethod
    def for_catalog(
        cls, catalog, criteria: Sequence[str], *, truth: bool | None = None, max_sky_pixels: int = MAX_SKY_PIXELS
    ) -> HistogramSpec:
        """A spec covering the partitions of an LSDB catalog, with the finest sky order under ``max_sky_pixels``."""
        pixels = catalog.get_healpix_pixels()
        if not pixels:
            raise ValueError(
                "the catalog has no partitions, so there is nothing to explore (a cone or box search outside the "
                "survey?): search inside the survey, or explore the whole catalog"
            )
        orders = [p.order for p in pixels]
        order = max(orders)
        while order < 13 and sum(4 ** (order + 1 - o) for o in orders) <= max_sky_pixels:
            order += 1
        sky = np.concatenate(
            [np.arange(p.pixel * 4 ** (order - p.order), (p.pixel + 1) * 4 ** (order - p.order)) for p in pixels]
        )
        if truth is None:
            truth = "truth_type" in catalog.all_columns
        names = criterion_names(criteria)
        if len(names) > 8:
            raise ValueError(f"at most 8 criteria fit in the explorer's uint8 bitmask, got {len(names)}")
        return cls(tuple(names), order, np.sort(sky), truth=truth)


def _float(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.Series(frame[column]).to_numpy(dtype=float, na_value=np.nan)


def _sky_index(frame: pd.DataFrame, spec: HistogramSpec) -> np.ndarray:
    from hats.pixel_math.spatial_index import spatial_index_to_healpix

    if frame.index.name == "_healpix_29":
        spatial_index = np.asarray(frame.index.to_numpy(), dtype=np.int64)
        pixels: np.ndarray = spatial_index_to_healpix(spatial_index, spec.sky_order)
    else:  # a plain DataFrame (tests): from the coordinates
        from hats.pixel_math.healpix_shim import radec2pix

        pixels = np.asarray(radec2pix(spec.sky_order, _float(frame, "coord_ra"), _float(frame, "coord_dec")))
    index = np.searchsorted(spec.sky_pixels, pixels)
    if len(index) and (index.max() >= len(spec.sky_pixels) or np.any(spec.sky_pixels[index] != pixels)):
        raise ValueError("a row lies outside the sky pixels of the histogram spec; build the spec from this catalog")
    return index


def partition_histograms(frame: pd.DataFrame, spec: HistogramSpec) -> dict[str, np.ndarray]:
    """Every histogram of one partition (runs on a worker). See the module docstring.

    Returns
    -------
    dict of str to numpy.ndarray
        ``count`` (bitmask), ``count_le`` (bitmask, faint edge; rows with mag <= edge, not cumulated yet:
        per bin, the last bin holding rows fainter than every edge or without a magnitude), ``truth_le``
        (bitmask, truth class, bin), ``cmd:<colour>`` (bitmask, colour bin ``[lo, hi)``, mag bin ``(lo, hi]``),
        ``sky_le`` (bitmask, bin, sky pixel).
    """
    n_masks, n_edges = spec.n_bitmasks, len(spec.faint_edges)
    bitmask = pack_bitmask(frame, spec.criteria).astype(np.int64)
    mag = _float(frame, f"{spec.band}_psfMag")
    # Bin j (< n_edges) holds edge[j-1] < mag <= edge[j]; NaN sorts after every edge, into bin n_edges.
    mag_bin = np.searchsorted(spec.faint_edges, mag, side="left")
    out = {
        "count": np.bincount(bitmask, minlength=n_masks),
        "count_le": np.bincount(bitmask * (n_edges + 1) + mag_bin, minlength=n_masks * (n_edges + 1)).reshape(
            n_masks, n_edges + 1
        ),
    }
    if spec.truth:
        kind = pd.Series(frame["truth_type"]).to_numpy(dtype=np.int64, na_value=len(TRUTH_CLASSES))
        known = (kind >= 0) & (kind < len(TRUTH_CLASSES))
        kind = np.where(known, kind, len(TRUTH_CLASSES))  # any other code, or none, goes to a last class
        n_kinds = len(TRUTH_CLASSES) + 1
        flat = (bitmask * n_kinds + kind) * (n_edges + 1) + mag_bin
        out["truth_le"] = np.bincount(flat, minlength=n_masks * n_kinds * (n_edges + 1)).reshape(
            n_masks, n_kinds, n_edges + 1
        )
    # CMD magnitude bins hold edge[k] < mag <= edge[k+1], as the faint bins do, so that a row exactly at the
    # faint limit is drawn as well as counted (np.histogram's bins would hold their lower edge instead).
    cmd_mag = np.searchsorted(spec.mag_edges, mag, side="left") - 1
    n_colours, n_mags = len(spec.colour_edges) - 1, len(spec.mag_edges) - 1
    for name, (blue, red) in COLOURS.items():
        colour = _float(frame, f"{blue}_psfMag") - _float(frame, f"{red}_psfMag")
        cmd_colour = np.searchsorted(spec.colour_edges, colour, side="right") - 1
        inside = (cmd_mag >= 0) & (cmd_mag < n_mags) & (cmd_colour >= 0) & (cmd_colour < n_colours)
        flat = (bitmask[inside] * n_colours + cmd_colour[inside]) * n_mags + cmd_mag[inside]
        out[f"cmd:{name}"] = np.bincount(flat, minlength=n_masks * n_colours * n_mags).reshape(
            n_masks, n_colours, n_mags
        )
    sky = _sky_index(frame, spec)
    n_sky = len(spec.sky_pixels)
    out["sky_le"] = np.bincount(
        (bitmask * (n_edges + 1) + mag_bin) * n_sky + sky, minlength=n_masks * (n_edges + 1) * n_sky
    ).reshape(n_masks, n_edges + 1, n_sky)
    return out


def _add(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: a[key] + b[key] for key in a}


def sum_partition_results(per_partition, *, split_every: int = 8, groups: Sequence[Sequence[int]] | None = None):
    """Sum per-partition results (dicts of arrays, or arrays) on the cluster, as a tree of sums.

    Each task of the cluster takes a group of partitions (``groups``, or ``split_every`` consecutive ones): it
    runs their tasks (read, select, the function) one partition after the other, with Dask's synchronous
    scheduler inside the task, and sums their results; the tasks' sums are then summed in a tree. A task of the
    cluster costs a round trip to the scheduler, which for one partition of 10^5 rows costs about as much as
    the work (``benchmarks/survey_speed.py``: on 118 partitions, 1 worker 4.05 s with a task per partition,
    3.33 s with 8 partitions per task; 2 workers 3.33 s and 2.30 s). Memory still holds one partition at a time.

    Parameters
    ----------
    per_partition : lsdb.Catalog, dask Series or list of dask.delayed
        What ``Catalog.map_partitions(f)`` returns when ``f`` returns arrays or dicts of arrays.
    split_every : int
        Partitions per task when ``groups`` is None, and results summed per task of the tree (at least 2).
    groups : sequence of sequences of int, optional
        The partitions (positions) of each task; together, every partition once.

    Returns
    -------
    dask.delayed.Delayed
        Compute it (``dask.compute(result)``) to get the total on the client.
    """
    import dask

    if split_every < 1:
        raise ValueError(f"split_every must be a whole number of partitions per task, 1 or more, not {split_every}")
    parts = per_partition.to_delayed() if hasattr(per_partition, "to_delayed") else list(per_partition)
    if not parts:
        raise ValueError("the catalog has no partitions to sum (is the selection empty of pixels?)")
    if groups is None:
        groups = [range(i, min(i + split_every, len(parts))) for i in range(0, len(parts), split_every)]
    elif sorted(i for group in groups for i in group) != list(range(len(parts))):
        raise ValueError(f"groups must hold each of the {len(parts)} partitions once")
    level = [_summed_in_one_task([parts[i] for i in group]) for group in groups]
    width = max(split_every, 2)  # each sum of the tree adds at least two results, so the tree ends
    while len(level) > 1:
        level = [dask.delayed(_sum_many)(level[i : i + width]) for i in range(0, len(level), width)]
    return level[0]


def partition_file_rows(catalog) -> list[int] | None:
    """The rows of each partition's file, in partition order, from the row groups listed in the catalog's
    ``dataset/_metadata`` (no partition is read); None for a catalog made in memory or without that file.

    A filtered catalog (a cone search, a selection) gives the rows of the files it reads, not the rows it keeps.
    (hats' ``per_pixel_statistics`` gives the same counts, but it took 70 ms against 8 ms on 29 partitions:
    it reads every column's statistics.)
    """
    from hats.io import file_io, paths

    if catalog.hc_structure.catalog_base_dir is None:  # made in memory: nothing on disk to ask
        return None
    try:
        metadata = file_io.read_parquet_metadata(
            paths.get_parquet_metadata_pointer(catalog.hc_structure.catalog_base_dir)
        )
    except (OSError, pa.ArrowInvalid):  # no _metadata (it is optional in HATS), or not a Parquet footer
        return None
    rows: dict = {}
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        pixel = paths.get_healpix_from_path(group.column(0).file_path)
        rows[pixel] = rows.get(pixel, 0) + group.num_rows
    pixels = catalog.get_healpix_pixels()
    return [rows[pixel] for pixel in pixels] if all(pixel in rows for pixel in pixels) else None


def _groups_by_rows(rows: Sequence[int], rows_per_task: int) -> list[list[int]]:
    """Consecutive groups of partitions, each about ``rows_per_task`` rows and all of about the same rows."""
    cumulative = np.r_[0, np.cumsum(rows)]  # rows before each partition, and in all
    n_groups = max(1, min(len(rows), int(np.ceil(cumulative[-1] / rows_per_task))))
    targets = cumulative[-1] * np.arange(1, n_groups) / n_groups
    after = np.searchsorted(cumulative, targets)  # the first edge at or past each target, or the edge before it:
    before = np.maximum(after - 1, 0)  # whichever is nearer
    cuts = np.where(targets - cumulative[before] < cumulative[after] - targets, before, after)
    edges = np.unique(np.r_[0, cuts, len(rows)])
    return [list(range(a, b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


class _Graph:
    """A Dask graph carried whole as one task's argument (Dask does not look inside an object of a class)."""

    def __init__(self, graph: Mapping, key):
        self.graph, self.key = dict(graph), key


def _summed_in_one_task(parts):
    """One task that computes ``parts`` (delayed partitions of ``map_partitions``'s output) and sums them."""
    import dask
    from dask.optimization import cull

    total = dask.delayed(_sum_many)(list(parts), unwrap=True)
    graph, _ = cull(dict(total.__dask_graph__()), [total.key])
    return dask.delayed(_compute_here)(_Graph(graph, total.key))


def _compute_here(graph: _Graph):
    """Compute a graph with Dask's synchronous scheduler, in the task that calls it (on a worker)."""
    import dask

    return dask.get(graph.graph, graph.key)


def map_and_sum(catalog, function, *args, split_every: int | None = None, rows_per_task: int = ROWS_PER_TASK, **kwargs):
    """``function(partition, *args, **kwargs)`` on every partition of an LSDB catalog, summed on the cluster.

    Each task of the cluster reads, selects, maps and adds a group of consecutive partitions (see
    :func:`sum_partition_results`): groups of about ``rows_per_task`` rows, all of about the same rows so that
    the workers finish together (:func:`partition_file_rows`); or ``split_every`` partitions each.

    Parameters
    ----------
    catalog : lsdb.Catalog
    function : callable
        Returns an array, or a dict of arrays, of the same shapes for every partition.
    split_every : int, optional
        Partitions per task, instead of grouping by rows (also when the catalog's rows per partition are not
        known: 8 then).
    rows_per_task : int
        Rows per task, about, when grouping by rows.

    Returns
    -------
    dask.delayed.Delayed
        Compute it (``dask.compute(result)``) to get the total on the client; no row leaves the workers.
    """
    # A one-column frame meta keeps the result an LSDB catalog, whose partitions `to_delayed` hands over
    # directly (a Series would add two conversion tasks per partition); the result of `boxed` is not the
    # rows, so LSDB's check of each result against its meta only costs time.
    if isinstance(rows_per_task, bool) or not isinstance(rows_per_task, int) or rows_per_task < 1:
        raise ValueError(f"rows_per_task must be a whole number of rows, 1 or more, not {rows_per_task!r}")
    per_partition = catalog.map_partitions(boxed, function, *args, meta=_BOXED_META, verify_meta=False, **kwargs)
    rows = partition_file_rows(catalog) if split_every is None else None
    if rows is None:
        return sum_partition_results(per_partition, split_every=8 if split_every is None else split_every)
    return sum_partition_results(per_partition, groups=_groups_by_rows(rows, rows_per_task))


#: Meta of ``map_partitions(boxed, ...)``: one object column holding each partition's result.
_BOXED_META = pd.DataFrame({"result": pd.Series(dtype=object)})


def boxed(frame, function, *args, **kwargs) -> np.ndarray:
    """``function(frame, ...)`` in a one-element object array, so ``map_partitions`` keeps a dict result whole."""
    box = np.empty(1, dtype=object)
    box[0] = function(frame, *args, **kwargs)
    return box


def _unwrap(part):
    """The function's result from a partition of ``map_partitions``'s output (a one-row frame or series)."""
    if isinstance(part, pd.DataFrame):
        part = part.iloc[:, 0]
    value = part.iloc[0] if isinstance(part, pd.Series) else part
    if isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value[0]  # the box of `boxed`
    return value


def _sum_many(results, unwrap: bool = False):
    """Sum of results (arrays or dicts of arrays); of partitions of ``map_partitions``'s output if ``unwrap``."""
    if unwrap:  # a Series partition is a one-element pandas Series holding the function's result
        results = [_unwrap(part) for part in results]
    total = results[0]
    for result in results[1:]:
        total = _add(total, result) if isinstance(total, Mapping) else total + result
    return total


def count_rows(catalog) -> int:
    """Number of rows of an LSDB catalog (or of a query of one), counted on the cluster without collecting them."""
    import dask

    if catalog.npartitions == 0:  # e.g. a cone search off the survey: no partition, so no row
        return 0
    (total,) = dask.compute(map_and_sum(catalog, len))
    return int(np.sum(total))


@dataclass
class SurveyHistograms:
    """The histograms of a whole catalog (the sum of :func:`partition_histograms` over its partitions).

    Attributes
    ----------
    spec : HistogramSpec
    arrays : dict of str to numpy.ndarray
        ``count_le``, ``truth_le`` and ``sky_le`` are cumulated over the faint bins: index j counts rows with
        ``mag <= faint_edges[j]``, and the last index every row.
    n_partitions : int
        Partitions read in the one pass.
    """

    spec: HistogramSpec
    arrays: dict[str, np.ndarray]
    n_partitions: int

    @property
    def n_rows(self) -> int:
        return int(self.arrays["count"].sum())

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())


def _cumulate(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(arrays)
    for key in ("count_le", "truth_le", "sky_le"):
        if key in out:
            axis = 1 if key != "truth_le" else 2
            out[key] = np.cumsum(out[key], axis=axis)
    return out


def compute_survey_histograms(catalog, criteria: Sequence[str], *, truth: bool | None = None) -> SurveyHistograms:
    """One pass over an LSDB catalog: every histogram the survey explorer needs, reduced on the cluster.

    Parameters
    ----------
    catalog : lsdb.Catalog
        The survey (opened with at least the columns of ``HistogramSpec.columns()``).
    criteria : sequence of str
        Criteria to pack, in bit order (names from :data:`tutorial_lib.survey.criteria.SURVEY_CRITERIA`).
    truth : bool or None
        Split the counts by ``truth_type`` (default: if the catalog has that column).

    Returns
    -------
    SurveyHistograms
    """
    import dask

    spec = HistogramSpec.for_catalog(catalog, criteria, truth=truth)
    require_columns(catalog, spec.columns(), "the explorer's histograms")
    (total,) = dask.compute(map_and_sum(catalog, partition_histograms, spec))
    return SurveyHistograms(spec, _cumulate(total), catalog.npartitions)
