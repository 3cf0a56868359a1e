"""The lesson on a Data Preview 1 (DP1) style ``Object`` table: its cuts on DP1 names, and an adapter.

A DP1 ``Object`` table (sdm_schemas ``python/lsst/sdm/schemas/dp1.yaml``, table ``Object``) has one row per
unique, deblended object, every band in the same row, and calibrated fluxes in nJy. So the lesson's selection
loses its first part: there is no ``detect_isPrimary`` and no sky object to remove, because the table holds
only primary rows. What remains, in DP1 names:

* point sources: ``refExtendedness == 0`` (measured in the reference band ``refBand``; the per-band
  ``{band}_extendedness`` is measured in that band, not forced);
* a good PSF flux: ``{band}_psfFlux_flag`` not set, in the reference band (the 2018 lesson) or in every band of
  the CMD (today's official lesson, lsst/pipelines_lsst_io ``getting-started/multiband-analysis.rst``);
* the faint limit on ``{band}_psfMag`` (AB mag, from ``{band}_psfFlux`` in nJy).

:func:`as_lesson_tables` turns an ``Object`` table into the reference and forced tables of the 2018 layout, so
that :class:`tutorial_lib.selection.Selection`, :mod:`tutorial_lib.plots` and the explorer of
:mod:`tutorial_lib.widgets` work on it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import astropy.units as u
import numpy as np
from astropy.table import Table

from ._arrays import as_array, as_degrees, as_float_array
from .lesson import BANDS, DEFAULT_FAINT, REFERENCE_BAND
from .photocalib import PhotoCalib
from .selection.criteria import faint_cut

__all__ = [
    "NANOJANSKY_CALIB",
    "as_lesson_tables",
    "good_psf_flux",
    "lesson_selection",
    "point_source",
    "tables_by_patch",
]

#: The calibration of a table whose "instrumental" fluxes are already nJy: 1 nJy per unit. The adapter writes
#: DP1's nJy fluxes in the ``_instFlux`` columns with this calibration, so magnitudes come out right.
NANOJANSKY_CALIB = PhotoCalib(1.0)


def _flags(column) -> np.ndarray:
    """A failure flag column as booleans, masked entries True: an unknown failure flag does not pass a cut, as
    everywhere in the library (:mod:`tutorial_lib._arrays`)."""
    return np.asarray(as_array(column, bool_fill=True), dtype=bool)


def _need(objects: Table, names: Sequence[str]) -> None:
    missing = [name for name in names if name not in objects.colnames]
    if missing:
        raise KeyError(
            f"the table has no column(s) {missing}: is it a DP1 Object table (sdm_schemas dp1.yaml)? Read it "
            "with butler.get('object', tract=..., collections='tutorial_dp1')."
        )


def point_source(objects: Table) -> np.ndarray:
    """``refExtendedness == 0``: point-like in the reference band (NaN, a failed measurement, is not).

    Parameters
    ----------
    objects : astropy.table.Table
        DP1 Object table with ``refExtendedness``.

    Returns
    -------
    numpy.ndarray of bool
        One entry per row.
    """
    _need(objects, ["refExtendedness"])
    with np.errstate(invalid="ignore"):
        return as_float_array(objects["refExtendedness"]) == 0.0


def good_psf_flux(objects: Table, bands: str | Sequence[str] = REFERENCE_BAND) -> np.ndarray:
    """``{band}_psfFlux_flag`` unset in each of ``bands`` (one band, or a list such as ``["r", "i"]``).

    Parameters
    ----------
    objects : astropy.table.Table
        DP1 Object table with ``{band}_psfFlux_flag`` columns.
    bands : str or sequence of str
        Band(s) whose flag must be unset; default the lesson's reference band.

    Returns
    -------
    numpy.ndarray of bool
        One entry per row.
    """
    bands = [bands] if isinstance(bands, str) else list(bands)
    _need(objects, [f"{band}_psfFlux_flag" for band in bands])
    keep = np.ones(len(objects), dtype=bool)
    for band in bands:
        keep &= ~_flags(objects[f"{band}_psfFlux_flag"])
    return keep


def lesson_selection(
    objects: Table,
    flag_bands: str | Sequence[str] = REFERENCE_BAND,
    faint: float | None = DEFAULT_FAINT,
    band: str = REFERENCE_BAND,
) -> np.ndarray:
    """The lesson's selection on DP1 names: point source, good PSF flux in ``flag_bands``, ``{band}_psfMag <= faint``.

    Parameters
    ----------
    objects : astropy.table.Table
        A DP1-style ``Object`` table.
    flag_bands : str or sequence of str
        Bands whose PSF-flux flag must be unset: the reference band (the 2018 lesson's choice) or, for example,
        ``["g", "r", "i"]`` (today's official lesson).
    faint : float or None
        Faint limit on ``{band}_psfMag``, AB mag; None for no limit.
    band : str
        Band of the faint limit.

    Returns
    -------
    numpy.ndarray of bool
    """
    keep = point_source(objects) & good_psf_flux(objects, flag_bands)
    if faint is not None:
        _need(objects, [f"{band}_psfMag"])
        keep &= faint_cut(objects[f"{band}_psfMag"], faint)  # checks the limit: one finite magnitude
    return keep


def _radians(column) -> u.Quantity:
    """Coordinates in radians, from a column in degrees (DP1's unit, also assumed without one) or radians."""
    return np.radians(as_degrees(column, "coordinates")[0]) * u.rad


def as_lesson_tables(objects: Table, bands: Sequence[str] = BANDS) -> tuple[Table, dict[str, Table], PhotoCalib]:
    """An ``Object`` table as the 2018 layout: a reference table, forced tables by band, and a calibration.

    Every row is primary, so ``detect_isPrimary``, ``detect_isPatchInner``, ``detect_isTractInner`` and
    ``detect_isDeblendedSource`` are True and ``merge_peak_sky`` is False; the reference extendedness is
    ``refExtendedness``; each forced table holds the band's nJy fluxes in the ``_instFlux`` columns (unit ``ct``
    so that the library's unit checks accept them) and the band's own ``{band}_extendedness``. Use the returned
    :data:`NANOJANSKY_CALIB` as ``photo_calib``: 1 nJy per unit.

    Parameters
    ----------
    objects : astropy.table.Table
        A DP1-style ``Object`` table.
    bands : sequence of str
        Bands to make forced tables for.

    Returns
    -------
    ref : astropy.table.Table
    forced : dict of {str: astropy.table.Table}
    photo_calib : PhotoCalib
    """
    _need(objects, ["objectId", "coord_ra", "coord_dec", "parentObjectId", "deblend_nChild", "refExtendedness"])
    n = len(objects)
    common = {
        "id": as_array(objects["objectId"]),
        "coord_ra": _radians(objects["coord_ra"]),
        "coord_dec": _radians(objects["coord_dec"]),
        "parent": as_array(objects["parentObjectId"]),
        "deblend_nChild": as_array(objects["deblend_nChild"]),
    }
    ref = Table(dict(common))
    for name in ("detect_isPatchInner", "detect_isTractInner", "detect_isPrimary", "detect_isDeblendedSource"):
        ref[name] = np.ones(n, dtype=bool)
    ref["merge_peak_sky"] = np.zeros(n, dtype=bool)
    ref["base_ClassificationExtendedness_value"] = as_float_array(objects["refExtendedness"])
    ref["base_ClassificationExtendedness_flag"] = ~np.isfinite(ref["base_ClassificationExtendedness_value"])
    forced = {}
    for band in bands:
        _need(objects, [f"{band}_psfFlux", f"{band}_psfFluxErr", f"{band}_psfFlux_flag", f"{band}_extendedness"])
        table = Table(dict(common))
        table["base_PsfFlux_instFlux"] = as_float_array(objects[f"{band}_psfFlux"]) * u.ct
        table["base_PsfFlux_instFluxErr"] = as_float_array(objects[f"{band}_psfFluxErr"]) * u.ct
        table["base_PsfFlux_flag"] = _flags(objects[f"{band}_psfFlux_flag"])
        if f"{band}_cModelFlux" in objects.colnames:
            table["modelfit_CModel_instFlux"] = as_float_array(objects[f"{band}_cModelFlux"]) * u.ct
            table["modelfit_CModel_instFluxErr"] = as_float_array(objects[f"{band}_cModelFluxErr"]) * u.ct
            table["modelfit_CModel_flag"] = _flags(objects[f"{band}_cModel_flag"])
        table["base_ClassificationExtendedness_value"] = as_float_array(objects[f"{band}_extendedness"])
        table["base_ClassificationExtendedness_flag"] = ~np.isfinite(table["base_ClassificationExtendedness_value"])
        forced[band] = table
    return ref, forced, NANOJANSKY_CALIB


def tables_by_patch(objects: Table, truth: Table | None = None, bands: Sequence[str] = BANDS) -> dict:
    """The adapter's tables patch by patch, as :class:`tutorial_lib.widgets.PatchTables` for the explorer.

    Parameters
    ----------
    objects : astropy.table.Table
        A DP1-style ``Object`` table (with its ``patch`` column).
    truth : astropy.table.Table, optional
        ``object_truth``, row for row with ``objects`` (its ``objectId`` becomes the truth table's ``id``).
    bands : sequence of str
        Bands of the forced tables.

    Returns
    -------
    dict of {int: PatchTables}
    """
    from .widgets import PatchTables

    _need(objects, ["patch"])
    patch = as_array(objects["patch"])
    out = {}
    for value in np.unique(patch):
        rows = patch == value
        ref, forced, calib = as_lesson_tables(objects[rows], bands)
        patch_truth = None
        if truth is not None:
            patch_truth = truth[rows].copy()
            patch_truth.rename_column("objectId", "id")
        out[int(value)] = PatchTables(ref=ref, forced=forced, photo_calib=calib, truth=patch_truth)
    return out
