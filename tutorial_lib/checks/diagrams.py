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

from ..photometry import stellar_locus_g_r, stellar_locus_g_r_hsc
from ._result import NO_ANSWER as _NO_ANSWER
from ._result import CheckResult, right, wrong
from ._result import as_number as _as_number
from ._result import is_missing as _is_missing
from ._result import plain as _plain
from .selection import FRACTION_TOLERANCE

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


__all__ = ["check_galaxy_fraction", "check_locus_offset", "check_median_offset"]

#: Offsets (mag) closer than this to the right value are accepted: well below the noise of any one star.
MAG_TOLERANCE = 0.002


def _galaxy_fraction_mistakes(
    m: np.ndarray, galaxy: np.ndarray, fainter_than: float, expected: float
) -> list[tuple[float, str]]:
    """The fractions that the usual mistakes give, each with what it is."""
    bright = m <= fainter_than
    n_gal = int((galaxy & (m > fainter_than)).sum())
    n_bright = int(bright.sum())
    finite = np.isfinite(m)
    candidates = []
    if n_bright:
        candidates.append(
            (
                (bright & galaxy).sum() / n_bright,
                (
                    f"that is the fraction among objects brighter than {fainter_than:g} "
                    "(magnitudes grow fainter: 'fainter than 23' is mag > 23)"
                ),
            )
        )
    candidates.append((1 - expected, "that is the fraction of stars; galaxies are the rest"))
    if finite.any():
        candidates.append(
            (
                (finite & galaxy).sum() / finite.sum(),
                "that is the galaxy fraction of the whole sample, not of the faint end",
            )
        )
    if galaxy.any():
        candidates.append(
            (
                n_gal / int((finite & galaxy).sum()),
                "that is the fraction of all galaxies that are faint; divide by the number of faint objects instead",
            )
        )
    return candidates


def check_galaxy_fraction(
    answer: Any, mag: ArrayLike, is_galaxy: ArrayLike, *, fainter_than: float = 23.0
) -> CheckResult:
    """Check the fraction of true galaxies among the objects fainter than a magnitude.

    Parameters
    ----------
    answer : float
        The learner's fraction, between 0 and 1.
    mag : array of float
        Magnitude of every object of the sample (NaN for objects without one, which are left out).
    is_galaxy : array of bool
        Whether each object is truly a galaxy, row-for-row with ``mag``.
    fainter_than : float
        The limit: objects with ``mag > fainter_than`` are counted.

    Returns
    -------
    CheckResult
        Right when within 0.005 of ``N(galaxy, mag > limit) / N(mag > limit)``.
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    m = _plain(mag).astype(float)
    galaxy = _plain(is_galaxy).astype(bool)
    if m.shape != galaxy.shape:
        raise ValueError(f"mag and is_galaxy differ in length: {m.shape} and {galaxy.shape}")
    value, problem = _as_number(answer, "your fraction")
    if problem is not None:
        return problem
    faint = m > fainter_than
    n_faint = int(faint.sum())
    if n_faint == 0:
        raise ValueError(f"no object of the sample is fainter than {fainter_than}")
    n_gal = int((faint & galaxy).sum())
    expected = n_gal / n_faint

    def close(x: float) -> bool:
        return abs(value - x) <= FRACTION_TOLERANCE

    if close(expected):
        return right(
            f"{n_gal:,} of the {n_faint:,} objects fainter than {fainter_than:g} are true galaxies, a fraction of "
            f"{expected:.3f}."
        )
    if close(expected * 100) or abs(value - expected * 100) <= 0.5:
        return wrong("that looks like a percentage: give a fraction between 0 and 1.")
    candidates = _galaxy_fraction_mistakes(m, galaxy, fainter_than, expected)
    for candidate, why in candidates:
        if close(float(candidate)):
            return wrong(f"{value:.3f}: {why}.")
    return wrong(
        f"{value:.3f} is not it: count the objects with mag > {fainter_than:g}, then the true galaxies among them, "
        "and divide."
    )


def check_locus_offset(answer: Any, g_r: ArrayLike, r_i: ArrayLike, system: str = "sdss") -> CheckResult:
    """Check each object's offset in g - r from the stellar locus at its r - i.

    Parameters
    ----------
    answer : array of float
        The learner's offsets ``(g - r) - locus(r - i)``, one per object (NaN where a colour is NaN).
    g_r, r_i : array of float
        The colours of the objects, row-for-row.
    system : {"sdss", "hsc"}
        The locus the offsets are measured from: ``plots.stellar_locus_g_r`` (SDSS) or
        ``plots.stellar_locus_g_r_hsc`` (HSC colours, for HSC magnitudes such as the lessons').

    Returns
    -------
    CheckResult
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    locus, other = (
        (stellar_locus_g_r_hsc, stellar_locus_g_r) if system == "hsc" else (stellar_locus_g_r, stellar_locus_g_r_hsc)
    )
    locus_name = "plots.stellar_locus_g_r_hsc" if system == "hsc" else "plots.stellar_locus_g_r"
    gr = _plain(g_r).astype(float)
    ri = _plain(r_i).astype(float)
    try:
        values = _plain(answer)
    except (TypeError, ValueError):
        return wrong(f"your answer should be an array of numbers; got {type(answer).__name__}.")
    if values.ndim != 1 or values.shape != gr.shape:
        return wrong(
            f"your answer has shape {values.shape} but there are {gr.size:,} objects: compute one offset per object."
        )
    if not np.issubdtype(values.dtype, np.number):
        return wrong(f"your answer should hold numbers; it has dtype {values.dtype}.")
    values = values.astype(float)
    expected = gr - locus(ri)
    finite = np.isfinite(expected)
    n = int(finite.sum())

    def same(candidate: np.ndarray) -> bool:
        return bool(np.all(np.abs(values[finite] - candidate[finite]) <= MAG_TOLERANCE))

    if np.any(~np.isfinite(values[finite])):
        return wrong("your answer has NaN where both colours are measured.")
    if same(expected):
        near = int(np.count_nonzero(np.abs(expected[finite]) < 0.1))
        return right(
            f"offsets of all {n:,} objects with both colours; {near:,} of them lie within 0.1 mag of the locus."
        )
    if same(-expected):
        return wrong("the sign is flipped: the offset is (g - r) minus the locus, so objects above the locus are > 0.")
    if same(np.abs(expected)):
        return wrong("keep the sign (no absolute value): objects above the locus have positive offsets.")
    if same(ri - locus(gr)):
        return wrong("the two colours are swapped: the locus gives g - r as a function of r - i.")
    with np.errstate(invalid="ignore"):
        other_expected = gr - other(ri)
    if np.all(np.isfinite(other_expected[finite])) and same(other_expected):
        return wrong(f"that is the other photometric system's locus: these colours need {locus_name}.")
    n_bad = int(np.count_nonzero(np.abs(values[finite] - expected[finite]) > MAG_TOLERANCE))
    return wrong(
        f"{n_bad:,} of {n:,} offsets differ: compute g_r - {locus_name}(r_i) with the colours of the same objects."
    )


def check_median_offset(answer: Any, measured: ArrayLike, reference: ArrayLike) -> CheckResult:
    """Check the median of ``measured - reference`` (for example aperture minus PSF magnitudes).

    Parameters
    ----------
    answer : float
        The learner's median offset, in mag.
    measured, reference : array of float
        The two magnitudes of each object, row-for-row; objects where either is NaN are left out.

    Returns
    -------
    CheckResult
        Right when within 0.002 mag of ``median(measured - reference)`` over the finite pairs.
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    a = _plain(measured).astype(float)
    b = _plain(reference).astype(float)
    if a.shape != b.shape:
        raise ValueError(f"measured and reference differ in length: {a.shape} and {b.shape}")
    value, problem = _as_number(answer, "your median")
    if problem is not None:
        if isinstance(answer, float | np.floating) and np.isnan(answer):
            return wrong("your median is NaN: some magnitudes are NaN; use np.nanmedian or drop them first.")
        return problem
    diff = a - b
    diff = diff[np.isfinite(diff)]
    if diff.size == 0:
        raise ValueError("no object has both magnitudes")
    expected = float(np.median(diff))

    def close(x: float) -> bool:
        return abs(value - x) <= MAG_TOLERANCE

    if close(expected):
        spread = float(np.percentile(diff, 84) - np.percentile(diff, 16)) / 2
        return right(
            f"the median of {diff.size:,} differences is {expected:+.3f} mag (the middle 68% spread by "
            f"+/-{spread:.3f} mag)."
        )
    if close(-expected):
        return wrong("the sign is flipped: compute measured minus reference (aperture minus PSF).")
    if close(float(np.mean(diff))):
        return wrong(f"{value:+.3f} is the mean; the median is less sensitive to the few outliers. Use np.nanmedian.")
    if abs(value - float(np.median(10 ** (-0.4 * diff)))) <= 1e-3:
        return wrong(
            f"{value:.3f} is a flux ratio (aperture flux / PSF flux); the exercise asks for the difference of the "
            "magnitudes, in mag."
        )
    if close(float(np.median(np.abs(diff)))):
        return wrong(
            f"{value:+.3f} is the median of the absolute differences: keep the sign (no abs()), so that "
            "differences on both sides cancel."
        )
    return wrong(f"{value:+.3f} mag is not the median of the differences; use np.nanmedian(measured - reference).")
