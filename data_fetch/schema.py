"""Column names, types, units and descriptions of the simulated tables, as the pipelines write them.

Descriptions and units were read from the TDOCn/TFDOCn/TUNITn cards of real afw-written HSC catalogs
(``../shared/realdata``: ``deepCoadd_meas_HSC_v2.fits`` and the Gen3 ``src`` catalog of lsst/faro), with the
current names (``_instFlux``, ``_instFluxErr``, meas_base DM-10302). afw writes the unit ``count`` and
``pixel``; astropy spells them ``ct`` and ``pix``.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.table import Table

from .dp1_layout import object_table_columns

__all__ = [
    "DP1_OBJECT_COLUMNS",
    "DP1_TRUTH_COLUMNS",
    "FORCED_COLUMNS",
    "REF_COLUMNS",
    "SCARLET_REF_COLUMNS",
    "TRUTH_COLUMNS",
    "make_table",
]

_PSF = "instFlux derived from linear least-squares fit of PSF model"
_SIGMA = "1-sigma instFlux uncertainty"
_FAIL = "General Failure Flag"

#: Columns shared by the reference and the forced tables (the forced table copies them from the reference).
_MINIMAL = [
    ("id", np.int64, None, "unique ID"),
    ("coord_ra", np.float64, u.rad, "position in ra/dec"),
    ("coord_dec", np.float64, u.rad, "position in ra/dec"),
    ("parent", np.int64, None, "unique ID of parent source"),
    ("deblend_nChild", np.int32, None, "Number of children this object has (defaults to 0)"),
]

_EXTENDEDNESS = [
    (
        "base_ClassificationExtendedness_value",
        np.float64,
        None,
        "Set to 1 for extended sources, 0 for point sources.",
    ),
    ("base_ClassificationExtendedness_flag", bool, None, "Set to 1 for any fatal failure."),
]

REF_COLUMNS = [
    *_MINIMAL,
    ("base_SdssCentroid_x", np.float64, u.pix, "centroid from Sdss Centroid algorithm"),
    ("base_SdssCentroid_y", np.float64, u.pix, "centroid from Sdss Centroid algorithm"),
    ("detect_isPatchInner", bool, None, "true if source is in the inner region of a coadd patch"),
    ("detect_isTractInner", bool, None, "true if source is in the inner region of a coadd tract"),
    (
        "detect_isPrimary",
        bool,
        None,
        (
            "true if source has no children and is in the inner region of a coadd patch and is in the inner region "
            'of a coadd tract and is not "detected" in a pseudo-filter (see config.pseudoFilterList)'
        ),
    ),
    (
        "detect_isDeblendedSource",
        bool,
        None,
        (
            "true if source has no children and is not a sky source and is either an unblended isolated source or "
            "a deblended child from a parent with 'deblend_nChild' > 1"
        ),
    ),
    ("detect_isIsolated", bool, None, "This source is not a part of a blend."),
    ("detect_fromBlend", bool, None, "This source is deblended from a parent with more than one child."),
    *[
        (f"merge_{kind}_{band}", bool, None, text.format(band=band))
        for band in ("g", "r", "i", "sky")
        for kind, text in (
            ("peak", "Peak detected in filter {band}"),
            ("footprint", "Detection footprint overlapped with a detection from filter {band}"),
        )
    ],
    *_EXTENDEDNESS,
]

FORCED_COLUMNS = [
    *_MINIMAL,
    ("base_PsfFlux_instFlux", np.float64, u.ct, _PSF),
    ("base_PsfFlux_instFluxErr", np.float64, u.ct, _SIGMA),
    ("base_PsfFlux_flag", bool, None, _FAIL),
    (
        "base_PsfFlux_flag_edge",
        bool,
        None,
        "object was too close to the edge of the image to use the full PSF model",
    ),
    (
        "base_PsfFlux_flag_noGoodPixels",
        bool,
        None,
        "not enough non-rejected pixels in data to attempt the fit",
    ),
    ("base_PsfFlux_flag_apCorr", bool, None, "set if unable to aperture correct base_PsfFlux"),
    ("modelfit_CModel_instFlux", np.float64, u.ct, "flux from the final cmodel fit"),
    ("modelfit_CModel_instFluxErr", np.float64, u.ct, "flux uncertainty from the final cmodel fit"),
    ("modelfit_CModel_flag", bool, None, "flag set if the final cmodel fit (or any previous fit) failed"),
    ("base_CircularApertureFlux_12_0_instFlux", np.float64, u.ct, "instFlux within 12.000000-pixel aperture"),
    ("base_CircularApertureFlux_12_0_instFluxErr", np.float64, u.ct, _SIGMA),
    ("base_CircularApertureFlux_12_0_flag", bool, None, _FAIL),
    *_EXTENDEDNESS,
    ("base_PixelFlags_flag_saturatedCenter", bool, None, "Saturated pixel in the Source center"),
    (
        "base_PixelFlags_flag_edge",
        bool,
        None,
        "Source is outside usable exposure region (masked EDGE or NO_DATA)",
    ),
]

TRUTH_COLUMNS = [
    ("id", np.int64, None, "id of the deepCoadd_ref row this truth row belongs to (row-for-row)"),
    (
        "truth_id",
        np.int64,
        None,
        (
            "true object measured by this row; the same wherever the object is measured again; -1 for sky "
            "objects and blend parents"
        ),
    ),
    ("truth_type", "U6", None, "true type of the object: star, galaxy, sky or blend (a parent of several)"),
    ("truth_n_objects", np.int32, None, "number of true objects whose light this row measures"),
    *[(f"truth_mag_{band}", np.float64, u.mag, f"true AB magnitude in band {band}") for band in ("g", "r", "i")],
]


#: The reference table as the scarlet deblender of v22 to v29 writes it (``data_fetch.measure.scarlet_era_patch``):
#: the 2018 columns plus scarlet's deblending columns. Descriptions: meas_extensions_scarlet
#: ``scarletDeblendTask.py`` (deblend_parentNPeaks, deblend_parentNChild; deblend_depth from commit 6ac1d62) and
#: sdm_schemas ``dp1.yaml`` (deblend_nPeaks, detect_isDeblendedModelSource).
SCARLET_REF_COLUMNS = [
    *REF_COLUMNS,
    (
        "deblend_nPeaks",
        np.int32,
        None,
        "Number of peaks this parent footprint has (even if the deblender failed or skipped this blend)",
    ),
    ("deblend_parentNPeaks", np.int32, None, "deblend_nPeaks from this records parent."),
    ("deblend_parentNChild", np.int32, None, "deblend_nChild from this records parent."),
    ("deblend_depth", np.int32, None, "The depth of deblending in the hierarchy."),
    (
        "detect_isDeblendedModelSource",
        bool,
        None,
        (
            "True if source has no children and is in the inner region of a coadd patch and is in the inner region "
            "of a coadd tract and is not detected in a pseudo-filter (see config.pseudoFilterList) and is a "
            "deblended child"
        ),
    ),
]

#: The DP1-style ``object`` table (:mod:`data_fetch.dp1_layout`) in the lesson's three bands.
DP1_OBJECT_COLUMNS = object_table_columns(("g", "r", "i"))

#: Truth of the DP1-style ``object`` table, row for row with it (matched by ``objectId``).
DP1_TRUTH_COLUMNS = [
    ("objectId", np.int64, None, "objectId of the object row this truth row belongs to (row-for-row)"),
    *TRUTH_COLUMNS[1:],
]


def make_table(columns, values: dict) -> Table:
    """Build a Table with the given column definitions, in their order, from a dict of arrays."""
    table = Table()
    for name, dtype, unit, description in columns:
        table[name] = np.asarray(values[name], dtype=dtype)
        table[name].unit = unit
        table[name].description = description
    return table
