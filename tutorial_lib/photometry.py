"""Photometric constants and relations shared by the lessons, the checks and the simulator.

Each number lives here once, with its source. Nothing here depends on any other module of the project.
"""

from __future__ import annotations

import math
from typing import Any

import astropy.units as u
import numpy as np

__all__ = ["AB_MAGNITUDE_OF_ONE_NANOJANSKY", "is_magnitude_unit", "stellar_locus_g_r"]

#: AB magnitude of 1 nJy: -2.5 log10(1e-9 Jy / 3631 Jy) = 31.4 to 4 decimals (lsst/utils ``Magnitude.h``
#: defines the constant as exactly 31.4, and afw ``PhotoCalib.cc`` uses that value).
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
    try:
        return dimensionless and u.Unit(unit) == u.dimensionless_unscaled
    except (TypeError, ValueError, u.UnitsError):
        return False


def _locus(x):
    return 1.39 * (1.0 - np.exp(-4.9 * x**3 - 2.45 * x**2 - 1.68 * x - 0.050))


def stellar_locus_g_r(r_i):
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
    if isinstance(r_i, u.Quantity):
        r_i = r_i.value
    elif unit is not None:
        r_i = np.asarray(r_i)
    if np.ndim(r_i) == 0:
        x = float(r_i)
        return 1.39 * (1.0 - math.exp(-4.9 * x**3 - 2.45 * x**2 - 1.68 * x - 0.050))
    return _locus(np.ma.filled(np.ma.asarray(r_i, dtype=float), np.nan))
