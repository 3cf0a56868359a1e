"""Self-checks for lesson 2: counting negative fluxes, calibrated magnitudes and their errors, mean fluxes.

Each function recomputes the expected answer from the data passed in and compares; when the answer is wrong
it looks for the usual mistakes (NaN counted as negative, a forgotten zero point, a natural logarithm, a
magnitude error without the 2.5/ln 10 factor, negative fluxes dropped before averaging, ...) and says which.
"""

from __future__ import annotations

import math
import numbers

import astropy.units as u
import numpy as np

from .._arrays import as_array
from ..photometry import AB_MAGNITUDE_OF_ONE_NANOJANSKY as _AB_NJY
from ..photometry import is_magnitude_unit
from ._result import NO_ANSWER as _NO_ANSWER
from ._result import CheckResult, right, wrong
from ._result import is_missing as _is_missing

__all__ = ["check_magnitudes", "check_mean_flux", "check_negative_count"]

#: 2.5 / ln(10) = 1.0857: d(mag) = 1.0857 d(flux) / flux.
_POGSON = 2.5 / math.log(10.0)


def _values(data) -> np.ndarray:
    """Float array of a column, array, list or Quantity; masked entries become NaN; units dropped."""
    return np.asarray(as_array(data, integer_fill=None), dtype=float)


def _column(table, name: str) -> np.ndarray:
    if name not in table.colnames:
        raise KeyError(f"the table has no column {name!r}")
    return _values(table[name])


def _fmt(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# --- counting -----------------------------------------------------------------------------------------------
def check_negative_count(answer, table, *, flux: str = "base_PsfFlux") -> CheckResult:
    """Check the number of rows of ``table`` whose ``<flux>_instFlux`` is negative (NaN is not negative).

    Parameters
    ----------
    answer : int
        The learner's count.
    table : astropy.table.Table
        A ``deepCoadd_forced_src`` table.
    flux : str, optional
        The flux measurement, ``base_PsfFlux`` by default.
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    if isinstance(answer, bool | np.bool_):
        return wrong("give the number of rows (an integer), not True/False.")
    if isinstance(answer, np.ndarray) or hasattr(answer, "colnames"):
        return wrong(
            "give one number, not an array: count the True values of the mask with np.count_nonzero(mask) "
            "or mask.sum()."
        )
    if isinstance(answer, numbers.Real) and float(answer).is_integer():
        count = int(answer)
    else:
        return wrong(f"give a whole number of rows; got {answer!r}.")
    values = _column(table, f"{flux}_instFlux")
    n_rows = len(values)
    n_negative = int(np.count_nonzero(values < 0))
    n_nan = int(np.count_nonzero(np.isnan(values)))
    n_zero = int(np.count_nonzero(values == 0))
    n_positive = int(np.count_nonzero(values > 0))
    if count == n_negative:
        return right(
            f"{_fmt(n_negative, 'row')} of {n_rows:,} have a negative {flux}_instFlux. The {n_nan:,} NaN "
            "values are failed measurements, not negative fluxes."
        )
    if n_nan and count == n_negative + n_nan:
        return wrong(
            "that count includes the NaN fluxes (failed measurements): ~(flux > 0) and flux <= 0 mix them in. "
            "Count flux < 0, which is False for NaN."
        )
    if n_nan and count == n_nan:
        return wrong("that is the number of NaN fluxes (failed measurements); count the negative ones, flux < 0.")
    if n_zero and count == n_negative + n_zero:
        return wrong("that count includes fluxes of exactly zero; count flux < 0.")
    if count == n_positive:
        return wrong("that is the number of positive fluxes; count the negative ones, flux < 0.")
    if count == n_rows - n_negative:
        return wrong("that is the number of rows that are NOT negative; count flux < 0.")
    if count == n_rows:
        return wrong("that is the number of rows in the table; count only those with flux < 0.")
    return wrong(
        f"not the number of negative {flux}_instFlux values in this table. Use "
        f"np.count_nonzero(table['{flux}_instFlux'] < 0), in the band asked for."
    )


# --- magnitudes ---------------------------------------------------------------------------------------------
def _offset_hint(offset: float, zero_point: float) -> str | None:
    """Name a constant magnitude offset (answer minus expected) when it is a known mistake."""
    log_mean = 2.5 * math.log10(10 ** (0.4 * (_AB_NJY - zero_point)))  # 2.5 log10(calibrationMean) = 31.4 - ZP
    cases = [
        (
            -zero_point,
            f"these are instrumental magnitudes, -2.5 log10(counts): the zero point ({zero_point:.2f}) "
            "is missing. Use photoCalib.instFluxToMagnitude on the instFlux column.",
        ),
        (
            log_mean,
            "counts were used as if they were nJy (31.4 - 2.5 log10(counts)): multiply by "
            "photoCalib.getCalibrationMean() first, or use photoCalib.instFluxToMagnitude.",
        ),
        (
            -log_mean,
            f"the zero point {zero_point:.2f} was applied to fluxes already in nJy: calibrated twice. "
            "Give instFluxToMagnitude the instFlux column (counts).",
        ),
    ]
    for value, text in cases:
        if abs(offset - value) < 0.01:
            return text
    return None


def _other_measurement(answer: np.ndarray, table, photo_calib, flux: str, atol: float) -> str | None:
    """The name of another flux measurement of ``table`` whose magnitudes ``answer`` holds, if any."""
    names = sorted({c[: -len("_instFlux")] for c in table.colnames if c.endswith("_instFlux")} - {flux})
    for other in names:
        other_mag = np.asarray(photo_calib.instFluxToMagnitude(_column(table, f"{other}_instFlux")), dtype=float)
        if np.allclose(answer, other_mag, rtol=0, atol=atol, equal_nan=True):
            return other
    return None


def check_magnitudes(
    answer,
    table,
    photo_calib,
    *,
    mag_err=None,
    require_err: bool = False,
    flux: str = "base_PsfFlux",
    atol: float = 1e-6,
) -> CheckResult:
    """Check AB magnitudes (and their errors) of ``<flux>_instFlux``, one per row of ``table``.

    Parameters
    ----------
    answer : array-like or tuple
        The learner's magnitudes, one per row (NaN where the flux is zero, negative or NaN); or the tuple
        ``(mag, mag_err)`` that ``instFluxToMagnitude(instFlux, instFluxErr)`` returns.
    table : astropy.table.Table
        The ``deepCoadd_forced_src`` table of one band.
    photo_calib : tutorial_lib.photocalib.PhotoCalib
        That band's calibration (``butler.get("deepCoadd_calexp.photoCalib", ...)``).
    mag_err : array-like, optional
        The learner's magnitude errors, if not given in ``answer``.
    require_err : bool, optional
        If True, magnitudes without errors are not yet a full answer.
    flux : str, optional
        The flux measurement, ``base_PsfFlux`` by default.
    atol : float, optional
        Largest difference in magnitude still counted as equal.
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    if isinstance(answer, tuple):
        if len(answer) != 2:
            return wrong(f"give the magnitudes, or the pair (mag, mag_err); got a tuple of {len(answer)} items.")
        answer, mag_err = answer
    for what, values in (("the magnitudes", answer), ("the magnitude errors", mag_err)):
        unit = getattr(values, "unit", None)
        if unit is not None and not is_magnitude_unit(unit):
            return wrong(f"{what} have unit '{unit}', not mag: convert fluxes with instFluxToMagnitude.")
    if np.ndim(answer) == 0:
        return wrong("give one magnitude per row of the table (an array), not a single number.")
    mags = _values(answer)
    inst = _column(table, f"{flux}_instFlux")
    inst_err = _column(table, f"{flux}_instFluxErr")
    n = len(inst)
    if mags.shape != (n,):
        return wrong(
            f"{mags.size:,} magnitudes for {n:,} rows: keep one value per row, NaN where there is no magnitude, "
            "so the array stays aligned with the table (and with the other bands)."
        )
    expected, expected_err = (np.asarray(a, dtype=float) for a in photo_calib.instFluxToMagnitude(inst, inst_err))
    problem = _magnitude_problem(mags, expected, inst, table, photo_calib, flux, atol)
    if problem:
        return wrong(problem)
    n_mag = int(np.count_nonzero(np.isfinite(expected)))
    n_nan = n - n_mag
    if mag_err is None:
        if require_err:
            return wrong(
                f"the {n_mag:,} magnitudes are right; now the errors too: give instFluxToMagnitude the "
                f"{flux}_instFluxErr column as well, and it returns (mag, magErr)."
            )
        return right(f"{n_mag:,} magnitudes match; {n_nan:,} rows (flux <= 0 or NaN) are NaN, as they should be.")
    problem = _magnitude_error_problem(mag_err, expected_err, photo_calib, n, atol)
    if problem:
        return wrong(problem)
    return right(
        f"{n_mag:,} magnitudes and their errors match; {n_nan:,} rows (flux <= 0 or NaN) have none, as they should."
    )


def _magnitude_problem(mags, expected, inst, table, photo_calib, flux: str, atol: float) -> str | None:
    """What is wrong with ``mags`` (None if nothing)."""
    if np.allclose(mags, expected, rtol=0, atol=atol, equal_nan=True):
        return None
    other = _other_measurement(mags, table, photo_calib, flux, atol)
    if other is not None:
        return f"these are the magnitudes of {other}; this exercise asks for {flux}."
    expected_nan = np.isnan(expected)
    answer_nan = ~np.isfinite(mags)
    got_negative = expected_nan & ~answer_nan & (inst <= 0)
    if got_negative.any():
        return (
            f"{_fmt(int(got_negative.sum()), 'row')} with a zero or negative flux got a magnitude. A flux <= 0 has "
            "no magnitude: it must be NaN (did you take abs() or clip the fluxes?)."
        )
    if (expected_nan & ~answer_nan).any():
        return "rows whose flux is NaN (a failed measurement) must have a NaN magnitude."
    lost = ~expected_nan & answer_nan
    if lost.any():
        return (
            f"{_fmt(int(lost.sum()), 'row')} with a positive flux have a NaN or infinite magnitude; only fluxes "
            "<= 0 or NaN have none."
        )
    both = ~expected_nan
    diff = mags[both] - expected[both]
    if np.ptp(diff) < 1e-3:
        offset = float(np.median(diff))
        return _offset_hint(offset, photo_calib.zero_point) or (
            f"the magnitudes are all off by {offset:+.3f} mag: check the zero point."
        )
    slope = np.polyfit(expected[both], mags[both], 1)[0] if diff.size > 1 else np.nan
    if abs(slope - math.log(10.0)) < 1e-3:
        return "np.log is the natural logarithm: magnitudes use log10 (np.log10)."
    if abs(slope + 1.0) < 1e-3:
        return "the sign is flipped: m = -2.5 log10(flux) + constant, so brighter objects have smaller m."
    n_bad = int(np.count_nonzero(np.abs(diff) > atol))
    return f"{_fmt(n_bad, 'magnitude')} differ from instFluxToMagnitude's, by up to {np.max(np.abs(diff)):.3f} mag."


def _magnitude_error_problem(mag_err, expected_err, photo_calib, n: int, atol: float) -> str | None:
    """What is wrong with the magnitude errors (None if nothing)."""
    if np.ndim(mag_err) == 0:
        return "give one magnitude error per row (an array), not a single number."
    errs = _values(mag_err)
    if errs.shape != (n,):
        return f"{errs.size:,} magnitude errors for {n:,} rows: keep one per row, NaN where there is no magnitude."
    expected_ok = np.isfinite(expected_err)
    answer_ok = np.isfinite(errs)
    if (answer_ok & ~expected_ok).any():
        return "rows without a magnitude (flux <= 0 or NaN) must have a NaN magnitude error too."
    if (~answer_ok & expected_ok).any():
        return "some rows with a magnitude have a NaN magnitude error."
    if (errs[answer_ok] < 0).any():
        return "an uncertainty is never negative: some magnitude errors are < 0."
    if not answer_ok.any() or np.max(np.abs(errs[answer_ok] - expected_err[answer_ok])) <= atol:
        return None
    ratio = errs[answer_ok] / expected_err[answer_ok]
    typical = float(np.median(ratio))
    mean = photo_calib.getCalibrationMean()
    if np.max(np.abs(ratio - typical)) < 1e-4 * max(1.0, abs(typical)):
        if abs(typical - 1 / _POGSON) < 1e-3:
            return (
                "that is the fractional flux error, fluxErr/flux; the magnitude error is 2.5/ln(10) = 1.0857 times it."
            )
        if abs(typical - 2.5 / _POGSON) < 1e-3:
            return "2.5 * fluxErr/flux is too large: the factor is 2.5/ln(10) = 1.0857, as d(log10 f) = df/(f ln 10)."
        if abs(typical / mean - 1) < 1e-3:
            return "the error in nJy was divided by the flux in counts: use the same units for both."
        if abs(typical * mean - 1) < 1e-3:
            return "the error in counts was divided by the flux in nJy: use the same units for both."
    return "the magnitude errors differ from instFluxToMagnitude's: magErr = 2.5/ln(10) * fluxErr / flux."


# --- averaging ----------------------------------------------------------------------------------------------
def check_mean_flux(answer, fluxes, *, calibration_mean: float | None = None, rtol: float = 1e-6) -> CheckResult:
    """Check the mean flux, in nJy, of a sample that includes negative fluxes (NaN are left out).

    Parameters
    ----------
    answer : float or Quantity
        The learner's mean flux in nJy (a Quantity with a flux-density unit is converted).
    fluxes : array-like
        Calibrated fluxes (nJy) of the sample, negative and NaN values included.
    calibration_mean : float, optional
        nJy per count of the band, to recognise an answer left in counts.
    rtol : float, optional
        Relative tolerance.
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    unit = getattr(answer, "unit", None)
    if unit is not None:
        if is_magnitude_unit(unit, dimensionless=False):
            return wrong("that is a magnitude; give the mean flux in nJy (magnitudes cannot average negative fluxes).")
        try:
            answer = u.Quantity(answer).to_value(u.nJy)
        except u.UnitsError:
            return wrong(f"the answer has unit '{unit}'; give a flux in nJy.")
    if np.ndim(answer) != 0:
        return wrong("give one number, the mean of the sample's fluxes; got an array.")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return wrong(f"give a number (nJy); got a {type(answer).__name__}.")
    data = _values(fluxes)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return wrong("the sample has no finite fluxes: check the selection.")
    expected = float(np.mean(finite))
    scale = max(abs(expected), float(np.std(finite)) / math.sqrt(finite.size), 1e-30)

    def close(x: float) -> bool:
        return math.isfinite(x) and abs(x - expected) <= rtol * scale + 1e-9

    if math.isnan(value):
        return wrong(
            "the mean is NaN because some fluxes are NaN (failed measurements): use np.nanmean, which skips them."
        )
    sem = float(np.std(finite, ddof=1)) / math.sqrt(finite.size) if finite.size > 1 else float("nan")
    if close(value):
        n_negative = int(np.count_nonzero(finite < 0))
        return right(
            f"mean = {expected:.1f} nJy over {finite.size:,} fluxes, {n_negative:,} of them negative; its standard "
            f"error is {sem:.1f} nJy, so the mean is measured at {expected / sem:.0f} sigma."
        )
    positive = finite[finite > 0]
    if positive.size and positive.size < finite.size and abs(value - float(np.mean(positive))) <= rtol * scale + 1e-9:
        bias = 100 * (float(np.mean(positive)) / expected - 1)
        return wrong(
            f"that mean leaves out the negative fluxes, which biases it high by {bias:.1f}%. A negative flux is a "
            "measurement (signal plus noise): averaging needs all of them."
        )
    if positive.size:
        from_mags = 10 ** (-0.4 * (np.mean(_AB_NJY - 2.5 * np.log10(positive)) - _AB_NJY))
        if abs(value - from_mags) <= 1e-6 * scale:
            return wrong(
                "that comes from averaging magnitudes, which drops every negative flux and weights the rest "
                "logarithmically. Average the fluxes in nJy."
            )
    if abs(value - float(np.median(finite))) <= rtol * scale + 1e-9:
        return wrong("that is the median; the exercise asks for the mean (np.nanmean).")
    if calibration_mean and abs(value * calibration_mean - expected) <= rtol * scale + 1e-9:
        return wrong("that is the mean in counts: calibrate to nJy first (multiply by the calibration mean).")
    if 10 < value < 40 and abs(expected) > 40:
        return wrong("that looks like a magnitude; give the mean flux in nJy.")
    return wrong("not the mean of these fluxes: use np.nanmean on the calibrated fluxes (nJy) of the whole sample.")
