"""Self-checks for lessons 5 and 7: the colour-magnitude and colour-colour diagrams, and photometry offsets.

Each function takes a learner's answer and the data it should have been computed from, works out the right
answer itself and returns a :class:`~tutorial_lib.checks._result.CheckResult` saying right or wrong and why,
naming the mistake when the answer matches a common one (a percentage for a fraction, the wrong side of a
magnitude limit, a colour with its sign flipped, a mean for a median).

The stellar locus is :func:`tutorial_lib.plots.stellar_locus_g_r` (Jurić et al. 2008, ApJ 673, 864):
``g - r = 1.39 (1 - exp(-4.9 x^3 - 2.45 x^2 - 1.68 x - 0.050))`` with ``x = r - i``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..photometry import locus_system, stellar_locus_g_r, stellar_locus_g_r_hsc
from ._result import (
    FRACTION_TOLERANCE,
    CheckResult,
    Mistakes,
    as_number,
    first_mistake,
    floats,
    judge,
    plain,
    self_check,
    within,
    wrong,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


__all__ = ["check_galaxy_fraction", "check_locus_offset", "check_median_offset"]

#: Offsets (mag) closer than this to the right value are accepted: well below the noise of any one star.
MAG_TOLERANCE = 0.002


def _paired(first: ArrayLike, second: ArrayLike, names: str) -> tuple[np.ndarray, np.ndarray]:
    """Two row-for-row arrays as floats; a ValueError naming them if their lengths differ."""
    a, b = floats(first), floats(second)
    if a.shape != b.shape:
        raise ValueError(f"{names} differ in length: {a.shape} and {b.shape}")
    return a, b


@self_check
def check_galaxy_fraction(
    answer: Any, mag: ArrayLike, is_galaxy: ArrayLike, *, fainter_than: float = 23.0
) -> CheckResult:
    """Check the fraction of true galaxies among the objects fainter than a magnitude.

    Parameters
    ----------
    answer : float
        The learner's fraction, between 0 and 1.
    mag : numpy.ndarray of float
        Magnitude of every object of the sample (NaN for objects without one, which are left out).
    is_galaxy : numpy.ndarray of bool
        Whether each object is truly a galaxy, row-for-row with ``mag``.
    fainter_than : float, optional
        The limit: objects with ``mag > fainter_than`` are counted.

    Returns
    -------
    CheckResult
        Right when within ``FRACTION_TOLERANCE`` (0.0006) of ``N(galaxy, mag > limit) / N(mag > limit)``.
    """
    m, galaxy_values = _paired(mag, is_galaxy, "mag and is_galaxy")
    galaxy = galaxy_values.astype(bool)
    value = as_number(answer, "your fraction", unit="")
    if isinstance(value, CheckResult):
        return value
    faint, bright, finite = m > fainter_than, m <= fainter_than, np.isfinite(m)
    if not faint.any():
        raise ValueError(f"no object of the sample is fainter than {fainter_than}")
    n_faint, n_gal = int(faint.sum()), int((faint & galaxy).sum())
    expected = n_gal / n_faint
    mistakes: Mistakes = {
        f"that is the fraction among objects brighter than {fainter_than:g} "
        "(magnitudes grow fainter: 'fainter than 23' is mag > 23)": (bright & galaxy).sum() / bright.sum()
        if bright.any()
        else None,
        "that is the fraction of stars; galaxies are the rest": 1 - expected,
        "that is the galaxy fraction of the whole sample, not of the faint end": (finite & galaxy).sum() / finite.sum()
        if finite.any()
        else None,
        "that is the fraction of all galaxies that are faint; divide by the number of faint objects instead": n_gal
        / (finite & galaxy).sum()
        if galaxy.any()
        else None,
    }
    return judge(
        value,
        expected,
        within(FRACTION_TOLERANCE),
        f"{n_gal:,} of the {n_faint:,} objects fainter than {fainter_than:g} are true galaxies, a fraction of "
        f"{expected:.3f}.",
        {
            "that looks like a percentage: give a fraction between 0 and 1.": (
                lambda: value if abs(value - expected * 100) <= 0.5 else None
            ),
            **{f"{value:.3f}: {why}.": candidate for why, candidate in mistakes.items()},
        },
        f"{value:.3f} is not it: count the objects with mag > {fainter_than:g}, then the true galaxies among them, "
        "and divide.",
    )


@self_check
def check_locus_offset(answer: Any, g_r: ArrayLike, r_i: ArrayLike, system: str = "sdss") -> CheckResult:
    """Check each object's offset in g - r from the stellar locus at its r - i.

    Parameters
    ----------
    answer : numpy.ndarray of float
        The learner's offsets ``(g - r) - locus(r - i)``, one per object (NaN where a colour is NaN).
    g_r, r_i : numpy.ndarray of float
        The colours of the objects, row-for-row.
    system : {"sdss", "hsc"}, optional
        The locus the offsets are measured from: ``plots.stellar_locus_g_r`` (SDSS) or
        ``plots.stellar_locus_g_r_hsc`` (HSC colours, for HSC magnitudes such as the lessons').

    Returns
    -------
    CheckResult
    """
    hsc = locus_system(system) == "hsc"
    locus, other = (stellar_locus_g_r_hsc, stellar_locus_g_r) if hsc else (stellar_locus_g_r, stellar_locus_g_r_hsc)
    locus_name = "plots.stellar_locus_g_r_hsc" if hsc else "plots.stellar_locus_g_r"
    gr, ri = _paired(g_r, r_i, "g_r and r_i")
    try:
        values = plain(answer)
    except (TypeError, ValueError):
        return wrong(f"your answer should be an array of numbers; got {type(answer).__name__}.")
    if values.ndim != 1 or values.shape != gr.shape:
        return wrong(
            f"your answer has shape {values.shape} but there are {gr.size:,} objects: compute one offset per object."
        )
    if not np.issubdtype(values.dtype, np.number):
        return wrong(f"your answer should hold numbers; it has dtype {values.dtype}.")
    expected = gr - locus(ri)
    finite = np.isfinite(expected)
    right_offset = expected[finite]
    values = values.astype(float)[finite]
    with np.errstate(invalid="ignore"):
        other_expected = (gr - other(ri))[finite]
    n_near = int(np.count_nonzero(np.abs(expected[finite]) < 0.1))
    n_bad = int(np.count_nonzero(np.abs(values - expected[finite]) > MAG_TOLERANCE))
    mistakes: Mistakes = {
        "the sign is flipped: the offset is (g - r) minus the locus, so objects above the locus are > 0.": -expected[
            finite
        ],
        "keep the sign (no absolute value): objects above the locus have positive offsets.": np.abs(right_offset),
        "the two colours are swapped: the locus gives g - r as a function of r - i.": (ri - locus(gr))[finite],
        f"that is the other photometric system's locus: these colours need {locus_name}.": other_expected
        if np.all(np.isfinite(other_expected))
        else None,
    }

    # A known mistake may be infinite or NaN where the right offsets are finite (swapped colours put a very blue
    # g - r into the locus polynomial, whose exponential overflows), so a non-finite value counts as a value here:
    # equal only where both are non-finite.
    def same(a, b) -> bool:
        a_bad, b_bad = ~np.isfinite(a), ~np.isfinite(b)
        return bool(np.array_equal(a_bad, b_bad) and np.all(np.abs(a[~a_bad] - b[~b_bad]) <= MAG_TOLERANCE))

    if np.any(~np.isfinite(values)) and first_mistake(values, mistakes, same) is None:
        return wrong("your answer has NaN where both colours are measured.")
    n_outside = int(np.count_nonzero(np.isfinite(gr) & np.isfinite(ri))) - int(finite.sum())
    outside = f" ({n_outside:,} more lie outside it, where the locus is NaN)" if n_outside else ""
    return judge(
        values,
        expected[finite],
        same,
        f"offsets of all {int(finite.sum()):,} objects with both colours inside the locus's r - i "
        f"range{outside}; {n_near:,} of them lie within 0.1 mag of the locus.",
        mistakes,
        f"{n_bad:,} of {int(finite.sum()):,} offsets differ: compute g_r - {locus_name}(r_i) with the colours of the "
        "same objects.",
    )


@self_check
def check_median_offset(answer: Any, measured: ArrayLike, reference: ArrayLike) -> CheckResult:
    """Check the median of ``measured - reference`` (for example aperture minus PSF magnitudes).

    Parameters
    ----------
    answer : float
        The learner's median offset, in mag.
    measured, reference : numpy.ndarray of float
        The two magnitudes of each object, row-for-row; objects where either is NaN are left out.

    Returns
    -------
    CheckResult
        Right when within 0.002 mag of ``median(measured - reference)`` over the finite pairs.
    """
    a, b = _paired(measured, reference, "measured and reference")
    value = as_number(answer, "your median", unit="mag")
    if isinstance(value, CheckResult):
        if isinstance(answer, float | np.floating) and np.isnan(answer):
            return wrong("your median is NaN: some magnitudes are NaN; use np.nanmedian or drop them first.")
        return value
    diff = (a - b)[np.isfinite(a - b)]
    if diff.size == 0:
        raise ValueError("no object has both magnitudes")
    expected = float(np.median(diff))
    spread = float(np.percentile(diff, 84) - np.percentile(diff, 16)) / 2
    mistakes: Mistakes = {
        "the sign is flipped: compute measured minus reference (aperture minus PSF).": -expected,
        f"{value:+.3f} is the mean; the median is less sensitive to the few outliers. Use np.nanmedian.": np.mean(diff),
        f"{value:.3f} is a flux ratio (aperture flux / PSF flux); the exercise asks for the difference of the "
        "magnitudes, in mag.": lambda: value if abs(value - float(np.median(10 ** (-0.4 * diff)))) <= 1e-3 else None,
        f"{value:+.3f} is the median of the absolute differences: keep the sign (no abs()), so that "
        "differences on both sides cancel.": np.median(np.abs(diff)),
    }
    return judge(
        value,
        expected,
        within(MAG_TOLERANCE),
        f"the median of {diff.size:,} differences is {expected:+.3f} mag (the middle 68% spread by "
        f"+/-{spread:.3f} mag).",
        mistakes,
        f"{value:+.3f} mag is not the median of the differences; use np.nanmedian(measured - reference).",
    )
