"""The column layout of Rubin Data Preview 1's ``Object`` table, for the subset of columns the lessons use.

Names, types, units and descriptions are copied from the DP1 schema, ``python/lsst/sdm/schemas/dp1.yaml`` of
``lsst/sdm_schemas`` (commit bbb8cfd, 2026-08-21), table ``Object`` (1,296 columns; this is the subset that the
simulator can fill from its truth and measurements). Era: DP1 (2025). The DP1 ``Object`` table holds only
deblended, unique ("primary") objects, so it has neither ``detect_isPrimary`` nor ``sky_object``; fluxes are
calibrated, in nJy. Both the per-tract ``object`` dataset of the simulated Butler repository and the simulated
HATS survey catalog are written with this layout, so code that reads one reads the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import astropy.units as u

__all__ = ["DP1_SCHEMA", "DP1Column", "dp1_columns", "object_table_columns"]

#: Version of the schema the layout was copied from.
DP1_SCHEMA = "lsst/sdm_schemas python/lsst/sdm/schemas/dp1.yaml @ bbb8cfd (2026-08-21), table Object"


@dataclass(frozen=True)
class DP1Column:
    """One column of the DP1 ``Object`` table.

    Attributes
    ----------
    name : str
        Column name in ``dp1.yaml``.
    dtype : str
        numpy dtype of the column (``dp1.yaml`` ``long`` -> int64, ``int`` -> int32, ``double`` -> float64,
        ``float`` -> float32, ``boolean`` -> bool, ``char`` -> str).
    unit : str
        IVOA unit string from ``dp1.yaml`` (empty when dimensionless).
    description : str
        Description from ``dp1.yaml``.
    """

    name: str
    dtype: str
    unit: str
    description: str


_COMMON = (
    ("objectId", "int64", "", "Unique id. Unique ObjectID"),
    ("coord_ra", "float64", "deg", "Fiducial ICRS Right Ascension of centroid used for database indexing"),
    ("coord_dec", "float64", "deg", "Fiducial ICRS Declination of centroid used for database indexing"),
    ("tract", "int64", "", "Skymap tract ID"),
    ("patch", "int64", "", "Skymap patch ID"),
    ("x", "float64", "pixel", "Centroid from the SDSS centroid algorithm. Reference band."),
    ("y", "float64", "pixel", "Centroid from the SDSS centroid algorithm. Reference band."),
    (
        "refBand",
        "str",
        "",
        "Reference band - parameters measured on coadds of this band were used for multi-band forced photometry",
    ),
    (
        "refExtendedness",
        "float32",
        "",
        "Flux-ratio measure of whether an object is point-like (0) or extended (1). Reference band.",
    ),
    ("parentObjectId", "int64", "", "Unique ID of parent source. Reference band."),
    ("deblend_nChild", "int32", "", "Number of children this object has (defaults to 0)"),
    ("detect_isIsolated", "bool", "", "This source is not a part of a blend."),
    ("detect_fromBlend", "bool", "", "This source is deblended from a parent with more than one child."),
    ("shape_flag", "bool", "", "General failure flag, set if anything went wrong. Reference band."),
    ("footprintArea", "int32", "pixel", "Number of pixels in the sources detection footprint. Reference band."),
)

_PER_BAND = (
    (
        "{band}_psfFlux",
        "float32",
        "nJy",
        "Flux derived from using the PSF model as a weight function. Forced on {band}-band.",
    ),
    (
        "{band}_psfFluxErr",
        "float32",
        "nJy",
        "Flux uncertainty derived from using the PSF model as a weight function. Forced on {band}-band.",
    ),
    ("{band}_psfFlux_flag", "bool", "", "General Failure Flag. Forced on {band}-band."),
    ("{band}_psfMag", "float32", "mag", "AB magnitude of the {band}-band psfFlux."),
    ("{band}_psfMagErr", "float32", "mag", "Uncertainty in magnitudes of the {band}-band psfFlux."),
    ("{band}_cModelFlux", "float32", "nJy", "Flux from the final CModel fit. Forced on {band}-band."),
    ("{band}_cModelFluxErr", "float32", "nJy", "Flux uncertainty from the final CModel fit. Forced on {band}-band."),
    (
        "{band}_cModel_flag",
        "bool",
        "",
        "Flag set if the final CModel fit (or any previous fit) failed. Forced on {band}-band.",
    ),
    (
        "{band}_extendedness",
        "float32",
        "",
        "Flux-ratio measure of whether an object is point-like (0) or extended (1). Measured on {band}-band.",
    ),
    (
        "{band}_extendedness_flag",
        "bool",
        "",
        "Flag set for any failure in the flux-ratio extendedness. Measured on {band}-band.",
    ),
    (
        "{band}_pixelFlags_saturatedCenter",
        "bool",
        "",
        (
            "Saturated pixels were rjected from near this object's center, but would otherwise have contributed "
            "more than 10% of at least one pixel. Measured on {band}-band."
        ),
    ),
)


def dp1_columns(bands: Sequence[str] = ("g", "r", "i")) -> tuple[DP1Column, ...]:
    """The layout: the object-level columns, then each band's columns (band by band, in ``dp1.yaml`` order).

    Parameters
    ----------
    bands : sequence of str
        Bands to include, for example ``("g", "r", "i")``.

    Returns
    -------
    tuple of DP1Column
    """
    columns = [DP1Column(*spec) for spec in _COMMON]
    for band in bands:
        columns += [
            DP1Column(name.format(band=band), dtype, unit, description.format(band=band))
            for name, dtype, unit, description in _PER_BAND
        ]
    return tuple(columns)


def object_table_columns(bands: Sequence[str] = ("g", "r", "i")) -> list[tuple]:
    """The layout as ``(name, dtype, unit, description)`` definitions for :func:`data_fetch.schema.make_table`.

    Text columns are one character (``refBand``); a column without a unit has ``None``, not dimensionless.

    Parameters
    ----------
    bands : sequence of str
        Bands to include.

    Returns
    -------
    list of tuple
    """
    return [
        (c.name, "U1" if c.dtype == "str" else c.dtype, u.Unit(c.unit) if c.unit else None, c.description)
        for c in dp1_columns(bands)
    ]
