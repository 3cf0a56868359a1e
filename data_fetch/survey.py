"""Simulate a survey of many tracts and write it as a HATS catalog (``python -m data_fetch survey``).

The rows follow the DP1 ``Object`` layout of :mod:`data_fetch.dp1_layout` (names, types, units and descriptions
from sdm_schemas ``dp1.yaml``), plus two columns the DP1 table does not have:

* ``detect_isPrimary`` (DP0.2-era ``Object`` column): the DP1 ``Object`` table holds only primary rows, so it
  has no such flag. This survey keeps the blend *parents* as well (``deblend_nChild > 0``, not primary), so that
  the lesson's primary cut still has something to remove at survey scale;
* the truth of the simulation, prefixed ``truth_``: ``truth_id``, ``truth_type`` (0 star, 1 galaxy, 2 blend
  parent, which is not one true object) and the true AB magnitudes ``truth_mag_{g,r,i}``.

The sky is the lesson's simulated sky (:mod:`data_fetch.population`: Juric et al. 2008 stars, power-law galaxy
counts) measured with the lesson's noise model (:mod:`data_fetch.measure`: depths, PSF widths, extendedness rule,
flag rates), but vectorised and simplified: close pairs stand for blends (a parent and its two children), tracts
are boxes on the sky that do not overlap, so every row is in its tract's inner region.

How it scales. Rows are generated strip by strip (a strip is one row of patches of a tract), so memory holds
one strip of truth at a time. Each strip gets hats' spatial index (``_healpix_29``) and is spooled to disk by
pixel at HEALPix order :data:`MAPPING_ORDER`, :data:`CHUNK_ROWS` rows at a time. The partitions are then chosen as
hats-import chooses them: hats' own ``generate_alignment`` merges the mapping pixels into the coarsest pixels
that hold at most ``partition_rows`` rows (:data:`PARTITION_ROWS`, hats-import's default), so dense sky gets
small pixels and sparse sky large ones. Each partition is read back alone (its mapping pixels' rows), sorted by
``_healpix_29`` and written once as its HATS Parquet file with hats' own settings (``hats.io``), and the
catalog's metadata (``partition_info.csv``, ``dataset/_metadata``, ``hats.properties``,
point map) is written with hats' writers: the same files as ``lsdb.from_dataframe(...).to_hats`` writes, which
``lsdb.open_catalog`` reads. The margin cache (``--margin``) is made as LSDB's margin generator makes it (every
row in the ring of margin-order pixels just outside a partition), partition by partition while the rows are in
memory. A partition is written one mapping pixel at a time (:class:`_PartitionWriter`), so memory is set by the
chunk size and one mapping pixel (about 120,000 rows), neither by the area nor by ``partition_rows``: 516 MB at
most for 70 deg^2 and partitions of up to 707,770 rows (725 MB when a whole partition was held); the cost is
linear in the area. (Version 3 also merged a pixel whose three siblings are empty, which hats-import does not.
Before version 3, every partition was one pixel of order 6, about 110,000
rows: LSDB then spent more of its time per partition than per row, ``benchmarks/survey_partition_size.py``.)
(Before version 2, each chunk went through ``lsdb.from_dataframe`` and the chunk catalogs were joined with
``Catalog.concat``: every row was written twice through Dask, 8.6 minutes for 20 deg^2.)

Safety, as ``python -m data_fetch simulate`` (:mod:`data_fetch.safety`): a lock beside the target, everything
written in a staging folder beside it and renamed into place when complete, with a marker file
:data:`MARKER_FILE` inside; an existing target is replaced (``force=True``) only if it holds that marker.

Determinism. Each strip draws from its own ``numpy.random.SeedSequence(seed, spawn_key=(tract, strip))``, so
the rows do not depend on the chunk size or on the order of the build.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
from tqdm.auto import tqdm  # a widget in a notebook (lesson 10's first run), text on stderr in a terminal

from tutorial_lib.photometry import AB_MAGNITUDE_OF_ONE_NANOJANSKY
from tutorial_lib.repository import describe

from . import SIMULATOR_VERSION
from .dp1_layout import DP1_SCHEMA, dp1_columns
from .measure import (
    AP_CORR_FAILURE_RATE,
    CMODEL_FAILURE_RATE,
    DEPTH_5SIGMA,
    DETECTION_THRESHOLD_SIGMA,
    EXTENDEDNESS_FLUX_RATIO,
    NO_GOOD_PIXELS_RATE,
    PIXEL_SCALE_ARCSEC,
    PSF_CMODEL_NOISE_CORRELATION,
    PSF_FWHM_ARCSEC,
    SATURATED_PSF_COMPRESSION,
    SATURATION_MAG,
    _psf_ratio,
)
from .population import _make_galaxies, _make_stars, _offset
from .safety import SURVEY_MARKER_NAME

__all__ = [
    "BANDS",
    "CATALOG_NAME",
    "CHUNK_ROWS",
    "DEFAULT_AREA_DEG2",
    "DEFAULT_SEED",
    "LESSON_AREA_DEG2",
    "MARKER_FILE",
    "MIN_MARGIN_ARCSEC",
    "LESSON_PARTITION_ROWS",
    "MAPPING_ORDER",
    "PARTITION_ROWS",
    "MIN_AREA_DEG2",
    "SURVEY_VERSION",
    "SurveyError",
    "SurveySummary",
    "TRUTH_TYPES",
    "build_survey",
    "damage",
    "ensure_survey",
    "foreign_files",
    "survey_columns",
    "staleness",
    "survey_schema",
    "tract_boxes",
]

#: Version of the survey's rows: its own layout version and the simulator's, whose population model it draws
#: from, so that a new simulator makes ``--if-stale`` rebuild the survey too.
SURVEY_VERSION = f"4+simulator-{SIMULATOR_VERSION}"
DEFAULT_SEED = 20250630  # the date of Rubin's DP1 release
#: Default area: builds in about a minute on two cores (about 4 million rows).
DEFAULT_AREA_DEG2 = 20.0
BANDS = ("g", "r", "i")
#: Name of the catalog inside the HATS collection (its margin is ``survey_5arcs``).
CATALOG_NAME = "survey"
#: File written into every survey this module makes; a target without it is never replaced.
MARKER_FILE = SURVEY_MARKER_NAME
#: HEALPix order at which rows are first grouped (hats-import's ``highest_healpix_order``), the finest a partition
#: can be: 0.84 deg^2, about 110,000 rows at this depth.
MAPPING_ORDER = 6
#: Most rows in one partition: hats-import's default ``pixel_threshold`` (hats-import 0.8,
#: ``hats_import/catalog/arguments.py``). About 7.5 deg^2 of this survey.
PARTITION_ROWS = 1_000_000
#: Lesson 10's partitions hold at most this many rows, so that its small survey (33,254 rows, the fullest
#: order-6 pixel 16,733) still has several partitions to show: four, of order 6 (with 1,000,000, one of order 4).
LESSON_PARTITION_ROWS = 20_000
#: Radius of the margin cache, arcsec, with ``--margin`` (LSDB's default): enough for crossmatches within a
#: few arcsec. Off by default in the CLI; lesson 10's survey has it (it adds little to the build).
MARGIN_ARCSEC = 5.0
#: Smallest margin: below it the ring of margin pixels around a large partition grows past 10^6 pixels (4 x 2^n
#: at HEALPix order n: 0.1 arcsec is order 21), for margins no crossmatch needs.
MIN_MARGIN_ARCSEC = 0.1
#: Rows held in memory before they are spooled to disk by partition; with one strip's generation, this keeps
#: the build well under 1 GB.
CHUNK_ROWS = 400_000
#: Lesson 10's survey (:func:`ensure_survey`'s default): four tracts, 33,254 rows (default seed), with a margin.
LESSON_AREA_DEG2 = 0.25
#: hats' spatial index column: the nested HEALPix pixel of each row at order 29 (hats ``SPATIAL_INDEX_COLUMN``).
SPATIAL_INDEX_COLUMN = "_healpix_29"
SPATIAL_INDEX_ORDER = 29
#: Compression of the partition files: zstd as hats writes, but at level 1, not hats' 15, which took 4 times
#: the CPU time of the whole rest of the build for 4 % smaller files (measured here on a 11,000-row partition:
#: 0.24 CPU s at level 15, 0.03 s at level 1).
PARQUET_COMPRESSION = {"compression": "zstd", "compression_level": 1}
#: Order of the point map (``point_map.fits``, ``skymap.fits``): LSDB's default, max(8, partition order).
SKYMAP_ORDER = 8
#: Side of a tract, deg (a simplification of Rubin's rings sky map, whose tracts are about 1.5-2 deg across).
TRACT_SIDE_DEG = 1.5
#: Patches per tract side (Rubin's DP1 sky map, lsst_cells_v1, has 10 x 10 patches per tract).
PATCHES_PER_SIDE = 10
#: Centre of the survey's first tract row: near the Extended Chandra Deep Field South, one of DP1's fields.
SURVEY_ORIGIN_DEG = (53.0, -36.0)
#: Largest area this layout can hold: from :data:`SURVEY_ORIGIN_DEG`, its rows of tracts stay below Dec 85 deg
#: and its RA below 360 deg up to about 11,500 deg^2 (1.5e9 rows, some 170 GB).
MAX_AREA_DEG2 = 10_000.0
#: Smallest area: about 130 rows (0.001 deg^2 gave 135 with seed 1). Far below it the tracts' edges round to the
#: same Dec and the layout divides by zero.
MIN_AREA_DEG2 = 0.001
#: Disk used while building, bytes per deg^2: the partition files and the spool (measured here on 2026-12-03,
#: simulator 1.8: 163 MB at the peak and 147 MB once written for 11.25 deg^2; 458 and 410 MB for 31.5 deg^2).
#: The free-space check asks for 1.5 times this.
BUILD_BYTES_PER_DEG2 = 14.5e6
#: Seeds accepted, as for ``data_fetch simulate``: a whole number from 0 to 2**63 - 1.
MAX_SEED = 2**63
#: truth_type codes.
TRUTH_TYPES = {0: "star", 1: "galaxy", 2: "blend parent"}
STAR, GALAXY, PARENT = 0, 1, 2
#: Fraction of detected objects paired with a close companion: the pair is deblended into two children under
#: a parent row. Modelling choice (the lesson's simulator has about 10% of rows in blends).
BLEND_PAIR_FRACTION = 0.04
BLEND_MIN_SEPARATION_ARCSEC = 0.8  #: deblended pairs are more than a PSF FWHM apart
BLEND_MAX_SEPARATION_ARCSEC = 2.5  #: and close enough for their footprints to merge
#: nJy per coadd count at the lesson's zero point 27 (data_fetch.measure.ZERO_POINT).
_NJY_PER_COUNT = 10 ** (-0.4 * (27.0 - AB_MAGNITUDE_OF_ONE_NANOJANSKY))

_EXTRA_COLUMNS = (
    (
        "detect_isPrimary",
        "bool",
        "",
        (
            "DP0.2-era Object column (not in DP1, whose Object table holds only primary rows): True if the source "
            "has no children and is in the inner region of its patch and tract."
        ),
    ),
    ("truth_id", "int64", "", "Simulation truth: id of the true object (-1 for a blend parent)."),
    ("truth_type", "int8", "", "Simulation truth: 0 star, 1 galaxy, 2 blend parent (two true objects)."),
    *(
        (f"truth_mag_{band}", "float32", "mag", f"Simulation truth: true AB magnitude in {band} (total flux).")
        for band in BANDS
    ),
)


class SurveyError(RuntimeError):
    """A survey build that cannot proceed; the message names the problem and the fix."""


@dataclass
class SurveySummary:
    """What :func:`build_survey` wrote."""

    path: Path
    seed: int
    area_deg2: float
    n_tracts: int
    n_rows: int
    n_partitions: int
    seconds: float
    up_to_date: bool = False  #: True when ``if_stale`` found the survey current and wrote nothing


def survey_columns():
    """Name, numpy dtype, unit and description of every column, in the catalog's order.

    Returns
    -------
    list of tuple
        ``(name, dtype, unit, description)``: the DP1 layout for g, r, i, then :data:`_EXTRA_COLUMNS`.
    """
    layout = [(c.name, c.dtype, c.unit, c.description) for c in dp1_columns(BANDS)]
    return layout + [tuple(c) for c in _EXTRA_COLUMNS]


_ARROW_TYPES = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int8": pa.int8(),
    "float64": pa.float64(),
    "float32": pa.float32(),
    "bool": pa.bool_(),
    "str": pa.large_string(),  # as LSDB writes pandas strings
}


def survey_schema() -> pa.Schema:
    """The Arrow schema of the catalog: each field carries its ``unit`` and ``description`` as metadata."""
    fields = []
    for name, dtype, unit, description in survey_columns():
        metadata = {"description": description, **({"unit": unit} if unit else {})}
        fields.append(pa.field(name, _ARROW_TYPES[dtype], metadata=metadata))
    return pa.schema(fields, metadata={"layout": DP1_SCHEMA})


# --------------------------------------------------------------------------------------------------------
# Geometry: tracts as boxes
# --------------------------------------------------------------------------------------------------------
def tract_boxes(area_deg2: float) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """RA and Dec ranges (deg) of each tract of a survey of at least ``area_deg2``.

    Tracts are :data:`TRACT_SIDE_DEG` on a side (smaller for surveys under four tracts' area, so that even a
    tiny survey has four tracts), in rows of constant Dec from :data:`SURVEY_ORIGIN_DEG`, as square a layout
    as possible. Each box covers the same solid angle.
    """
    if not MIN_AREA_DEG2 <= area_deg2 <= MAX_AREA_DEG2:  # NaN fails too
        raise SurveyError(
            f"--area must be a positive number of square degrees, at least {MIN_AREA_DEG2:g} (about 130 rows) and "
            f"at most {MAX_AREA_DEG2:,.0f} (this layout's tracts would otherwise reach the pole or wrap around in "
            f"RA), got {area_deg2}"
        )
    side = min(TRACT_SIDE_DEG, math.sqrt(area_deg2 / 4))
    n_tracts = max(4, math.ceil(area_deg2 / side**2 - 1e-9))
    n_columns = math.ceil(math.sqrt(n_tracts))
    ra0, dec0 = SURVEY_ORIGIN_DEG
    boxes = []
    for index in range(n_tracts):
        row, column = divmod(index, n_columns)
        dec_lo = dec0 + row * side
        dec_hi = dec_lo + side
        # RA width giving a solid angle of side^2 deg^2 between dec_lo and dec_hi.
        sin_width = math.sin(math.radians(dec_hi)) - math.sin(math.radians(dec_lo))
        ra_width = side**2 / (math.degrees(1.0) * sin_width)
        ra_lo = ra0 + column * ra_width
        boxes.append(((ra_lo, ra_lo + ra_width), (dec_lo, dec_hi)))
    return boxes


def _strip_box(box, strip: int):
    (ra_lo, ra_hi), (dec_lo, dec_hi) = box
    sin_lo, sin_hi = math.sin(math.radians(dec_lo)), math.sin(math.radians(dec_hi))
    # Strips of equal solid angle: equal steps in sin(dec).
    step = (sin_hi - sin_lo) / PATCHES_PER_SIDE
    lo = math.degrees(math.asin(sin_lo + strip * step))
    hi = math.degrees(math.asin(sin_lo + (strip + 1) * step))
    return (ra_lo, ra_hi), (lo, hi)


# --------------------------------------------------------------------------------------------------------
# One strip of rows
# --------------------------------------------------------------------------------------------------------
def _true_objects(rng: np.random.Generator, ra_range, dec_range):
    """True stars then galaxies of the box: ra, dec, type, size (arcsec), {band: true mag}."""
    s_ra, s_dec, stars = _make_stars(rng, ra_range, dec_range, faint_limit_r=27.5)
    s_r, s_r_i, s_g_r = stars["r"], stars["r"] - stars["i"], stars["g"] - stars["r"]
    g_ra, g_dec, g_i, g_g_r, g_r_i, g_size = _make_galaxies(rng, ra_range, dec_range)
    mag_r = np.concatenate([s_r, g_i + g_r_i])
    mag = {"r": mag_r, "g": mag_r + np.concatenate([s_g_r, g_g_r]), "i": mag_r - np.concatenate([s_r_i, g_r_i])}
    kind = np.concatenate([np.full(len(s_ra), STAR, np.int8), np.full(len(g_ra), GALAXY, np.int8)])
    size = np.concatenate([np.zeros(len(s_ra)), g_size])
    return np.concatenate([s_ra, g_ra]), np.concatenate([s_dec, g_dec]), kind, size, mag


def _measure(rng, mag, size, n):
    """Forced PSF and CModel fluxes (nJy) with the lesson's noise model; returns a dict of per-band arrays."""
    out = {}
    for band in BANDS:
        flux = 10 ** (-0.4 * (mag[band] - AB_MAGNITUDE_OF_ONE_NANOJANSKY))  # nJy
        sky_sigma = 10 ** (-0.4 * (DEPTH_5SIGMA[band] - AB_MAGNITUDE_OF_ONE_NANOJANSKY)) / DETECTION_THRESHOLD_SIGMA
        ratio = _psf_ratio(size, band)
        psf_true = flux * ratio
        saturated = mag[band] < SATURATION_MAG
        # Saturated cores: the PSF fit loses light, compressing magnitudes brighter than saturation.
        measured_mag = SATURATION_MAG - (SATURATION_MAG - mag[band]) * SATURATED_PSF_COMPRESSION
        psf_true = np.where(saturated, 10 ** (-0.4 * (measured_mag - AB_MAGNITUDE_OF_ONE_NANOJANSKY)), psf_true)
        # Source Poisson noise is negligible against the sky below saturation at this depth; keep the sky's.
        psf_sigma = np.full(n, sky_sigma)
        model_sigma = sky_sigma / np.sqrt(ratio)
        z1 = rng.standard_normal(n)
        z2 = PSF_CMODEL_NOISE_CORRELATION * z1 + math.sqrt(1 - PSF_CMODEL_NOISE_CORRELATION**2) * rng.standard_normal(n)
        psf = psf_true + psf_sigma * z1
        model = flux + model_sigma * z2
        psf_flag = rng.random(n) < NO_GOOD_PIXELS_RATE + AP_CORR_FAILURE_RATE
        model_flag = rng.random(n) < CMODEL_FAILURE_RATE
        out[band] = {
            "psf": np.where(psf_flag, np.nan, psf),
            "psf_err": psf_sigma,
            "psf_flag": psf_flag,
            "model": np.where(model_flag, np.nan, model),
            "model_err": model_sigma,
            "model_flag": model_flag,
            "saturated": saturated,
            "snr": psf / psf_sigma,
        }
    return out


def _extendedness(psf, model):
    """meas_base ``classification.py``: 1 if fluxRatio * modelFlux > psfFlux, else 0; NaN if either is NaN."""
    value = (EXTENDEDNESS_FLUX_RATIO * model > psf).astype(np.float32)
    return np.where(np.isnan(psf) | np.isnan(model), np.float32(np.nan), value)


def _magnitudes(flux, err):
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(flux > 0, AB_MAGNITUDE_OF_ONE_NANOJANSKY - 2.5 * np.log10(flux), np.nan)
        mag_err = np.where(flux > 0, 2.5 / np.log(10) * err / flux, np.nan)
    return mag.astype(np.float32), mag_err.astype(np.float32)


def _strip_rows(seed: int, tract: int, strip: int, box) -> pd.DataFrame:
    """The rows of one strip (one row of patches) of a tract, in the survey layout."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(tract, strip)))
    ra_range, dec_range = _strip_box(box, strip)
    ra, dec, kind, size, mag = _true_objects(rng, ra_range, dec_range)
    truth_id = (np.int64(tract) << 32) + (np.int64(strip) << 24) + np.arange(len(ra), dtype=np.int64)
    measured = _measure(rng, mag, size, len(ra))
    detected = np.zeros(len(ra), bool)
    for band in BANDS:
        detected |= measured[band]["snr"] >= DETECTION_THRESHOLD_SIGMA
    keep = np.flatnonzero(detected)
    ra, dec, kind, size, truth_id = ra[keep], dec[keep], kind[keep], size[keep], truth_id[keep]
    mag = {b: m[keep] for b, m in mag.items()}
    measured = {b: {k: v[keep] for k, v in m.items()} for b, m in measured.items()}
    n = len(ra)

    # Blends: move a companion next to a seed; both become children of a parent row.
    n_pairs = int(BLEND_PAIR_FRACTION * n)
    order = rng.permutation(n)
    seeds, companions = order[:n_pairs], order[n_pairs : 2 * n_pairs]
    ra[companions], dec[companions] = _offset(
        rng, ra[seeds], dec[seeds], n_pairs, BLEND_MIN_SEPARATION_ARCSEC, BLEND_MAX_SEPARATION_ARCSEC
    )
    ra = np.clip(ra, *ra_range)
    dec = np.clip(dec, *dec_range)

    columns: dict[str, np.ndarray] = {}
    for band in BANDS:
        m = measured[band]
        # Parent: the sum of its children's fluxes, measured as one extended source.
        psf = np.concatenate([m["psf"], m["psf"][seeds] + m["psf"][companions]])
        psf_err = np.concatenate([m["psf_err"], np.hypot(m["psf_err"][seeds], m["psf_err"][companions])])
        model = np.concatenate([m["model"], m["model"][seeds] + m["model"][companions]])
        model_err = np.concatenate([m["model_err"], np.hypot(m["model_err"][seeds], m["model_err"][companions])])
        psf_flag = np.concatenate([m["psf_flag"], m["psf_flag"][seeds] | m["psf_flag"][companions]])
        model_flag = np.concatenate([m["model_flag"], m["model_flag"][seeds] | m["model_flag"][companions]])
        saturated = np.concatenate([m["saturated"], m["saturated"][seeds] | m["saturated"][companions]])
        extendedness = _extendedness(psf, model)
        extendedness[n:] = np.where(np.isnan(extendedness[n:]), np.nan, 1.0)  # a pair is never point-like
        psf_mag, psf_mag_err = _magnitudes(psf, psf_err)
        columns[f"{band}_psfFlux"] = psf
        columns[f"{band}_psfFluxErr"] = psf_err
        columns[f"{band}_psfFlux_flag"] = psf_flag
        columns[f"{band}_psfMag"] = psf_mag
        columns[f"{band}_psfMagErr"] = psf_mag_err
        columns[f"{band}_cModelFlux"] = model
        columns[f"{band}_cModelFluxErr"] = model_err
        columns[f"{band}_cModel_flag"] = model_flag
        columns[f"{band}_extendedness"] = extendedness
        columns[f"{band}_extendedness_flag"] = np.isnan(extendedness)
        columns[f"{band}_pixelFlags_saturatedCenter"] = saturated

    flux_i_seed = 10 ** (-0.4 * mag["i"][seeds])
    flux_i_comp = 10 ** (-0.4 * mag["i"][companions])
    weight = flux_i_seed / (flux_i_seed + flux_i_comp)
    parent_ra = weight * ra[seeds] + (1 - weight) * ra[companions]
    parent_dec = weight * dec[seeds] + (1 - weight) * dec[companions]
    ra_all = np.concatenate([ra, parent_ra])
    dec_all = np.concatenate([dec, parent_dec])
    n_rows = n + n_pairs

    object_id = (np.int64(tract) << 32) + (np.int64(strip) << 24) + np.arange(n_rows, dtype=np.int64)
    parent_id = np.zeros(n_rows, np.int64)
    parent_id[seeds] = object_id[n:]
    parent_id[companions] = object_id[n:]
    n_child = np.zeros(n_rows, np.int32)
    n_child[n:] = 2
    in_blend = np.zeros(n_rows, bool)
    in_blend[seeds] = in_blend[companions] = True

    (ra_lo, _), (dec_lo, _) = box
    cos_dec = np.cos(np.radians(dec_all))
    x = (ra_all - ra_lo) * cos_dec * 3600 / PIXEL_SCALE_ARCSEC
    y = (dec_all - dec_lo) * 3600 / PIXEL_SCALE_ARCSEC
    patch_x = np.clip(((ra_all - box[0][0]) / (box[0][1] - box[0][0]) * PATCHES_PER_SIDE).astype(int), 0, 9)
    snr_i = np.maximum(np.abs(columns["i_psfFlux"] / columns["i_psfFluxErr"]), 1.0)
    fwhm_px = PSF_FWHM_ARCSEC["i"] / PIXEL_SCALE_ARCSEC
    size_all = np.concatenate([size, np.maximum(size[seeds], size[companions]) + BLEND_MAX_SEPARATION_ARCSEC])
    footprint = np.pi * (fwhm_px + size_all / PIXEL_SCALE_ARCSEC) ** 2 * (1 + np.log(np.nan_to_num(snr_i, nan=1.0)))

    columns.update(
        objectId=object_id,
        coord_ra=ra_all,
        coord_dec=dec_all,
        tract=np.full(n_rows, tract, np.int64),
        patch=(strip * PATCHES_PER_SIDE + patch_x).astype(np.int64),
        x=x,
        y=y,
        refBand=np.full(n_rows, "i", dtype=object),
        refExtendedness=columns["i_extendedness"],
        parentObjectId=parent_id,
        deblend_nChild=n_child,
        detect_isIsolated=~in_blend,
        detect_fromBlend=in_blend,
        shape_flag=np.zeros(n_rows, bool),
        footprintArea=footprint.astype(np.int32),
        detect_isPrimary=n_child == 0,
        truth_id=np.concatenate([truth_id, np.full(n_pairs, -1, np.int64)]),
        truth_type=np.concatenate([kind, np.full(n_pairs, PARENT, np.int8)]),
    )
    for band in BANDS:
        pair_flux = 10 ** (-0.4 * mag[band][seeds]) + 10 ** (-0.4 * mag[band][companions])
        columns[f"truth_mag_{band}"] = np.concatenate([mag[band], -2.5 * np.log10(pair_flux)])
    frame = {}
    for name, dtype, _, _ in survey_columns():
        frame[name] = columns[name] if dtype == "str" else np.asarray(columns[name], dtype=dtype)
    return pd.DataFrame(frame)


# --------------------------------------------------------------------------------------------------------
# Writing: rows spooled by HEALPix partition, then each partition written once, in the HATS layout
# --------------------------------------------------------------------------------------------------------
class _PartitionSpool:
    """Rows grouped by HEALPix partition pixel and spooled to Arrow IPC fragments in ``folder``.

    Rows wait in memory until :attr:`flush_rows` of them are pending; then every partition's pending rows become
    one fragment file. :meth:`read` returns a partition's rows in the order they were added, whatever the
    flushes, so the result does not depend on ``flush_rows``.
    """

    def __init__(self, folder: Path, flush_rows: int):
        self.folder = folder
        self.flush_rows = flush_rows
        self.pending: dict[int, list[pa.Table]] = {}
        self.n_pending = 0
        self.fragments: dict[int, list[Path]] = {}
        self.counts: dict[int, int] = {}

    def add(self, table: pa.Table, pixels: np.ndarray) -> None:
        """Add the rows of ``table``; ``pixels`` is each row's partition pixel."""
        if len(table) == 0:  # a strip of a very small survey can hold no object
            return
        order = np.argsort(pixels, kind="stable")
        sorted_pixels = pixels[order]
        table = table.take(order)
        starts = np.flatnonzero(np.r_[True, sorted_pixels[1:] != sorted_pixels[:-1]])
        ends = np.r_[starts[1:], len(sorted_pixels)]
        for start, end in zip(starts, ends, strict=True):
            pixel = int(sorted_pixels[start])
            self.pending.setdefault(pixel, []).append(table.slice(start, end - start))
            self.counts[pixel] = self.counts.get(pixel, 0) + int(end - start)
        self.n_pending += len(table)
        if self.n_pending >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        for pixel, pieces in self.pending.items():
            fragments = self.fragments.setdefault(pixel, [])
            path = self.folder / str(pixel) / f"{len(fragments):05d}.arrow"
            path.parent.mkdir(parents=True, exist_ok=True)
            # Arrow IPC, zstd level 1: read back once, so fast beats small (a third of Parquet's CPU time here).
            feather.write_feather(pa.concat_tables(pieces), path, compression="zstd", compression_level=1)
            fragments.append(path)
        self.pending, self.n_pending = {}, 0

    @property
    def pixels(self) -> list[int]:
        return sorted(set(self.fragments) | set(self.pending))

    def read(self, pixel: int) -> pa.Table:
        tables = [feather.read_table(path) for path in self.fragments.get(pixel, [])]
        return pa.concat_tables(tables + self.pending.get(pixel, []))

    def remove(self, pixel: int) -> None:
        """Delete a pixel's spooled rows (once they are written)."""
        shutil.rmtree(self.folder / str(pixel), ignore_errors=True)
        self.pending.pop(pixel, None)


def _spatial_index_order_shift(order: int) -> int:
    """Right shift turning a ``_healpix_29`` spatial index into the nested HEALPix pixel at ``order``."""
    return 2 * (SPATIAL_INDEX_ORDER - order)


def _with_spatial_index(frame: pd.DataFrame) -> tuple[pa.Table, np.ndarray]:
    """The rows as an Arrow table of :func:`survey_schema` plus hats' ``_healpix_29`` column (last, as LSDB
    writes it), and each row's pixel at :data:`MAPPING_ORDER`."""
    from hats.pixel_math.spatial_index import compute_spatial_index

    index = compute_spatial_index(frame["coord_ra"].to_numpy(), frame["coord_dec"].to_numpy())
    table = pa.Table.from_pandas(frame, schema=survey_schema(), preserve_index=False)
    table = table.append_column(pa.field(SPATIAL_INDEX_COLUMN, pa.int64()), pa.array(index, pa.int64()))
    return table, index >> _spatial_index_order_shift(MAPPING_ORDER)


def _partitions(counts: dict[int, int], partition_rows: int) -> dict[tuple[int, int], list[int]]:
    """The partitions, ``{(order, pixel): [its mapping pixels, ascending]}``, in (order, pixel) order: hats'
    ``generate_alignment`` of the rows per mapping pixel, with hats-import's defaults (hats-import 0.8,
    ``ImportArguments``: ``lowest_healpix_order=0``, ``drop_empty_siblings=True``): a pixel whose three siblings
    are empty is not merged into its parent, so a lone patch of sky keeps a small partition.
    (``lsdb.from_dataframe`` also lowers the highest order while every pixel of the lower order holds at most the
    threshold, ``use_lower_order=True``; hats-import does not.)"""
    from hats.pixel_math.partition_stats import generate_alignment

    histogram = np.zeros(12 * 4**MAPPING_ORDER, np.int64)
    histogram[list(counts)] = list(counts.values())
    alignment = generate_alignment(
        histogram, highest_order=MAPPING_ORDER, lowest_order=0, threshold=partition_rows, drop_empty_siblings=True
    )
    partitions: dict[tuple[int, int], list[int]] = {}
    for pixel in sorted(counts):
        order, destination, _ = alignment[pixel]
        partitions.setdefault((int(order), int(destination)), []).append(pixel)
    return dict(sorted(partitions.items()))


def _margin_rings(
    partitions: dict[tuple[int, int], list[int]], margin_arcsec: float
) -> tuple[int, dict[tuple[int, int], list[tuple[tuple[int, int], np.ndarray]]]]:
    """For each partition P, the partitions Q whose margin takes rows from P, with Q's margin pixels inside P.

    The margin of Q is every row in the ring of HEALPix pixels just outside Q at the margin order (the highest
    order whose pixels are wider than the margin), as LSDB's own margin generator
    (``lsdb.loaders.dataframe.margin_catalog_generator``, lsdb 0.11) defines it.

    Returns
    -------
    margin_order : int
    rings : dict
        ``{P: [(Q, sorted margin pixels of Q that lie in P), ...]}``, partitions as ``(order, pixel)``.
    """
    import hats.pixel_math.healpix_shim as healpix
    from hats.pixel_math import get_margin

    margin_order = max(int(healpix.margin2order(margin_thr_arcmin=margin_arcsec / 60.0)), MAPPING_ORDER + 1)
    shift = 2 * (margin_order - MAPPING_ORDER)
    owners = list(partitions)
    mapping_pixels = np.array([pixel for pixels in partitions.values() for pixel in pixels], dtype=np.int64)
    holder_of = np.array([k for k, pixels in enumerate(partitions.values()) for _ in pixels], dtype=np.int64)
    order_of_pixels = np.argsort(mapping_pixels)
    mapping_pixels, holder_of = mapping_pixels[order_of_pixels], holder_of[order_of_pixels]
    rings: dict[tuple[int, int], list[tuple[tuple[int, int], np.ndarray]]] = {}
    for owner in owners:
        order, pixel = owner
        ring = np.asarray(get_margin(order, pixel, margin_order - order), dtype=np.int64)
        parents = ring >> shift  # each margin pixel's mapping pixel, then the partition that holds it (if any)
        at = np.minimum(np.searchsorted(mapping_pixels, parents), len(mapping_pixels) - 1)
        held = mapping_pixels[at] == parents
        holders = np.where(held, holder_of[at], -1)
        for holder in np.unique(holders[held]):
            rings.setdefault(owners[holder], []).append((owner, np.sort(ring[holders == holder])))
    return margin_order, rings


def _sorted_by_index(table: pa.Table) -> pa.Table:
    """The rows sorted by ``_healpix_29`` (stable)."""
    return table.take(np.argsort(table[SPATIAL_INDEX_COLUMN].to_numpy(), kind="stable"))


class _PartitionWriter:
    """One partition file, written with hats' Parquet settings from pieces already in ``_healpix_29`` order (the
    mapping pixels of a partition, in ascending order, are consecutive ranges of the index).

    Rows are buffered into row groups of hats' size (100,000 rows), so the file is the one ``pq.write_table``
    would write from all its rows at once, while memory holds one piece and one row group, however many rows
    the partition has.
    """

    def __init__(self, catalog_dir: Path, partition: tuple[int, int]):
        from hats.io.paths import pixel_catalog_file
        from hats.pixel_math import HealpixPixel

        self.path = Path(pixel_catalog_file(catalog_dir, HealpixPixel(*partition)).path)
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[pa.Table] = []
        self.n_pending = self.n_rows = 0

    def add(self, table: pa.Table) -> None:
        from hats.io.file_io.file_io import get_parquet_write_table_kwargs

        if self.writer is None:
            kwargs = get_parquet_write_table_kwargs(table.schema, write_table_kwargs=PARQUET_COMPRESSION)
            self.row_group_size = kwargs.pop("row_group_size")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, table.schema, **kwargs)
        self.pending.append(table)
        self.n_pending += len(table)
        self.n_rows += len(table)
        while self.n_pending >= self.row_group_size:
            self._write(self.row_group_size)

    def _write(self, n_rows: int) -> None:
        rows = pa.concat_tables(self.pending)
        # One contiguous row group, so its pages split as write_table would split them (not at the pieces' ends)
        self.writer.write_table(rows.slice(0, n_rows).combine_chunks(), row_group_size=self.row_group_size)
        self.pending, self.n_pending = [rows.slice(n_rows)], len(rows) - n_rows

    def __enter__(self) -> _PartitionWriter:
        return self

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            if self.n_pending and exc[0] is None:
                self._write(self.n_pending)
            self.writer.close()


def _write_catalog_metadata(catalog_dir: Path, counts: dict[tuple[int, int], int], properties: dict) -> None:
    """``partition_info.csv``, ``dataset/_metadata`` and ``_common_metadata``, per-partition statistics and
    ``hats.properties`` of a catalog whose partition files are written, with hats' own writers."""
    import hats
    from hats.catalog import PartitionInfo, TableProperties
    from hats.catalog.dataset.hats_properties import HatsProperties
    from hats.pixel_math import HealpixPixel

    partition_info = PartitionInfo.from_healpix([HealpixPixel(*partition) for partition in sorted(counts)])
    partition_info.write_to_file(catalog_dir / "partition_info.csv")
    hats.io.write_parquet_metadata(catalog_dir, create_metadata=True, create_per_partition_stats=True)
    provenance = HatsProperties.new_provenance_dict(catalog_dir, builder=f"data_fetch survey {SURVEY_VERSION}")
    TableProperties(
        ra_column="coord_ra",
        dec_column="coord_dec",
        healpix_column=SPATIAL_INDEX_COLUMN,
        healpix_order=SPATIAL_INDEX_ORDER,
        total_rows=sum(counts.values()),
        hats_order=max(order for order, _ in counts),
        hats_max_rows=max(counts.values()),
        moc_sky_fraction=float(f"{partition_info.calculate_fractional_coverage():.4g}"),
        **properties,
        **provenance,
    ).to_properties_file(catalog_dir)


def _write_hats(
    spool: _PartitionSpool,
    out: Path,
    margin_arcsec: float | None,
    staging: Path,
    progress: bool,
    partition_rows: int = PARTITION_ROWS,
) -> tuple[int, int]:
    """Write the spooled rows as a HATS collection at ``out``: catalog :data:`CATALOG_NAME`, and its margin.

    Returns
    -------
    n_partitions, n_margin_rows : int
    """
    from hats.catalog import CollectionProperties
    from hats.io import file_io, skymap

    catalog_dir = out / CATALOG_NAME
    margin_name = f"{CATALOG_NAME}_{margin_arcsec:g}arcs" if margin_arcsec is not None else None
    partitions = _partitions(spool.counts, partition_rows)
    keys = {partition: key for key, partition in enumerate(partitions)}  # the margin spool's int keys
    if margin_arcsec is not None:
        margin_order, rings = _margin_rings(partitions, margin_arcsec)
        margin_spool = _PartitionSpool(staging / "margin_spool", flush_rows=spool.flush_rows)
    histogram = np.zeros(12 * 4**SKYMAP_ORDER, np.int64)
    counts = {}
    for partition, pixels in tqdm(
        partitions.items(), desc="Writing HATS partitions", unit="partition", disable=not progress
    ):
        with _PartitionWriter(catalog_dir, partition) as writer:
            for pixel in pixels:  # one mapping pixel in memory at a time
                table = _sorted_by_index(spool.read(pixel))
                index = table[SPATIAL_INDEX_COLUMN].to_numpy()
                histogram += np.bincount(index >> _spatial_index_order_shift(SKYMAP_ORDER), minlength=len(histogram))
                writer.add(table)
                if margin_arcsec is not None:
                    fine = index >> _spatial_index_order_shift(margin_order)
                    for owner, ring in rings.get(partition, []):
                        rows = np.flatnonzero(np.isin(fine, ring, assume_unique=False))
                        if len(rows):
                            margin_spool.add(table.take(rows), np.full(len(rows), keys[owner]))
                spool.remove(pixel)
        counts[partition] = writer.n_rows
    file_io.write_fits_image(histogram, catalog_dir / "point_map.fits")
    skymap.write_skymap(histogram=histogram, catalog_dir=catalog_dir)
    _write_catalog_metadata(
        catalog_dir, counts, {"catalog_name": CATALOG_NAME, "catalog_type": "object", "skymap_order": SKYMAP_ORDER}
    )
    n_margin_rows = 0
    if margin_arcsec is not None:
        margin_dir = out / margin_name
        owners = list(partitions)
        margin_counts = {}
        for key in margin_spool.pixels:
            with _PartitionWriter(margin_dir, owners[key]) as writer:
                writer.add(_sorted_by_index(margin_spool.read(key)))
            margin_counts[owners[key]] = writer.n_rows
        n_margin_rows = sum(margin_counts.values())
        if n_margin_rows:  # LSDB 0.11 cannot open an empty margin (its index type differs); none is written
            _write_catalog_metadata(
                margin_dir,
                margin_counts,
                {
                    "catalog_name": margin_name,
                    "catalog_type": "margin",
                    "primary_catalog": CATALOG_NAME,
                    "margin_threshold": margin_arcsec,
                },
            )
    has_margin = n_margin_rows > 0
    CollectionProperties(
        name=CATALOG_NAME,
        hats_primary_table_url=CATALOG_NAME,
        all_margins=[margin_name] if has_margin else None,
        default_margin=margin_name if has_margin else None,
    ).to_properties_file(out)
    return len(counts), n_margin_rows


def _check_target(target: Path, force: bool, shown: str, *, if_stale: bool = False) -> None:
    from . import safety

    if not target.exists():
        safety.require_parent_folder(target, "--out")
    made_here = target.is_dir() and (target / MARKER_FILE).is_file()
    # The lock file and the staging folder go beside the target, replacing or not; only an --if-stale check of a
    # survey shared read-only may go on without writing there (it only reads; see safety.exclusive_lock).
    if not os.access(target.parent, os.W_OK) and not (if_stale and made_here):
        raise SurveyError(f"cannot write in {target.parent}; choose an --out in a folder you can write to.")
    if not target.exists():
        return
    if not made_here:
        empty = safety.empty_folder_fix(target, shown)
        why = f"{shown} exists and was not made by `python -m data_fetch survey` (no {MARKER_FILE} in it"
        if empty:
            raise SurveyError(f"{why}; it is empty); {empty}, or choose another --out.")
        raise SurveyError(f"{why}); it is left alone, even with --force. Choose another --out, or remove it yourself.")
    if not force:
        raise SurveyError(f"{shown} already holds a survey; use --force to replace it, or --out to build elsewhere.")


def staleness(
    path: str | os.PathLike,
    *,
    area_deg2: float,
    seed: int,
    margin_arcsec: float | None,
    partition_rows: int = PARTITION_ROWS,
) -> str | None:
    """Why the survey at ``path`` must be rebuilt (for ``--if-stale``), or None if this version made it with these
    options and it is whole.

    Reads every file (about 1 s per GB) to compare it with the sizes and SHA-256 its marker recorded.

    Returns
    -------
    str or None
        One phrase, as ``it is damaged: survey/dataset/...: missing``; None when the survey is current.
    """
    try:
        record = read_marker(path)
    except SurveyError:
        return f"its {MARKER_FILE} cannot be read"
    if record is None:
        return f"it has no {MARKER_FILE}"
    version = record.get("survey_version")
    if version != SURVEY_VERSION:
        return f"it was made by survey version {str(version)[:30]}, this is version {SURVEY_VERSION}"
    wanted = {
        "seed": seed,
        "area_requested_deg2": area_deg2,
        "margin_arcsec": margin_arcsec,
        "partition_rows": partition_rows,
    }
    other = [f"{key} {str(record.get(key))[:20]}" for key, value in wanted.items() if record.get(key) != value]
    if other:
        return f"it was built with other options ({', '.join(other)})"
    problems = damage(path)
    return f"it is damaged: {describe(problems)}" if problems else None


def read_marker(path: str | os.PathLike) -> dict | None:
    """The build record of a survey made here (seed, area, rows, files...), or None if ``path`` has no marker.

    Raises
    ------
    SurveyError
        The marker is there but cannot be read.
    """
    marker = Path(path) / MARKER_FILE
    if not marker.is_file():
        return None
    try:
        record = json.loads(marker.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SurveyError(
            f"{path} is damaged: its {MARKER_FILE} cannot be read ({error}). Move the folder away (for example "
            f"`mv {path} {path}.old`), then build the survey again."
        ) from None
    if not isinstance(record, dict):
        raise SurveyError(
            f"{path} is damaged: its {MARKER_FILE} is not a build record. Move the folder away (for example "
            f"`mv {path} {path}.old`), then build the survey again."
        )
    return record


def damage(path: str | os.PathLike) -> list[str]:
    """One line per file of the survey at ``path`` that is missing or differs from its marker's record, and per
    file its marker does not record in a ``dataset`` folder (readers such as ``pyarrow.dataset`` take its rows).

    Reads every file; empty when the survey is whole. A marker without file records (an older build) is damage
    too, since nothing can be checked.
    """
    path = Path(path)
    files = (read_marker(path) or {}).get("files")
    if not isinstance(files, dict) or not files:
        return [f"{MARKER_FILE} lists no files to check (an older build, or not a survey)"]
    from .manifest import changed_files, unrecorded_files

    extra = [
        f"{name}: not made by data_fetch, in a dataset folder (readers would take its rows as the survey's)"
        for name in unrecorded_files(path, files, own=(MARKER_FILE,))
        if "dataset" in PurePosixPath(name).parts[:-1]
    ]
    return changed_files(path, files) + extra


def foreign_files(path: str | os.PathLike) -> list[str]:
    """What replacing the survey at ``path`` would delete that its marker does not record (see
    :func:`data_fetch.manifest.unrecorded_files`).

    Raises
    ------
    SurveyError
        The marker cannot be read or records no files (an older build): its own files cannot be told from
        anyone else's.
    """
    from .manifest import unrecorded_files
    from .safety import cannot_tell

    try:
        record = read_marker(path) or {}
    except SurveyError:
        record = None
    files = record.get("files") if record is not None else None
    if not isinstance(files, dict) or not files:
        problem = "cannot be read" if record is None else "records no files (an older build)"
        raise SurveyError(cannot_tell(path, f"{path}: its {MARKER_FILE} {problem}"))
    return unrecorded_files(Path(path), files, own=(MARKER_FILE,))


def build_survey(
    out: str | os.PathLike = "SURVEY",
    *,
    area_deg2: float = DEFAULT_AREA_DEG2,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    if_stale: bool = False,
    progress: bool = True,
    chunk_rows: int = CHUNK_ROWS,
    margin_arcsec: float | None = None,
    partition_rows: int = PARTITION_ROWS,
) -> SurveySummary:
    """Simulate a survey of ``area_deg2`` and write it as a HATS collection at ``out``, atomically.

    Parameters
    ----------
    out : path-like
        Where the HATS collection goes (``out/survey`` is the catalog, ``out/survey_5arcs`` its margin).
    area_deg2 : float
        Area in square degrees; rounded up to whole tracts. About 133,000 rows per deg^2 (simulator 1.7 and
        later); 1e8 rows is about 750 deg^2.
    seed : int
        Random seed; the same seed and area give the same rows.
    force : bool
        Replace an existing survey at ``out`` (only one this function made, marked by :data:`MARKER_FILE`).
    if_stale : bool
        Keep the survey at ``out`` if it is current and whole (:func:`staleness`, checked under the lock;
        then nothing is written and the summary says ``up_to_date``), else replace it as ``force`` does. While
        another process builds the same target, it waits for it (saying so on stderr), then checks.
    progress : bool
        Show progress bars (on stderr).
    chunk_rows : int
        Rows held in memory before they are spooled to disk (sets the peak memory, not the result).
    margin_arcsec : float or None
        Also write a margin cache of this radius (for example :data:`MARGIN_ARCSEC`); None for none.
    partition_rows : int
        Most rows in one partition (hats-import's ``pixel_threshold``); at least the rows of the fullest pixel
        of order :data:`MAPPING_ORDER` (about 120,000 where the survey is complete).

    Returns
    -------
    SurveySummary

    Raises
    ------
    SurveyError
        A bad option, a target it must not replace (or cannot: read-only), or, without ``if_stale``, another build
        of the same target running.
    """
    from . import safety
    from .manifest import file_records

    start = time.perf_counter()
    if margin_arcsec is not None and not MIN_MARGIN_ARCSEC <= margin_arcsec <= 60:
        raise SurveyError(f"--margin must be from {MIN_MARGIN_ARCSEC:g} to 60 arcsec, got {margin_arcsec}")
    if chunk_rows < 1:
        raise SurveyError(f"chunk_rows must be positive, got {chunk_rows}")
    if isinstance(partition_rows, bool) or not isinstance(partition_rows, int) or partition_rows < 1:
        raise SurveyError(f"--partition-rows must be a whole number of rows, 1 or more, got {partition_rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
        raise SurveyError(f"--seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    boxes = tract_boxes(area_deg2)
    options = {"area_deg2": area_deg2, "seed": seed, "margin_arcsec": margin_arcsec, "partition_rows": partition_rows}
    try:
        target = safety.check_target(os.fspath(out), "--out", log=_log, example="SURVEY")
        _check_target(target, force or if_stale, str(out), if_stale=if_stale)
        needed = int(1.5 * BUILD_BYTES_PER_DEG2 * len(boxes) * _box_area(boxes[0]))
        safety.require_free_space(target.parent, needed, f"A survey of --area {area_deg2:g}")
        with safety.exclusive_lock(target, "python -m data_fetch survey", wait=_log if if_stale else None):
            safety.recover(target, _log)
            _check_target(target, force or if_stale, str(out), if_stale=if_stale)  # again, under the lock
            reason = staleness(target, **options) if if_stale and target.exists() else None
            if if_stale and target.exists() and reason is None:
                record = read_marker(target) or {}
                return SurveySummary(
                    target,
                    seed,
                    record["area_deg2"],
                    record["n_tracts"],
                    record["n_rows"],
                    record["n_partitions"],
                    time.perf_counter() - start,
                    up_to_date=True,
                )
            if target.exists():
                _refuse_foreign(target, str(out), reason)
                safety.require_writable(target, os.fspath(out), "--out", reason)
                if reason is not None:
                    _log(f"{out}: {reason}; rebuilding it.")
            staging = safety.make_staging(target, "building")
            try:
                n_rows, n_partitions, n_margin_rows = _build_into(
                    staging, boxes, seed, chunk_rows, margin_arcsec, progress, partition_rows
                )
                area = len(boxes) * _box_area(boxes[0])
                record = {
                    "made_by": "python -m data_fetch survey",
                    "survey_version": SURVEY_VERSION,
                    "seed": seed,
                    "area_deg2": round(area, 4),
                    "area_requested_deg2": area_deg2,
                    "n_tracts": len(boxes),
                    "n_rows": n_rows,
                    "n_partitions": n_partitions,
                    "partition_rows": partition_rows,
                    "margin_arcsec": margin_arcsec,
                    "n_margin_rows": n_margin_rows,
                    "layout": DP1_SCHEMA,
                    "files": file_records(staging / "survey", skip=MARKER_FILE),
                }
                safety.atomic_write(staging / "survey" / MARKER_FILE, (json.dumps(record, indent=1) + "\n").encode())
                _swap_into_place(staging / "survey", target, staging)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except safety.SafetyError as error:
        raise SurveyError(str(error)) from None
    return SurveySummary(target, seed, area, len(boxes), n_rows, n_partitions, time.perf_counter() - start)


def _refuse_foreign(target: Path, shown: str, reason: str | None) -> None:
    """Refuse to replace ``target`` while it holds files data_fetch did not make; the message starts with why it
    needs a rebuild (``reason``), if it does."""
    from . import safety

    try:
        safety.refuse_foreign(target, foreign_files(target))
    except safety.SafetyError as error:
        if reason is None:
            raise
        raise SurveyError(f"{shown} needs a rebuild ({reason}), but {error}") from None


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def _build_into(staging: Path, boxes, seed: int, chunk_rows: int, margin_arcsec, progress: bool, partition_rows: int):
    """Simulate every strip into a spool, then write the HATS collection ``staging/survey``."""
    spool = _PartitionSpool(staging / "spool", flush_rows=chunk_rows)
    n_rows = 0
    strips = [(tract, strip) for tract in range(len(boxes)) for strip in range(PATCHES_PER_SIDE)]
    for tract, strip in tqdm(strips, desc="Simulating tracts", unit=" patch rows", disable=not progress):
        table, pixels = _with_spatial_index(_strip_rows(seed, tract, strip, boxes[tract]))
        spool.add(table, pixels)
        n_rows += len(table)
    spool.flush()
    if not spool.counts:
        raise SurveyError(
            f"a survey of {len(boxes)} tracts of {_box_area(boxes[0]):.2g} deg^2 holds no rows for this seed; "
            "ask for a larger --area. Nothing was written."
        )
    fullest = max(spool.counts.values())
    if fullest > partition_rows:
        raise SurveyError(
            f"--partition-rows {partition_rows:,} is smaller than the {fullest:,} rows of this survey's fullest "
            f"pixel of order {MAPPING_ORDER}, the smallest a partition can be; use at least {fullest:,}. Nothing "
            "was written."
        )
    n_partitions, n_margin_rows = _write_hats(
        spool, staging / "survey", margin_arcsec, staging, progress, partition_rows
    )
    return n_rows, n_partitions, n_margin_rows


def _swap_into_place(new: Path, target: Path, staging: Path) -> None:
    """Rename the complete survey ``new`` onto ``target``; a survey already there (marked, checked again) is
    moved into ``staging`` first. Signals wait until both renames are done; a folder that appeared at
    ``target`` meanwhile is never replaced."""
    from . import safety

    with safety.signals_deferred():
        if os.path.lexists(target):
            if not (target.is_dir() and not target.is_symlink() and (target / MARKER_FILE).is_file()):
                raise SurveyError(f"{target} appeared while the survey was being built; it was left as it is.")
            safety.refuse_foreign(target, foreign_files(target))
            os.rename(target, staging / "previous")
        try:
            safety.rename_noreplace(new, target)
        except FileExistsError:
            raise SurveyError(f"{target} appeared while the survey was being built; it was left as it is.") from None


def ensure_survey(
    path: str | os.PathLike = "SURVEY",
    *,
    area_deg2: float = LESSON_AREA_DEG2,
    seed: int = DEFAULT_SEED,
    margin_arcsec: float | None = MARGIN_ARCSEC,
    partition_rows: int = LESSON_PARTITION_ROWS,
    progress: bool = True,
) -> Path:
    """The survey at ``path``, built first if it is missing, incomplete, or made with other options or another
    version (only a survey this module made is ever replaced).

    For a notebook's data cell: it prints nothing on stdout (a build shows its progress bars on stderr), so
    the cell's stored output is the same whether or not it built.

    Parameters
    ----------
    path : path-like
        The survey's folder.
    area_deg2, seed, margin_arcsec, partition_rows
        As in :func:`build_survey`; the defaults are lesson 10's survey.
    progress : bool
        Progress bars on stderr while building.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    SurveyError
        ``path`` exists but was not made by ``python -m data_fetch survey`` (it is left alone), or the build
        failed.
    """
    path = Path(path)
    if path.exists() and not (path / MARKER_FILE).is_file():
        raise SurveyError(
            f"{path} exists but is not a survey made by `python -m data_fetch survey` (no {MARKER_FILE} in "
            "it), so it is left alone. Move it away, or pass another path; then this builds the survey there."
        )
    read_marker(path)  # a damaged marker is an error, not a reason to replace the folder
    with contextlib.redirect_stdout(sys.stderr):
        build_survey(
            path,
            area_deg2=area_deg2,
            seed=seed,
            margin_arcsec=margin_arcsec,
            partition_rows=partition_rows,
            if_stale=True,
            progress=progress,
        )
    return path


def _box_area(box) -> float:
    (ra_lo, ra_hi), (dec_lo, dec_hi) = box
    return (ra_hi - ra_lo) * math.degrees(math.sin(math.radians(dec_hi)) - math.sin(math.radians(dec_lo)))
