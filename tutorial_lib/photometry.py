"""Photometric constants and relations shared by the lessons, the checks and the simulator.

Each number lives here once, with its source. Nothing here depends on any other module of the project but
:mod:`tutorial_lib._arrays`. astropy is imported only to parse a unit given as text, so that the self-checks
that import this module start quickly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._arrays import is_quantity

__all__ = [
    "AB_MAGNITUDE_OF_ONE_NANOJANSKY",
    "SDSS_TO_HSC",
    "as_magnitude",
    "is_magnitude_unit",
    "locus_system",
    "one_number",
    "sdss_i_z_of_main_sequence",
    "sdss_to_hsc",
    "stellar_locus_g_r",
    "stellar_locus_g_r_hsc",
]

#: AB magnitude of 1 nJy, exactly 31.4: AB zero flux is 10**(-48.6/2.5) erg/s/cm^2/Hz = 3630.78 Jy (lsst/cpputils
#: ``Magnitude.h``, ``referenceFlux``, formerly in lsst/utils; afw ``PhotoCalib.cc`` uses it), and
#: -2.5 log10(1 nJy / 3630.78 Jy) = 31.4. The rounded 3631 Jy would give 31.40007.
AB_MAGNITUDE_OF_ONE_NANOJANSKY = 31.4


def is_magnitude_unit(unit: Any, dimensionless: bool = True) -> bool:
    """Whether ``unit`` is a magnitude: ``mag``, ``ABmag``, ``mag(AB)``... (and, by default, no unit at all).

    Parameters
    ----------
    unit : str or astropy.units.UnitBase
        The unit of a column or Quantity.
    dimensionless : bool, optional
        Whether a dimensionless unit counts as a magnitude (a colour or a plain number does; an answer that
        must be a flux does not).

    Returns
    -------
    bool
    """
    if "mag" in str(unit):
        return True
    import astropy.units as u

    try:
        return dimensionless and u.Unit(unit) == u.dimensionless_unscaled
    except (TypeError, ValueError, u.UnitsError):
        return False


def _locus(x: np.ndarray) -> np.ndarray:
    return 1.39 * (1.0 - np.exp(-4.9 * x**3 - 2.45 * x**2 - 1.68 * x - 0.050))


def stellar_locus_g_r(r_i: ArrayLike) -> float | np.ndarray:
    """The SDSS stellar locus: g - r of main-sequence stars as a function of r - i.

    With :math:`x = r - i`,

    .. math:: g - r = 1.39 \\left(1 - \\exp(-4.9 x^3 - 2.45 x^2 - 1.68 x - 0.050)\\right)

    (Jurić et al. 2008, ApJ 673, 864, "The Milky Way Tomography with SDSS. I.", eq. 1; also used by Ivezić et
    al. 2008, ApJ 684, 287). It is a fit to SDSS ugriz photometry of main-sequence stars. Far outside the
    colours of main-sequence stars (r - i below about 0 or above about 2.5) it is an extrapolation.

    Parameters
    ----------
    r_i : float, array-like, astropy Column or Quantity
        r - i colour in mag (a magnitude unit is stripped).

    Returns
    -------
    float or numpy.ndarray
        g - r in mag; a float for a scalar input.
    """
    unit = getattr(r_i, "unit", None)
    if is_quantity(r_i):
        r_i = r_i.value
    elif unit is not None:
        r_i = np.asarray(r_i)
    if np.ndim(r_i) == 0:
        x = float(np.asarray(r_i))
        return 1.39 * (1.0 - math.exp(-4.9 * x**3 - 2.45 * x**2 - 1.68 * x - 0.050))
    return _locus(np.ma.filled(np.ma.asarray(r_i, dtype=float), np.nan))


#: SDSS -> HSC colour terms of lsst/obs_subaru ``config/colorterms.py`` (the ``"sdss*"`` reference catalogue
#: entry, read at w.2026.27): for each HSC band, (primary SDSS band, secondary SDSS band, c0, c1, c2), and
#: ``m_HSC = m_primary + c0 + c1 (m_primary - m_secondary) + c2 (m_primary - m_secondary)^2`` (pipe_tasks
#: ``python/lsst/pipe/tasks/colorterms.py``, ``Colorterm.transformMags``).
SDSS_TO_HSC = {
    "g": ("g", "r", -0.009777, -0.077235, -0.013121),
    "r": ("r", "i", -0.000711, -0.006847, -0.035110),
    "i": ("i", "z", 0.000357, -0.153290, -0.009277),
}


def sdss_to_hsc(mags: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """HSC g, r, i magnitudes from SDSS g, r, i, z, with the colour terms of :data:`SDSS_TO_HSC`.

    Parameters
    ----------
    mags : dict of {str: array-like}
        SDSS magnitudes with keys ``"g"``, ``"r"``, ``"i"``, ``"z"``.

    Returns
    -------
    dict of {str: numpy.ndarray}
        HSC ``"g"``, ``"r"``, ``"i"`` magnitudes.
    """
    out = {}
    for band, (primary, secondary, c0, c1, c2) in SDSS_TO_HSC.items():
        p = np.asarray(mags[primary], dtype=float)
        colour = p - np.asarray(mags[secondary], dtype=float)
        out[band] = p + c0 + c1 * colour + c2 * colour**2
    return out


def sdss_i_z_of_main_sequence(r_i: ArrayLike) -> np.ndarray:
    """SDSS i - z of a main-sequence star of SDSS colour r - i: ``0.53 (r - i)``.

    A linear approximation of the SDSS stellar locus in the (r - i, i - z) plane (Covey et al. 2007, AJ 134,
    2398: i - z grows about half as fast as r - i from the turn-off to mid-M dwarfs). It is needed only for the
    HSC-I colour term, whose ``c1`` multiplies SDSS i - z; an error of 0.1 mag in i - z moves HSC i by 0.015 mag.
    Modelling choice, not a fit made here.

    Parameters
    ----------
    r_i : float or array-like
        SDSS r - i, mag.

    Returns
    -------
    numpy.ndarray
        SDSS i - z, mag.
    """
    return 0.53 * np.asarray(r_i, dtype=float)


def stellar_locus_g_r_hsc(r_i_hsc: ArrayLike) -> float | np.ndarray:
    """The stellar locus of :func:`stellar_locus_g_r` moved to the HSC system: HSC g - r against HSC r - i.

    Each point of the SDSS locus is transformed with :func:`sdss_to_hsc` (SDSS i - z from
    :func:`sdss_i_z_of_main_sequence`) and the HSC curve is interpolated at ``r_i_hsc``.

    Parameters
    ----------
    r_i_hsc : float or array-like
        HSC r - i, mag.

    Returns
    -------
    float or numpy.ndarray
        HSC g - r, mag.
    """
    sdss_r_i = np.linspace(-0.3, 2.6, 2901)
    sdss = {"r": np.zeros_like(sdss_r_i)}
    sdss["g"] = _locus(sdss_r_i)
    sdss["i"] = -sdss_r_i
    sdss["z"] = sdss["i"] - sdss_i_z_of_main_sequence(sdss_r_i)
    hsc = sdss_to_hsc(sdss)
    hsc_r_i = hsc["r"] - hsc["i"]
    hsc_g_r = hsc["g"] - hsc["r"]
    result = np.interp(np.asarray(r_i_hsc, dtype=float), hsc_r_i, hsc_g_r, left=np.nan, right=np.nan)
    return float(result) if np.ndim(result) == 0 else result


#: The colour systems of the stellar locus.
LOCUS_SYSTEMS = ("sdss", "hsc")


def locus_system(system: str) -> str:
    """The colour system of a stellar locus, ``"sdss"`` or ``"hsc"`` (any case).

    Raises
    ------
    ValueError
        For any other system.
    """
    name = system.lower() if isinstance(system, str) else system
    if name not in LOCUS_SYSTEMS:
        raise ValueError(f"the locus system must be 'sdss' or 'hsc', got {system!r}")
    return name


def as_magnitude(value: Any, name: str) -> float:
    """One magnitude as a float, from a number or a Quantity in magnitudes (``25.0`` or ``25 * u.mag``).

    Raises
    ------
    ValueError
        For another unit (a flux), or what is not one number.
    """
    unit = getattr(value, "unit", None)
    if unit is not None:
        if not is_magnitude_unit(unit):
            raise ValueError(f"{name} must be a magnitude, got unit '{unit}'")
        value = value.value
    return one_number(value, name, "AB mag")


def one_number(value: Any, name: str, unit_text: str = "") -> float:
    """``value`` as one float (units already taken off); ValueError naming ``name`` for a bool, an array or text
    that is not a number."""
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be one number{f' ({unit_text})' if unit_text else ''}, got {value!r:.40}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be one number{f' ({unit_text})' if unit_text else ''}, got {value!r:.40}"
        ) from None
