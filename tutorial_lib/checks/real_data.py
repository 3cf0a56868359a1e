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
from typing import TYPE_CHECKING, Any

import numpy as np

from ..lesson import plural
from ..matching import match_rows, take_rows
from ..photometry import AB_MAGNITUDE_OF_ONE_NANOJANSKY as AB_NJY
from ._result import CheckResult, as_mask, as_number, judge, plain, self_check, wrong

if TYPE_CHECKING:
    from astropy.table import Table


__all__ = ["check_real_selection", "check_zero_point"]

#: Zero points closer than this (mag) to the right value are accepted.
ZERO_POINT_TOLERANCE = 1e-3


@self_check
def check_zero_point(answer: Any, fluxmag0: float) -> CheckResult:
    """Check the zero point (AB magnitude of one count) computed from the header keyword ``FLUXMAG0``.

    Parameters
    ----------
    answer : float
        The learner's zero point.
    fluxmag0 : float
        The calexp's ``FLUXMAG0`` (counts of a magnitude-0 source).

    Returns
    -------
    CheckResult
    """
    # The AB magnitude of one count, as astropy writes it (compared by name: importing astropy.units takes 0.4 s).
    if str(getattr(answer, "unit", "")) == "mag(AB)":
        answer = answer.value
    value = as_number(answer, "the zero point", unit="mag")
    if isinstance(value, CheckResult):
        if "NaN" in value.message:
            return wrong("the answer is not a finite number; is FLUXMAG0 read correctly (a positive number of counts)?")
        return wrong(f"the zero point is one number (a magnitude); got {type(answer).__name__}.")
    fluxmag0 = float(fluxmag0)
    expected = 2.5 * math.log10(fluxmag0)
    mistakes = {
        "the sign is wrong: mag = -2.5 log10(counts / FLUXMAG0), so one count gives +2.5 log10(FLUXMAG0).": -expected,
        "that used the natural logarithm (np.log); magnitudes use log10 (np.log10).": 2.5 * math.log(fluxmag0),
        "that is FLUXMAG0 itself, a number of counts; the zero point is its magnitude: 2.5 log10(...).": fluxmag0,
        "that is the PhotoCalib's calibrationMean (nJy per count); the question asks for a magnitude.": (
            10 ** (0.4 * AB_NJY) / fluxmag0
        ),
        "that is 31.4 minus the zero point: 2.5 log10(FLUXMAG0) alone is the magnitude of one count.": AB_NJY
        - expected,
    }
    return judge(
        value,
        expected,
        lambda a, b: math.isclose(a, b, rel_tol=1e-6, abs_tol=ZERO_POINT_TOLERANCE),
        f"zero point {expected:.3f}: one count is magnitude 2.5 log10(FLUXMAG0), since "
        "mag = -2.5 log10(counts / FLUXMAG0).",
        mistakes,
        f"{value:.3f} is not the magnitude of one count; with mag = -2.5 log10(counts / FLUXMAG0), it is "
        "2.5 log10(FLUXMAG0).",
    )


@self_check
def check_real_selection(answer: Any, ref: Table, forced: Table, *, band: str = "i") -> CheckResult:
    """Check the lesson's selection on the real patch: primary, point-like (reference table), good PSF flux.

    Parameters
    ----------
    answer : numpy.ndarray of bool
        The learner's mask, one entry per reference row.
    ref : astropy.table.Table
        The reference table (``deepCoadd_ref``), with ``detect_isPrimary`` and
        ``base_ClassificationExtendedness_value``.
    forced : astropy.table.Table
        The ``band`` forced table (``deepCoadd_forced_src``), with ``base_PsfFlux_flag`` and ``objectId``.
    band : str, optional
        Band of the good-PSF-flux cut.

    Returns
    -------
    CheckResult
    """
    n = len(ref)
    mask = as_mask(answer, n, "the answer", "the reference table")
    if isinstance(mask, CheckResult):
        return mask
    primary = plain(ref["detect_isPrimary"]).astype(bool)
    extendedness = plain(ref["base_ClassificationExtendedness_value"]).astype(float)
    with np.errstate(invalid="ignore"):
        point_like = extendedness < 0.5
    flag = plain(forced["base_PsfFlux_flag"])
    if "objectId" in forced.colnames:  # 2016 forced rows link to the reference rows through objectId
        flag = take_rows(flag, match_rows(ref["id"], forced["objectId"]), "base_PsfFlux_flag")
    psf_flag = flag.astype(bool)
    good_flux = ~psf_flag
    expected = primary & point_like & good_flux
    mistakes = {
        "detect_isPrimary is missing: duplicates, blend parents and sky objects are still in.": point_like & good_flux,
        "the point-source cut is missing: use the reference table's base_ClassificationExtendedness_value.": primary
        & good_flux,
        f"the good-PSF-flux cut is missing: ~forced['base_PsfFlux_flag'] of the {band}-band table.": primary
        & point_like,
        "the flag is inverted: base_PsfFlux_flag marks a failed measurement, so keep ~flag.": primary
        & point_like
        & psf_flag,
        "'not extended' also keeps objects whose extendedness is NaN (not measured); keep extendedness < 0.5.": primary
        & ~(extendedness == 1)
        & good_flux,
        "that keeps the extended objects (galaxies); point sources have extendedness 0.": primary
        & (extendedness >= 0.5)
        & good_flux,
    }
    counts = f"{plural(int(mask.sum()), 'row')} selected, {plural(int(expected.sum()), 'row')} expected: "
    result = judge(
        mask,
        expected,
        np.array_equal,
        f"{plural(int(expected.sum()), 'row')} of {n:,}: primary, point-like in the reference table "
        f"(extendedness 0) and with a good {band}-band PSF flux.",
        mistakes,
        f"it keeps {plural(int((mask & ~expected).sum()), 'row')} that should go and misses "
        f"{plural(int((expected & ~mask).sum()), 'row')} that should stay; combine ref['detect_isPrimary'], "
        "ref['base_ClassificationExtendedness_value'] < 0.5 and ~forced['base_PsfFlux_flag'] with &.",
    )
    return result if result.correct else wrong(counts + result.message)
