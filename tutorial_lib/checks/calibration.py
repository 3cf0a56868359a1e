"""Self-checks for lesson 2: counting negative fluxes, calibrated magnitudes and their errors, mean fluxes.

Each function recomputes the expected answer from the data passed in and compares; when the answer is wrong
it looks for the usual mistakes (NaN counted as negative, a forgotten zero point, a natural logarithm, a
magnitude error without the 2.5/ln 10 factor, negative fluxes dropped before averaging, ...) and says which.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..lesson import plural
from ..photometry import AB_MAGNITUDE_OF_ONE_NANOJANSKY as _AB_NJY
from ..photometry import is_magnitude_unit
from ._result import (
    NO_ANSWER,
    CheckResult,
    Mistakes,
    column,
    first_mistake,
    floats,
    is_missing,
    judge,
    right,
    self_check,
    within,
    wrong,
)

if TYPE_CHECKING:
    from astropy.table import Table
    from numpy.typing import ArrayLike

    from ..photocalib import PhotoCalib


__all__ = ["check_band_magnitudes", "check_magnitudes", "check_mean_flux", "check_negative_count"]

#: 2.5 / ln(10) = 1.0857: d(mag) = 1.0857 d(flux) / flux.
_POGSON = 2.5 / math.log(10.0)


def _same_magnitudes(atol: float) -> Callable[[Any, Any], bool]:
    """Equality of two magnitude arrays to ``atol`` mag, NaN equal to NaN."""
    return lambda a, b: bool(np.allclose(a, b, rtol=0, atol=atol, equal_nan=True))


# --- counting -----------------------------------------------------------------------------------------------
def _probe_table(table: Table, flux: str) -> tuple[Table, int]:
    """A copy of ``table`` whose ``<flux>_instFlux`` has exactly 0.0 in a few rows and a few more negatives, and
    the number of rows set to 0.0.

    Forced fluxes of exactly zero are rare but real (patches 0, 2 and 5 of the simulated tract 0 have them in
    g); a rule such as ``flux <= 0`` only shows its difference from ``flux < 0`` on such rows. The added
    negatives change the right count, so a function that counts in some other table than its argument shows too.
    """
    probe = table.copy(copy_data=True)
    values = column(probe, f"{flux}_instFlux", float)
    positive_rows = np.flatnonzero(values > 0)
    n_changed = max(1, min(5, positive_rows.size // 4))
    values[positive_rows[:n_changed]] = 0.0
    values[positive_rows[n_changed : 2 * n_changed]] *= -1.0
    probe[f"{flux}_instFlux"] = values
    return probe, n_changed


@self_check
def check_negative_count(answer: Any, table: Table, *, flux: str = "base_PsfFlux") -> CheckResult:
    """Check the number of rows of ``table`` whose ``<flux>_instFlux`` is negative (NaN and 0 are not negative).

    Parameters
    ----------
    answer : int or callable
        The learner's count, or a function ``count(table) -> int``. A function is also tried on a copy of the
        table with a few fluxes set to exactly 0, so that ``flux <= 0`` is told apart from ``flux < 0`` even
        where the table itself has no zero flux.
    table : astropy.table.Table
        A ``deepCoadd_forced_src`` table.
    flux : str, optional
        The flux measurement, ``base_PsfFlux`` by default.

    Returns
    -------
    CheckResult
    """
    values = column(table, f"{flux}_instFlux", float)
    if not callable(answer):
        problem = _count_problem(answer)
        return wrong(problem) if problem else _negative_count_verdict(int(answer), values, flux)
    probe, n_changed = _probe_table(table, flux)
    try:
        count, on_probe = answer(table), answer(probe)
    except Exception as error:  # noqa: BLE001 (any failure of the learner's function is the verdict)
        return wrong(f"calling your function on the table raised {type(error).__name__}: {error}")
    if is_missing(count):
        return wrong(NO_ANSWER)
    problem = _count_problem(count)
    if problem is not None:
        return wrong(f"your function returns {count!r}: {problem}")
    verdict = _negative_count_verdict(int(count), values, flux)
    probe_values = column(probe, f"{flux}_instFlux", float)
    probe_ok = _count_problem(on_probe) is None
    if not verdict.correct or (probe_ok and on_probe == np.count_nonzero(probe_values < 0)):
        return verdict
    copy = f"a copy with {n_changed} fluxes set to 0.0 and {n_changed} more made negative"
    if probe_ok and on_probe == count:
        return wrong(
            f"right on this table, but your function gives {count} on {copy} too: count the rows of the table "
            "it is given (its argument), not of a table from outside the function."
        )
    if probe_ok and on_probe == np.count_nonzero(probe_values <= 0):
        return wrong(
            f"right on this table, which has no flux of exactly 0; on {copy} your function counts the zeros "
            "too. Zero is not negative: count flux < 0, not flux <= 0."
        )
    return wrong(f"right on this table, but on {copy} your function gives {on_probe!r}: count flux < 0 in it.")


def _count_problem(answer: Any) -> str | None:
    """Why ``answer`` is not a count of rows (None if it is one)."""
    if isinstance(answer, bool | np.bool_):
        return "give the number of rows (an integer), not True/False."
    if isinstance(answer, np.ndarray) or hasattr(answer, "colnames"):
        return (
            "give one number, not an array: count the True values of the mask with np.count_nonzero(mask) "
            "or mask.sum()."
        )
    if isinstance(answer, numbers.Real) and float(answer).is_integer():
        return None
    return f"give a whole number of rows; got {answer!r}."


def _negative_count_verdict(count: int, values: np.ndarray, flux: str) -> CheckResult:
    """The verdict on a count of negative ``values``, naming the usual wrong counts."""
    n_negative, n_nan = int(np.count_nonzero(values < 0)), int(np.count_nonzero(np.isnan(values)))
    n_zero, n_positive = int(np.count_nonzero(values == 0)), int(np.count_nonzero(values > 0))
    n_rows = len(values)
    mistakes: Mistakes = {
        "that count includes the NaN fluxes and the zero ones: ~(flux > 0) is True for both. "
        "Count flux < 0, which is False for NaN and for 0.": n_negative + n_nan + n_zero if n_nan and n_zero else None,
        "that count includes the NaN fluxes (failed measurements): ~(flux >= 0) and ~(flux > 0) are True "
        "for NaN, because every comparison with NaN is False. Count flux < 0, which is False for NaN.": (
            n_negative + n_nan if n_nan else None
        ),
        "that is the number of NaN fluxes (failed measurements); count the negative ones, flux < 0.": n_nan or None,
        "that count includes fluxes of exactly zero (flux <= 0); zero is not negative: count flux < 0.": (
            n_negative + n_zero if n_zero else None
        ),
        "that is the number of positive fluxes; count the negative ones, flux < 0.": n_positive,
        "that is the number of rows that are NOT negative; count flux < 0.": (
            count if count in {n_rows - n_negative, n_positive + n_nan} else None
        ),
        "that is the number of rows in the table; count only those with flux < 0.": n_rows,
    }
    zeros = f" and the {n_zero:,} zero fluxes" if n_zero else ""
    return judge(
        count,
        n_negative,
        int.__eq__,
        f"{plural(n_negative, 'row')} of {len(values):,} have a negative {flux}_instFlux. The {n_nan:,} NaN "
        f"values are failed measurements, not negative fluxes{zeros}.",
        mistakes,
        f"not the number of negative {flux}_instFlux values in this table. Use "
        f"np.count_nonzero(table['{flux}_instFlux'] < 0), in the band asked for.",
    )


# --- magnitudes ---------------------------------------------------------------------------------------------
@self_check
def check_magnitudes(
    answer: Any,
    table: Table,
    photo_calib: PhotoCalib,
    *,
    mag_err: ArrayLike | None = None,
    require_err: bool = False,
    flux: str = "base_PsfFlux",
    atol: float = 1e-6,
    other_tables: Mapping[str, Table] | None = None,
) -> CheckResult:
    """Check AB magnitudes (and their errors) of ``<flux>_instFlux``, one per row of ``table``.

    Parameters
    ----------
    answer : numpy.ndarray of float or tuple
        The learner's magnitudes, one per row (NaN where the flux is zero, negative or NaN); or the tuple
        ``(mag, mag_err)`` that ``instFluxToMagnitude(instFlux, instFluxErr)`` returns.
    table : astropy.table.Table
        The ``deepCoadd_forced_src`` table of one band.
    photo_calib : tutorial_lib.photocalib.PhotoCalib
        That band's calibration (``butler.get("deepCoadd_calexp.photoCalib", ...)``).
    mag_err : numpy.ndarray of float, optional
        The learner's magnitude errors, if not given in ``answer``.
    require_err : bool, optional
        If True, magnitudes without errors are not yet a full answer.
    flux : str, optional
        The flux measurement, ``base_PsfFlux`` by default.
    atol : float, optional
        Largest difference in magnitude still counted as equal.
    other_tables : mapping of str to astropy.table.Table, optional
        The other bands' forced tables, by band, to recognise magnitudes computed from the wrong band's table.

    Returns
    -------
    CheckResult
    """
    if isinstance(answer, list) and len(answer) == 2 and all(np.ndim(part) == 1 for part in answer):
        answer = tuple(answer)  # [mag, mag_err]: the pair written as a list
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
    mags, inst = floats(answer), column(table, f"{flux}_instFlux", float)
    n = len(inst)
    if mags.shape != (n,):
        return wrong(
            f"{mags.size:,} magnitudes for {n:,} rows: keep one value per row, NaN where there is no magnitude, "
            "so the array stays aligned with the table (and with the other bands)."
        )
    expected, expected_err = (
        np.asarray(a, dtype=float)
        for a in photo_calib.instFluxToMagnitude(inst, column(table, f"{flux}_instFluxErr", float))
    )
    problem = _magnitude_problem(mags, expected, inst, table, photo_calib, flux, atol, other_tables or {})
    if problem:
        return wrong(problem)
    n_mag = int(np.count_nonzero(np.isfinite(expected)))
    if mag_err is None:
        if require_err:
            return wrong(
                f"the {n_mag:,} magnitudes are right; now the errors too: give instFluxToMagnitude the "
                f"{flux}_instFluxErr column as well, and it returns (mag, magErr)."
            )
        return right(f"{n_mag:,} magnitudes match; {n - n_mag:,} rows (flux <= 0 or NaN) are NaN, as they should be.")
    problem = _magnitude_error_problem(mag_err, expected_err, np.isfinite(expected), photo_calib, atol)
    if problem:
        return wrong(problem)
    return right(
        f"{n_mag:,} magnitudes and their errors match; {n - n_mag:,} rows (flux <= 0 or NaN) have none, as they should."
    )


def _other_magnitudes(tables: Mapping[str, Table], photo_calib: PhotoCalib, flux: str, n: int) -> Mistakes:
    """Magnitudes of the other flux measurements of ``tables[""]`` and of the other bands' tables, by message."""
    this = tables[""]
    names = sorted({c[: -len("_instFlux")] for c in this.colnames if c.endswith("_instFlux")} - {flux})
    wrong_band = "band's forced table: take the fluxes from this band's table."
    sources = [(this, other, f"these are the magnitudes of {other}; this exercise asks for {flux}.") for other in names]
    sources += [
        (table, flux, f"these are the magnitudes of the {band} {wrong_band}") for band, table in tables.items() if band
    ]
    return {
        message: lambda table=table, name=name: (
            photo_calib.instFluxToMagnitude(column(table, f"{name}_instFlux", float))
            if len(table) == n and f"{name}_instFlux" in table.colnames
            else None
        )
        for table, name, message in sources
    }


def _magnitude_problem(
    mags: np.ndarray,
    expected: np.ndarray,
    inst: np.ndarray,
    table: Table,
    photo_calib: PhotoCalib,
    flux: str,
    atol: float,
    other_tables: Mapping[str, Table],
) -> str | None:
    """What is wrong with ``mags`` (None if nothing)."""
    same = _same_magnitudes(atol)
    if same(mags, expected):
        return None
    infinite = np.isinf(mags)
    if infinite.any():
        return (
            f"{plural(int(infinite.sum()), 'row')} got an infinite magnitude: the log of a zero flux. A flux <= 0 "
            "has no magnitude: make them NaN (instFluxToMagnitude does)."
        )
    other = first_mistake(mags, _other_magnitudes({"": table, **other_tables}, photo_calib, flux, mags.size), same)
    if other is not None:
        return other
    expected_nan, answer_nan = np.isnan(expected), ~np.isfinite(mags)
    got_negative, lost = expected_nan & ~answer_nan & (inst <= 0), ~expected_nan & answer_nan
    if got_negative.any() and lost.any():
        return (
            f"{plural(int(got_negative.sum()), 'row')} with a flux <= 0 got a magnitude and "
            f"{plural(int(lost.sum()), 'row')} with a positive flux got none: the NaN rows do not line up with this "
            "table's fluxes. Compute the magnitudes from this table's own instFlux column, in its row order "
            "(not another band's table, not a sorted or filtered copy)."
        )
    if got_negative.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            from_abs = np.asarray(photo_calib.instFluxToMagnitude(np.abs(inst)), dtype=float)
        if np.allclose(mags[got_negative], from_abs[got_negative], rtol=0, atol=1e-3):
            how = "it looks like abs(flux) was used"
        elif np.ptp(mags[got_negative]) < 1e-6:
            how = f"they all got {float(mags[got_negative][0]):.3g}: clipped fluxes or a NaN filled in"
        else:
            how = "keep them NaN"
        return (
            f"{plural(int(got_negative.sum()), 'row')} with a zero or negative flux got a magnitude. A flux <= 0 "
            f"has no magnitude: it must be NaN ({how})."
        )
    if (expected_nan & ~answer_nan).any():
        return "rows whose flux is NaN (a failed measurement) must have a NaN magnitude."
    if lost.any():
        return (
            f"{plural(int(lost.sum()), 'row')} with a positive flux have a NaN or infinite magnitude; only fluxes "
            "<= 0 or NaN have none."
        )
    return _magnitude_scale_problem(mags[~expected_nan], expected[~expected_nan], photo_calib.zero_point, atol)


def _magnitude_scale_problem(mags: np.ndarray, expected: np.ndarray, zero_point: float, atol: float) -> str:
    """Name a constant offset or a wrong scale of magnitudes that differ from the right ones where both exist."""
    diff = mags - expected
    if np.ptp(diff) < 1e-3:
        offset = float(np.median(diff))
        log_mean = _AB_NJY - zero_point  # 2.5 log10(calibrationMean)
        offsets: Mistakes = {
            f"these are instrumental magnitudes, -2.5 log10(counts): the zero point ({zero_point:.2f}) "
            "is missing. Use photoCalib.instFluxToMagnitude on the instFlux column.": -zero_point,
            "counts were used as if they were nJy (31.4 - 2.5 log10(counts)): multiply by "
            "photoCalib.getCalibrationMean() first, or use photoCalib.instFluxToMagnitude.": log_mean,
            f"the zero point {zero_point:.2f} was applied to fluxes already in nJy: calibrated twice. "
            "Give instFluxToMagnitude the instFlux column (counts).": -log_mean,
        }
        return first_mistake(offset, offsets, within(0.01)) or (
            f"the magnitudes are all off by {offset:+.3f} mag: check the zero point."
        )
    slope = float(np.polyfit(expected, mags, 1)[0]) if diff.size > 1 else math.nan
    slopes: Mistakes = {
        "np.log is the natural logarithm: magnitudes use log10 (np.log10).": math.log(10.0),
        "the sign is flipped: m = -2.5 log10(flux) + constant, so brighter objects have smaller m.": -1.0,
    }
    n_bad = int(np.count_nonzero(np.abs(diff) > atol))
    return first_mistake(slope, slopes, within(1e-3)) or (
        f"{plural(n_bad, 'magnitude')} differ from instFluxToMagnitude's, by up to {np.max(np.abs(diff)):.3f} mag."
    )


def _magnitude_error_problem(
    mag_err: ArrayLike, expected_err: np.ndarray, has_mag: np.ndarray, photo_calib: PhotoCalib, atol: float
) -> str | None:
    """What is wrong with the magnitude errors of the rows that have a magnitude (None if nothing).

    Rows without one are not judged: NaN is a fair answer there, and so is afw's finite error of a negative
    flux (``instFluxToMagnitude`` keeps 2.5/ln(10) |fluxErr/flux| for it).
    """
    n = has_mag.size
    if np.ndim(mag_err) == 0:
        return "give one magnitude error per row (an array), not a single number."
    errs = floats(mag_err)
    if errs.shape != (n,):
        return f"{errs.size:,} magnitude errors for {n:,} rows: keep one per row, NaN where there is no magnitude."
    missing = has_mag & ~np.isfinite(errs)
    if missing.any():
        return f"{plural(int(missing.sum()), 'row')} with a magnitude got no finite magnitude error."
    with np.errstate(invalid="ignore"):  # afw 29 keeps the sign of a negative flux's error; earlier afw did not
        afw = np.isclose(np.abs(errs), expected_err, rtol=0, atol=atol)
    invented = ~has_mag & np.isfinite(errs) & ~afw
    if invented.any() and np.allclose(errs[has_mag], expected_err[has_mag], rtol=0, atol=atol):
        return (
            f"{plural(int(invented.sum()), 'row')} without a magnitude (flux <= 0 or NaN) got a magnitude error: "
            "leave them NaN (a NaN magnitude error too)."
        )
    if (errs[has_mag] < 0).any():
        return "an uncertainty is never negative: some magnitude errors are < 0."
    if not has_mag.any() or np.max(np.abs(errs[has_mag] - expected_err[has_mag])) <= atol:
        return None
    ratio = errs[has_mag] / expected_err[has_mag]
    typical, mean = float(np.median(ratio)), photo_calib.getCalibrationMean()
    otherwise = "the magnitude errors differ from instFluxToMagnitude's: magErr = 2.5/ln(10) * fluxErr / flux."
    if np.max(np.abs(ratio - typical)) >= 1e-4 * max(1.0, abs(typical)):
        return otherwise
    ratios: Mistakes = {
        "that is the fractional flux error, fluxErr/flux; the magnitude error is 2.5/ln(10) = 1.0857 times it.": 1
        / _POGSON,
        "2.5 * fluxErr/flux is too large: the factor is 2.5/ln(10) = 1.0857, as d(log10 f) = df/(f ln 10).": 2.5
        / _POGSON,
        "the error in nJy was divided by the flux in counts: use the same units for both.": mean,
        "the error in counts was divided by the flux in nJy: use the same units for both.": 1 / mean,
    }
    return first_mistake(typical, ratios, lambda a, b: abs(a / b - 1) < 1e-3) or otherwise


@self_check
def check_band_magnitudes(
    answer: Any,
    forced: Mapping[str, Table],
    photo_calib: Mapping[str, PhotoCalib],
    *,
    band: str = "r",
    flux: str = "base_PsfFlux",
    atol: float = 1e-6,
) -> CheckResult:
    """Check a function ``answer(forced, photo_calib) -> (mag, mag_err)`` giving one band's magnitudes and errors.

    The function must take the band's table from ``forced`` and the band's calibration from ``photo_calib``.
    The check calls it twice: with the data, and with calibrations that differ between bands (each band's
    calibration scaled by a different factor). Every band of the 2018 coadds has zero point 27, so only the
    second call shows a function that calibrates with another band's calibration.

    Parameters
    ----------
    answer : callable
        The learner's function.
    forced : mapping of str to astropy.table.Table
        The forced tables of every band, by band.
    photo_calib : mapping of str to tutorial_lib.photocalib.PhotoCalib
        The ``deepCoadd_calexp.photoCalib`` of every band, by band.
    band : str, optional
        The band the function is meant to calibrate.
    flux : str, optional
        The flux measurement, ``base_PsfFlux`` by default.
    atol : float, optional
        Largest difference in magnitude still counted as equal.

    Returns
    -------
    CheckResult
    """
    if not callable(answer):
        return wrong(
            "give the function itself (its name, without parentheses), so that the check can call it with other "
            "calibrations as well."
        )
    try:
        result = answer(forced, photo_calib)
    except Exception as error:  # noqa: BLE001 (any failure of the learner's function is the verdict)
        return wrong(f"calling your function with forced and photo_calib raised {type(error).__name__}: {error}")
    if is_missing(result):
        return wrong(NO_ANSWER)
    others = {other: table for other, table in forced.items() if other != band}
    verdict = check_magnitudes(
        result, forced[band], photo_calib[band], require_err=True, flux=flux, atol=atol, other_tables=others
    )
    if not verdict.correct:
        return wrong(f"your function's result: {verdict.message}")
    probe = {
        other: type(calib)(calib.getCalibrationMean() * 10 ** (0.04 * (k + 1)), calib.getCalibrationErr())
        for k, (other, calib) in enumerate(sorted(photo_calib.items()))
    }
    try:
        probed = floats(answer(forced, probe)[0])
    except Exception as error:  # noqa: BLE001
        return wrong(f"with other calibrations your function raised {type(error).__name__}: {error}")
    inst = column(forced[band], f"{flux}_instFlux", float)
    mistakes: dict[str, Any] = {
        f"your function calibrates the {band} fluxes with the {other} band's calibration. Here every band has "
        "zero point 27, so the numbers came out right by luck; with calibrations that differ between bands "
        f"they are wrong. Use photo_calib[{band!r}].": lambda calib=calib: calib.instFluxToMagnitude(inst)
        for other, calib in probe.items()
        if other != band
    }
    mistakes[
        "your function ignores the calibrations it is given (it reads a calibration from elsewhere, such as "
        f"the notebook's own variables): use its photo_calib argument, photo_calib[{band!r}]."
    ] = floats(result[0])
    return judge(
        probed,
        probe[band].instFluxToMagnitude(inst),
        _same_magnitudes(atol),
        f"{verdict.message} Your function uses the {band} band's own calibration.",
        mistakes,
        "with calibrations that differ between bands, your function's magnitudes match no band's calibration: "
        f"calibrate forced[{band!r}] with photo_calib[{band!r}] only.",
    )


# --- averaging ----------------------------------------------------------------------------------------------
@self_check
def check_mean_flux(
    answer: Any, fluxes: ArrayLike, *, calibration_mean: float | None = None, rtol: float = 1e-6
) -> CheckResult:
    """Check the mean flux, in nJy, of a sample that includes negative fluxes (NaN are left out).

    Parameters
    ----------
    answer : float or astropy.units.Quantity
        The learner's mean flux in nJy (a Quantity with a flux-density unit is converted).
    fluxes : numpy.ndarray of float
        Calibrated fluxes (nJy) of the sample, negative and NaN values included.
    calibration_mean : float, optional
        nJy per count of the band, to recognise an answer left in counts.
    rtol : float, optional
        Relative tolerance. An answer within 5% of the mean's standard error is right too, so the value the
        lesson prints (0.1 nJy) passes when typed back.

    Returns
    -------
    CheckResult
    """
    unit = getattr(answer, "unit", None)
    if unit is not None:
        if is_magnitude_unit(unit, dimensionless=False):
            return wrong("that is a magnitude; give the mean flux in nJy (magnitudes cannot average negative fluxes).")
        import astropy.units as u  # already imported: the answer carries a unit

        try:
            answer = u.Quantity(answer).to_value(u.nJy)
        except u.UnitsError:
            return wrong(f"the answer has unit '{unit}'; give a flux in nJy.")
    if np.ndim(answer) != 0:
        return wrong("give one number, the mean of the sample's fluxes; got an array.")
    if isinstance(answer, bool | str | bytes):
        return wrong(f"give a number (nJy); got {answer!r}.")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return wrong(f"give a number (nJy); got a {type(answer).__name__}.")
    if math.isnan(value):
        return wrong(
            "the mean is NaN because some fluxes are NaN (failed measurements): use np.nanmean, which skips them."
        )
    flux_unit = getattr(fluxes, "unit", None)
    if flux_unit is not None:
        import astropy.units as u  # already imported: the sample carries a unit

        try:
            fluxes = u.Quantity(fluxes).to_value(u.nJy)
        except u.UnitsError:
            return wrong(
                f"the sample's fluxes have unit '{flux_unit}': calibrate them to nJy first "
                "(PhotoCalib.instFluxToNanojansky)."
            )
    data = floats(fluxes)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return wrong("the sample has no finite fluxes: check the selection.")
    expected = float(np.mean(finite))
    scale = max(abs(expected), float(np.std(finite)) / math.sqrt(finite.size), 1e-30)
    sem = float(np.std(finite, ddof=1)) / math.sqrt(finite.size) if finite.size > 1 else math.nan
    return judge(
        value,
        expected,
        within(max(rtol * scale, 0.05 * sem if math.isfinite(sem) else 0.0) + 1e-9),
        f"mean = {expected:.1f} nJy over {finite.size:,} fluxes, {int(np.count_nonzero(finite < 0)):,} of them "
        f"negative; its standard error is {sem:.1f} nJy, so the mean is measured at {expected / sem:.0f} sigma.",
        _mean_flux_mistakes(value, finite, expected, calibration_mean),
        "not the mean of these fluxes: use np.nanmean on the calibrated fluxes (nJy) of the whole sample.",
    )


def _mean_flux_mistakes(value: float, finite: np.ndarray, expected: float, calibration_mean: float | None) -> Mistakes:
    """The usual wrong means of the ``finite`` fluxes (whose mean is ``expected``), by message."""
    positive = finite[finite > 0]
    mean_positive = float(np.mean(positive)) if positive.size else math.nan
    bias = 100 * (mean_positive / expected - 1)
    return {
        f"that mean leaves out the negative fluxes, which biases it high by {bias:.1f}%. "
        "A negative flux is a measurement (signal plus noise): averaging needs all of them.": mean_positive
        if 0 < positive.size < finite.size
        else None,
        "that comes from averaging magnitudes, which drops every negative flux and weights the rest "
        "logarithmically. Average the fluxes in nJy.": lambda: (
            10 ** (-0.4 * (np.mean(_AB_NJY - 2.5 * np.log10(positive)) - _AB_NJY)) if positive.size else None
        ),
        "that is the median; the exercise asks for the mean (np.nanmean).": np.median(finite),
        "that is the mean in counts: calibrate to nJy first (multiply by the calibration mean).": expected
        / calibration_mean
        if calibration_mean
        else None,
        "that looks like a magnitude; give the mean flux in nJy.": value
        if 10 < value < 40 and abs(expected) > 40
        else None,
    }
