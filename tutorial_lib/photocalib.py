"""A spatially constant photometric calibration with the semantics of ``lsst.afw.image.PhotoCalib``.

The LSST Science Pipelines measure fluxes in instrumental units (counts, ``ct``) and calibrate them with a
``PhotoCalib``: ``flux [nJy] = instFlux [ct] * calibrationMean [nJy/ct]`` and the AB magnitude is
``31.4 - 2.5 log10(flux [nJy])`` exactly, because 1 nJy is AB magnitude 31.4 (``lsst/utils`` ``Magnitude.h``;
afw ``PhotoCalib.cc``). This class reproduces the spatially constant case, which is what coadds have, without
needing the compiled ``lsst.afw`` package.

Negative fluxes are normal in forced photometry (a faint object measured in a band where it is not detected
scatters below zero): they stay negative in nJy and only their magnitudes are NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from ._arrays import as_array, is_quantity
from .photometry import AB_MAGNITUDE_OF_ONE_NANOJANSKY, as_magnitude, one_number

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


__all__ = ["AB_MAGNITUDE_OF_ONE_NANOJANSKY", "PhotoCalib"]


_TWO_POINT_FIVE_OVER_LN10 = 2.5 / math.log(10.0)
_INSTRUMENTAL_UNITS = (u.ct, u.adu, u.dimensionless_unscaled)


def _as_counts(values: ArrayLike, name: str) -> tuple[float | np.ndarray, bool]:
    """Return ``values`` as a float ndarray (or float) in counts, and whether the input was a Quantity.

    Accepts scalars, sequences, ndarrays, astropy Table columns and Quantities, masked or not (masked values
    become NaN). A unit other than counts (for example a flux already in nJy) is refused, because calibrating it
    twice is a silent, costly mistake; so are flags and anything that is not numbers.
    """
    unit = getattr(values, "unit", None)
    if unit is not None and u.Unit(unit) not in _INSTRUMENTAL_UNITS:
        raise u.UnitsError(
            f"{name} has unit '{unit}', but a PhotoCalib converts instrumental fluxes in counts ('ct'). "
            "Pass the *_instFlux column (counts), not a flux that is already calibrated."
        )
    if values is None or isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be instrumental fluxes in counts (numbers), got {type(values).__name__}")
    data = as_array(values, integer_fill=None)
    if data.dtype == bool:
        raise TypeError(f"{name} is a boolean column (a flag), not a flux: pass the *_instFlux column (counts)")
    try:
        array = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be instrumental fluxes in counts (numbers), got dtype {data.dtype}") from None
    return (float(array) if array.ndim == 0 else array), is_quantity(values)


def _check_errors_match(flux: float | np.ndarray, err: float | np.ndarray) -> None:
    """ValueError unless ``err`` is one number or has one value per flux."""
    if np.ndim(err) != 0 and np.shape(err) != np.shape(flux):
        raise ValueError(
            f"instFluxErr has {np.size(err):,} values for {np.size(flux):,} fluxes: pass the *_instFluxErr column "
            "of the same table (one error per flux)."
        )


#: FLUXMAG0 below this (a zero point under 10 mag; real ones are 20 to 35) is a zero point passed by mistake.
_SMALLEST_FLUXMAG0 = 1e4


def _number_in(value: Any, unit: u.UnitBase, name: str) -> float:
    """One number, in ``unit`` when it is a Quantity; ValueError naming ``name`` otherwise."""
    if is_quantity(value):
        try:
            value = value.to_value(unit)
        except u.UnitsError:
            raise ValueError(f"{name} must be in {unit}, got unit '{value.unit}'") from None
    return one_number(value, name)


class PhotoCalib:
    """Spatially constant photometric calibration from instrumental flux (counts) to nJy and AB magnitudes.

    Parameters
    ----------
    calibrationMean : float
        nJy per count. A coadd with zero point 27 has ``10**(0.4*(31.4 - 27.0))`` = 57.544 nJy/ct
        (pipe_tasks ``scaleZeroPoint.py`` sets coadd zero points to 27).
    calibrationErr : float, optional
        Uncertainty of ``calibrationMean`` in nJy per count, propagated into every error.
    throw_on_negative : bool, optional
        If True, magnitudes of zero or negative fluxes raise ``ValueError`` instead of being NaN, like the
        old ``Calib.setThrowOnNegativeFlux(True)``.

    Notes
    -----
    Errors follow afw 18.0.0 to 28.0.0 (``src/image/PhotoCalib.cc``, 2019 to early 2025):
    ``fluxErr = |flux| * hypot(instFluxErr/instFlux, calibrationErr/calibrationMean)``, computed here as
    ``hypot(instFluxErr*mean, instFlux*calibrationErr)``, which is the same number but stays finite at
    ``instFlux == 0``; ``magErr = 2.5/ln(10) * hypot(instFluxErr/instFlux, calibrationErr/calibrationMean)``.
    afw 29.0.0 (2025, the version of DP1) dropped the calibration term and the absolute value:
    ``fluxErr = instFluxErr * calibrationMean`` and ``magErr = 2.5/ln(10) * instFluxErr/instFlux``, negative for
    a negative flux. With ``calibrationErr = 0`` (the simulated data) the two agree but for that sign.

    Quantities (in ``ct``) give Quantities in ``nJy`` and ``mag``; anything else (floats, ndarrays, Table
    columns, whose unit is checked) gives floats or ndarrays, ready for numpy and matplotlib. Masked values
    become NaN.
    """

    def __init__(self, calibrationMean: float, calibrationErr: float = 0.0, *, throw_on_negative: bool = False) -> None:
        mean = _number_in(calibrationMean, u.nJy / u.ct, "calibrationMean")
        err = _number_in(calibrationErr, u.nJy / u.ct, "calibrationErr")
        if not (math.isfinite(mean) and mean > 0):
            raise ValueError(f"calibrationMean must be a positive number of nJy per count, got {calibrationMean!r}")
        if not (math.isfinite(err) and err >= 0):
            raise ValueError(f"calibrationErr must be zero or positive, got {calibrationErr!r}")
        self._mean = mean
        self._err = err
        self.throw_on_negative = bool(throw_on_negative)

    # --- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_zero_point(cls, zero_point: float, zero_point_err: float = 0.0, **kwargs: bool) -> PhotoCalib:
        """Build the calibration of an image whose magnitude zero point is ``zero_point`` (mag of 1 count).

        ``calibrationMean = 10**(0.4*(31.4 - zero_point))``; for the coadd zero point 27 that is
        57.544 nJy/ct, so 1000 counts is magnitude 19.5.

        Parameters
        ----------
        zero_point : float
            AB magnitude of one count.
        zero_point_err : float
            Its uncertainty, mag.
        **kwargs : bool
            ``throw_on_negative``, passed to :class:`PhotoCalib`.

        Returns
        -------
        PhotoCalib
            The calibration.

        Raises
        ------
        ValueError
            If the zero point gives an infinite or zero ``calibrationMean``.
        """
        try:
            mean = 10.0 ** (0.4 * (AB_MAGNITUDE_OF_ONE_NANOJANSKY - as_magnitude(zero_point, "zero_point")))
        except OverflowError:
            mean = math.inf
        if not (math.isfinite(mean) and mean > 0):
            raise ValueError(
                f"zero point {zero_point!r} mag gives no usable calibration (calibrationMean = 10**(0.4*(31.4 - "
                f"{zero_point!r})) nJy/ct is {'infinite' if mean == math.inf else 'zero'}); a zero point is the "
                "magnitude of one count, e.g. 27 for an HSC coadd. Did you pass a flux (FLUXMAG0: use "
                "PhotoCalib.from_fluxmag0) or a magnitude of something else?"
            )
        err = _number_in(zero_point_err, u.mag, "zero_point_err")
        return cls(mean, mean * err / _TWO_POINT_FIVE_OVER_LN10, **kwargs)

    @classmethod
    def from_fluxmag0(cls, fluxmag0: float, fluxmag0_err: float = 0.0, **kwargs: bool) -> PhotoCalib:
        """Build the calibration from the old ``Calib`` flux of magnitude zero (FITS keyword ``FLUXMAG0``).

        ``mag = -2.5 log10(instFlux / FLUXMAG0)`` (afw ``Calib.cc`` at v16), so
        ``calibrationMean = 10**(0.4*31.4) / FLUXMAG0`` nJy/ct.

        Parameters
        ----------
        fluxmag0 : float
            Instrumental flux (counts) of a magnitude 0 source; positive.
        fluxmag0_err : float
            Its uncertainty, counts.
        **kwargs : bool
            ``throw_on_negative``, passed to :class:`PhotoCalib`.

        Returns
        -------
        PhotoCalib
            The calibration.
        """
        fluxmag0 = _number_in(fluxmag0, u.ct, "FLUXMAG0")
        fluxmag0_err = _number_in(fluxmag0_err, u.ct, "fluxmag0_err")
        if not fluxmag0 > 0:
            raise ValueError(f"FLUXMAG0 must be positive, got {fluxmag0!r}")
        if fluxmag0 < _SMALLEST_FLUXMAG0:
            raise ValueError(
                f"FLUXMAG0 = {fluxmag0:g} counts would mean a zero point of {2.5 * math.log10(fluxmag0):.1f} mag; "
                "FLUXMAG0 is the flux of a magnitude-0 star, about 1e11 counts for an HSC coadd. Did you pass a "
                "zero point? Use PhotoCalib.from_zero_point."
            )
        mean = 10.0 ** (0.4 * AB_MAGNITUDE_OF_ONE_NANOJANSKY) / fluxmag0
        return cls(mean, mean * fluxmag0_err / fluxmag0, **kwargs)

    # --- accessors, named as in afw -----------------------------------------------------------------------
    def getCalibrationMean(self) -> float:  # noqa: N802 (afw's name, so lesson code reads like pipelines code)
        """nJy per count."""
        return self._mean

    def getCalibrationErr(self) -> float:  # noqa: N802
        """Uncertainty of the calibration mean, nJy per count."""
        return self._err

    def getInstFluxAtZeroMagnitude(self) -> float:  # noqa: N802
        """Instrumental flux (counts) of an AB magnitude 0 source; the old ``FLUXMAG0``."""
        return 10.0 ** (0.4 * AB_MAGNITUDE_OF_ONE_NANOJANSKY) / self._mean

    @property
    def zero_point(self) -> float:
        """Magnitude of one count."""
        return AB_MAGNITUDE_OF_ONE_NANOJANSKY - 2.5 * math.log10(self._mean)

    # --- conversions --------------------------------------------------------------------------------------
    def instFluxToNanojansky(self, instFlux: ArrayLike, instFluxErr: ArrayLike | None = None) -> Any:  # noqa: N802, N803
        """Convert instrumental flux (counts) to nJy; signed, so a negative flux stays negative.

        Parameters
        ----------
        instFlux : float, array-like, astropy Column or Quantity
            Instrumental flux in counts (a Quantity in ``ct`` gives Quantities in ``nJy``).
        instFluxErr : float, array-like, astropy Column or Quantity, optional
            Its uncertainty, counts.

        Returns
        -------
        float, numpy.ndarray or astropy.units.Quantity, or a tuple of two of them
            The flux in nJy, or ``(flux, fluxErr)`` when ``instFluxErr`` is given.
        """
        flux_counts, with_unit = _as_counts(instFlux, "instFlux")
        flux = np.multiply(flux_counts, self._mean)
        if instFluxErr is None:
            return flux * u.nJy if with_unit else flux
        err_counts, _ = _as_counts(instFluxErr, "instFluxErr")
        _check_errors_match(flux_counts, err_counts)
        err = np.hypot(np.multiply(err_counts, self._mean), np.multiply(flux_counts, self._err))
        if with_unit:
            return flux * u.nJy, err * u.nJy
        return flux, err

    def instFluxToMagnitude(self, instFlux: ArrayLike, instFluxErr: ArrayLike | None = None) -> Any:  # noqa: N802, N803
        """Convert instrumental flux (counts) to AB magnitude; zero or negative fluxes give NaN.

        Returns the magnitude, or ``(mag, magErr)`` when ``instFluxErr`` is given. With
        ``throw_on_negative=True`` a zero or negative flux raises ``ValueError`` instead. As in afw 18 to 28,
        the magnitude error of a negative flux is finite (``2.5/ln10 * |instFluxErr/instFlux|``; afw 29 keeps
        its sign): it says how far the flux is from zero in units of its error, although the magnitude itself
        is NaN.

        Parameters
        ----------
        instFlux : float, array-like, astropy Column or Quantity
            Instrumental flux in counts (a Quantity in ``ct`` gives Quantities in ``mag``).
        instFluxErr : float, array-like, astropy Column or Quantity, optional
            Its uncertainty, counts.

        Returns
        -------
        float, numpy.ndarray or astropy.units.Quantity, or a tuple of two of them
            The AB magnitude, or ``(mag, magErr)`` when ``instFluxErr`` is given.

        Raises
        ------
        ValueError
            With ``throw_on_negative=True``, if a flux is zero or negative.
        """
        flux_counts, with_unit = _as_counts(instFlux, "instFlux")
        flux_array = np.asarray(flux_counts, dtype=float)
        if self.throw_on_negative and np.any(flux_array <= 0):
            n_bad = int(np.count_nonzero(flux_array <= 0))
            raise ValueError(
                f"{n_bad} flux(es) are zero or negative and have no magnitude; "
                "set throw_on_negative=False to get NaN for them instead."
            )
        # In place, to run as fast as the same arithmetic written by hand: log10 of a negative flux is NaN
        # already, and of a zero flux -inf (so the magnitude is +inf), which becomes NaN too.
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.atleast_1d(flux_array * self._mean)
            np.log10(mag, out=mag)
            mag *= -2.5
            mag += AB_MAGNITUDE_OF_ONE_NANOJANSKY
        mag[mag == np.inf] = np.nan
        result: float | np.ndarray = float(mag[0]) if flux_array.ndim == 0 else mag
        if instFluxErr is None:
            return result * u.mag if with_unit else result
        err_counts, _ = _as_counts(instFluxErr, "instFluxErr")
        _check_errors_match(flux_counts, err_counts)
        # afw 18-28's toMagnitudeErr (src/image/PhotoCalib.cc): 2.5/ln10 * hypot(instFluxErr/instFlux, err/mean).
        # A negative flux has no magnitude but a finite error, |instFluxErr/instFlux|; a zero flux gives inf.
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.divide(err_counts, flux_array)
        mag_err = _TWO_POINT_FIVE_OVER_LN10 * np.hypot(ratio, self._err / self._mean)
        mag_err = float(mag_err) if np.ndim(mag_err) == 0 else mag_err
        if with_unit:
            return result * u.mag, mag_err * u.mag
        return result, mag_err

    def calibrateCatalog(self, catalog: Table, names: Iterable[str] = ("base_PsfFlux",)) -> Table:  # noqa: N802
        """Return a copy of ``catalog`` with calibrated columns for each flux measurement in ``names``.

        For each ``<name>`` with ``<name>_instFlux`` and ``<name>_instFluxErr`` columns, adds ``<name>_flux``
        and ``<name>_fluxErr`` (nJy) and ``<name>_mag`` and ``<name>_magErr`` (AB mag), as afw's
        ``PhotoCalib.calibrateCatalog`` does.

        Parameters
        ----------
        catalog : astropy.table.Table
            Table with the instrumental flux columns (counts).
        names : str or iterable of str
            Flux measurements to calibrate; default ``"base_PsfFlux"``.

        Returns
        -------
        astropy.table.Table
            A copy of ``catalog`` with the four new columns per measurement.

        Raises
        ------
        TypeError
            If ``catalog`` is not one Table (a dict of them, for example).
        KeyError
            If a ``<name>_instFlux`` or ``<name>_instFluxErr`` column is missing.
        """
        if not isinstance(catalog, Table):
            what = "a dict of tables (one per band?)" if isinstance(catalog, dict) else f"a {type(catalog).__name__}"
            raise TypeError(
                f"calibrateCatalog takes one astropy Table, got {what}: calibrate each band's forced table with its "
                "own PhotoCalib, e.g. photo_calib['i'].calibrateCatalog(forced['i'])."
            )
        if isinstance(names, str):
            names = [names]
        out = catalog.copy(copy_data=True)
        for name in names:
            flux_col, err_col = f"{name}_instFlux", f"{name}_instFluxErr"
            missing = [c for c in (flux_col, err_col) if c not in catalog.colnames]
            if missing:
                raise KeyError(
                    f"calibrateCatalog: the table has no column(s) {missing}; "
                    f"give the measurement name without suffix (for example 'base_PsfFlux')."
                )
            flux, flux_err = self.instFluxToNanojansky(catalog[flux_col], catalog[err_col])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mag, mag_err = self.instFluxToMagnitude(catalog[flux_col], catalog[err_col])
            for suffix, values, unit, what in (
                ("flux", flux, u.nJy, "calibrated flux"),
                ("fluxErr", flux_err, u.nJy, "calibrated flux uncertainty"),
                ("mag", mag, u.mag, "AB magnitude"),
                ("magErr", mag_err, u.mag, "AB magnitude uncertainty"),
            ):
                out[f"{name}_{suffix}"] = u.Quantity(values, unit).value
                out[f"{name}_{suffix}"].unit = unit
                out[f"{name}_{suffix}"].description = f"{what} of {name}"
        return out

    # --- the old Calib interface (pipelines v17 and earlier), for the seed lesson's code ------------------
    def getMagnitude(self, flux: ArrayLike, fluxErr: ArrayLike | None = None) -> Any:  # noqa: N802, N803
        """Bridge for the old ``lsst.afw.image.Calib.getMagnitude``: the same as :meth:`instFluxToMagnitude`.

        Old lesson code called ``calib.getMagnitude(src['base_PsfFlux_flux'])``; with a PhotoCalib it is
        ``photoCalib.instFluxToMagnitude(src['base_PsfFlux_instFlux'])``.

        Parameters
        ----------
        flux : float, array-like, astropy Column or Quantity
            Instrumental flux in counts.
        fluxErr : float, array-like, astropy Column or Quantity, optional
            Its uncertainty, counts.

        Returns
        -------
        float, numpy.ndarray or astropy.units.Quantity, or a tuple of two of them
            As :meth:`instFluxToMagnitude`.
        """
        return self.instFluxToMagnitude(flux, fluxErr)

    def setThrowOnNegativeFlux(self, value: bool) -> None:  # noqa: N802
        """Bridge for the old ``Calib.setThrowOnNegativeFlux``: raise on zero or negative fluxes.

        Parameters
        ----------
        value : bool
            True: :meth:`instFluxToMagnitude` raises on a zero or negative flux; False: it gives NaN.
        """
        self.throw_on_negative = bool(value)

    # --- persistence and display --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain-data form, used by the Butler formatter."""
        return {"calibrationMean": self._mean, "calibrationErr": self._err}

    @classmethod
    def from_dict(cls, data: dict) -> PhotoCalib:
        """The calibration of :meth:`to_dict`'s plain data."""
        return cls(data["calibrationMean"], data.get("calibrationErr", 0.0))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PhotoCalib):
            return NotImplemented
        return self._mean == other._mean and self._err == other._err

    def __hash__(self) -> int:
        return hash((self._mean, self._err))

    def __repr__(self) -> str:
        return f"PhotoCalib(calibrationMean={self._mean:.6g} nJy/ct, calibrationErr={self._err:.3g} nJy/ct)"
