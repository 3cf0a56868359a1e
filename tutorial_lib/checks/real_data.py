"""Self-checks for lesson 8: the lesson's analysis on the real HSC patch (rerun 20160805, tract 0, patch 10,7).

Each function takes a learner's answer and the data it should have been computed from, works the right answer out
itself, and returns a :class:`~tutorial_lib.checks._result.CheckResult` saying right or wrong and why; a wrong
answer that matches a usual mistake gets a message naming it.

Definitions, with their sources:

* The old ``Calib`` stored the flux of a magnitude-0 source, ``FLUXMAG0``, with ``mag = -2.5 log10(f / FLUXMAG0)``
  (afw ``Calib.cc`` at v16), so the zero point, the magnitude of one count, is ``2.5 log10(FLUXMAG0)``.
* On these data the point-source cut reads the **reference** table: their forced tables have no
  ``base_ClassificationExtendedness`` (the rerun's ``forcedPhotCoadd.afterburners.plugins.names = []``); the
  reference table's value was measured in each object's reference band, from the Gaussian (model) and PSF fluxes
  with ``fluxRatio = 0.925`` (``DATA/rerun/20160805/config/multiBandDriver.py`` of
  ``lsst-dm/legacy-validation_data_hsc``).
* The forced rows link to the reference rows through ``objectId``; the good-PSF-flux cut of a band reads that
  band's forced row of each object.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from ..photometry import AB_MAGNITUDE_OF_ONE_NANOJANSKY
from ._result import NO_ANSWER as _NO_ANSWER
from ._result import CheckResult, right, wrong
from ._result import is_missing as _is_missing
from ._result import plain as _plain

if TYPE_CHECKING:
    from astropy.table import Table


__all__ = ["check_real_selection", "check_zero_point"]

#: Zero points closer than this (mag) to the right value are accepted.
ZERO_POINT_TOLERANCE = 1e-3


def _as_float(answer) -> float | None:
    value = getattr(answer, "value", answer)  # a Quantity in mag
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        else:
            return None
    return float(value)


def check_zero_point(answer: Any, fluxmag0: float) -> CheckResult:
    """Check the zero point (AB magnitude of one count) computed from the header keyword ``FLUXMAG0``.

    Parameters
    ----------
    answer : float
        The learner's zero point.
    fluxmag0 : float
        The calexp's ``FLUXMAG0`` (counts of a magnitude-0 source).
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    value = _as_float(answer)
    if value is None:
        return wrong(f"the zero point is one number (a magnitude); got {type(answer).__name__}.")
    fluxmag0 = float(fluxmag0)
    expected = 2.5 * math.log10(fluxmag0)
    if math.isclose(value, expected, rel_tol=0, abs_tol=ZERO_POINT_TOLERANCE):
        return right(
            f"zero point {expected:.3f}: one count is magnitude 2.5 log10(FLUXMAG0), since "
            "mag = -2.5 log10(counts / FLUXMAG0)."
        )
    if not math.isfinite(value):
        return wrong("the answer is not a finite number; is FLUXMAG0 read correctly (a positive number of counts)?")
    if math.isclose(value, -expected, abs_tol=ZERO_POINT_TOLERANCE):
        return wrong("the sign is wrong: mag = -2.5 log10(counts / FLUXMAG0), so one count gives +2.5 log10(FLUXMAG0).")
    if math.isclose(value, 2.5 * math.log(fluxmag0), abs_tol=ZERO_POINT_TOLERANCE):
        return wrong("that used the natural logarithm (np.log); magnitudes use log10 (np.log10).")
    if math.isclose(value, fluxmag0, rel_tol=1e-6):
        return wrong("that is FLUXMAG0 itself, a number of counts; the zero point is its magnitude: 2.5 log10(...).")
    if math.isclose(value, 10 ** (0.4 * AB_MAGNITUDE_OF_ONE_NANOJANSKY) / fluxmag0, rel_tol=1e-6):
        return wrong("that is the PhotoCalib's calibrationMean (nJy per count); the question asks for a magnitude.")
    if math.isclose(value, AB_MAGNITUDE_OF_ONE_NANOJANSKY - expected, abs_tol=ZERO_POINT_TOLERANCE):
        return wrong("that is 31.4 minus the zero point: 2.5 log10(FLUXMAG0) alone is the magnitude of one count.")
    return wrong(
        f"{value:.3f} is not the magnitude of one count; with mag = -2.5 log10(counts / FLUXMAG0), it is "
        "2.5 log10(FLUXMAG0)."
    )


def _forced_aligned(ref, forced, column: str) -> np.ndarray:
    """``forced[column]`` for each reference row, through ``objectId`` (NaN / True where there is no forced row)."""
    values = _plain(forced[column])
    if "objectId" not in getattr(forced, "colnames", []):
        return values
    ref_ids = np.asarray(ref["id"])
    keys = np.asarray(forced["objectId"])
    if keys.shape == ref_ids.shape and np.array_equal(keys, ref_ids):
        return values
    lookup = {int(key): row for row, key in enumerate(keys)}
    rows = np.array([lookup.get(int(i), -1) for i in ref_ids])
    fill = True if values.dtype == bool else np.nan
    out = np.full(len(ref_ids), fill, dtype=values.dtype if values.dtype == bool else float)
    out[rows >= 0] = values[rows[rows >= 0]]
    return out


def _count(mask: np.ndarray) -> str:
    n = int(np.count_nonzero(mask))
    return f"{n:,} row{'s' if n != 1 else ''}"


def check_real_selection(answer: Any, ref: Table, forced: Table, *, band: str = "i") -> CheckResult:
    """Check the lesson's selection on the real patch: primary, point-like (reference table), good PSF flux.

    Parameters
    ----------
    answer : array of bool
        The learner's mask, one entry per reference row.
    ref : astropy.table.Table
        The reference table (``deepCoadd_ref``), with ``detect_isPrimary`` and
        ``base_ClassificationExtendedness_value``.
    forced : astropy.table.Table
        The ``band`` forced table (``deepCoadd_forced_src``), with ``base_PsfFlux_flag`` and ``objectId``.
    band : str
        Band of the good-PSF-flux cut.
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    n = len(ref)
    try:
        mask = _plain(answer)
    except (TypeError, ValueError):
        kind = type(answer).__name__
        return wrong(f"the answer should be an array of True/False, one per reference row; got {kind}.")
    if mask.ndim != 1 or len(mask) != n:
        return wrong(
            f"the answer has shape {mask.shape} but the reference table has {n:,} rows: a mask has one True/False "
            "per reference row, built from whole columns (not from a table already cut)."
        )
    if mask.dtype != bool:
        if np.issubdtype(mask.dtype, np.integer) and set(np.unique(mask)) <= {0, 1}:
            mask = mask.astype(bool)
        else:
            return wrong(f"the answer has dtype {mask.dtype}; combine boolean arrays with & (and) and ~ (not).")

    primary = _plain(ref["detect_isPrimary"]).astype(bool)
    extendedness = _plain(ref["base_ClassificationExtendedness_value"]).astype(float)
    with np.errstate(invalid="ignore"):
        point_like = extendedness < 0.5
    psf_flag = _forced_aligned(ref, forced, "base_PsfFlux_flag").astype(bool)
    good_flux = ~psf_flag
    expected = primary & point_like & good_flux
    if np.array_equal(mask, expected):
        return right(
            f"{_count(expected)} of {n:,}: primary, point-like in the reference table (extendedness 0) and with a "
            f"good {band}-band PSF flux."
        )
    extra = mask & ~expected
    missing = expected & ~mask
    hints = []
    if np.array_equal(mask, point_like & good_flux):
        hints.append("detect_isPrimary is missing: duplicates, blend parents and sky objects are still in.")
    elif np.array_equal(mask, primary & good_flux):
        hints.append(
            "the point-source cut is missing: use the reference table's base_ClassificationExtendedness_value."
        )
    elif np.array_equal(mask, primary & point_like):
        hints.append(f"the good-PSF-flux cut is missing: ~forced['base_PsfFlux_flag'] of the {band}-band table.")
    elif np.array_equal(mask, primary & point_like & psf_flag):
        hints.append("the flag is inverted: base_PsfFlux_flag marks a failed measurement, so keep ~flag.")
    elif np.array_equal(mask, primary & ~(extendedness == 1) & good_flux):
        hints.append(
            "'not extended' also keeps objects whose extendedness is NaN (not measured); keep extendedness < 0.5."
        )
    elif np.array_equal(mask, primary & (extendedness >= 0.5) & good_flux):
        hints.append("that keeps the extended objects (galaxies); point sources have extendedness 0.")
    if not hints:
        hints.append(
            f"it keeps {_count(extra)} that should go and misses {_count(missing)} that should stay; combine "
            "ref['detect_isPrimary'], ref['base_ClassificationExtendedness_value'] < 0.5 and "
            f"~forced['base_PsfFlux_flag'] with &."
        )
    return wrong(f"{_count(mask)} selected, {_count(expected)} expected: " + " ".join(hints))
