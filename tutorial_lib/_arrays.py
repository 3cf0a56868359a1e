"""The one conversion of a column, Quantity, masked column or list into a plain numpy array.

Every layer takes what a learner may hold (an astropy ``Column``/``MaskedColumn``, a ``Quantity`` or masked
Quantity from a ``QTable``, a pandas Series, a list) and needs a plain ``numpy.ndarray``. The rules live here
once:

* units are dropped (callers that care check :func:`tutorial_lib.photometry.is_magnitude_unit` first);
* masked entries are filled so that an unknown value passes no cut: NaN for floats (fails every comparison), -1
  for integers (fails ``deblend_nChild == 0``), ``False`` for flags (a masked flag is not set), except
  ``True`` for the failure flags that a cut inverts (``bool_fill``: ``~base_PsfFlux_flag``, ``~merge_peak_sky``);
* an unmasked column is not copied.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np

if TYPE_CHECKING:
    from astropy.units import Quantity

__all__ = ["as_array", "as_degrees", "as_float_array", "finite_pair", "is_quantity"]


def is_quantity(values: Any) -> TypeGuard[Quantity]:
    """Whether ``values`` is an astropy Quantity, without importing astropy (0.4 s) when nothing has."""
    units = sys.modules.get("astropy.units")  # a Quantity exists only once astropy.units is imported
    return units is not None and isinstance(values, units.Quantity)


def _data_and_mask(values: Any) -> tuple[np.ndarray, np.ndarray | None]:
    if hasattr(values, "unmasked") and hasattr(values, "mask"):  # astropy Masked (a masked Quantity in a QTable)
        data, mask = values.unmasked, np.asarray(values.mask, dtype=bool)
    elif isinstance(values, np.ma.MaskedArray):  # also astropy MaskedColumn
        data, mask = np.ma.getdata(values), np.ma.getmaskarray(values)
    elif hasattr(values, "to_numpy"):  # pandas Series, possibly with pd.NA
        array = values.to_numpy()
        if array.dtype == object:
            array = values.to_numpy(dtype=float, na_value=np.nan)
        return array, None
    else:
        data, mask = values, None
    data = np.asarray(data.value if is_quantity(data) else data)
    return data, (mask if mask is not None and mask.any() else None)


def as_array(values: Any, integer_fill: int | None = -1, bool_fill: bool = False) -> np.ndarray:
    """``values`` as a plain ndarray of its own dtype, masked entries filled, units dropped.

    Parameters
    ----------
    values : array-like, astropy Column, MaskedColumn or Quantity, pandas Series
        The values.
    integer_fill : int or None, optional
        Fill of masked integers; None turns a masked integer column into floats with NaN.
    bool_fill : bool, optional
        Fill of masked booleans: False (not set) by default; True for a failure flag that a cut inverts
        (``~base_PsfFlux_flag``), so that an unknown flag does not pass the cut.

    Returns
    -------
    numpy.ndarray
        Without a copy when nothing is masked. Masked booleans are ``bool_fill``, masked floats NaN, masked
        integers ``integer_fill``.

    Raises
    ------
    TypeError
        For masked values of another dtype (strings...).
    """
    data, mask = _data_and_mask(values)
    if mask is None:
        return data
    if data.dtype == bool:
        return np.where(mask, bool_fill, data)
    if np.issubdtype(data.dtype, np.integer) and integer_fill is not None:
        return np.where(mask, integer_fill, data)
    if np.issubdtype(data.dtype, np.number):
        return np.where(mask, np.nan, data.astype(float))
    raise TypeError(f"cannot fill masked values of a column of dtype {data.dtype}")


def as_float_array(values: Any, name: str = "the values") -> np.ndarray:
    """``values`` as a one-dimensional float array; masked entries NaN, units dropped.

    Parameters
    ----------
    values : array-like, astropy Column, MaskedColumn or Quantity, pandas Series
        The values.
    name : str, optional
        What they are, for the error message.

    Returns
    -------
    numpy.ndarray of float
        A new array.

    Raises
    ------
    ValueError
        If the values are not one-dimensional (one per catalogue row).
    """
    array = np.array(as_array(values, integer_fill=None), dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per catalogue row); got shape {array.shape}")
    return array


def as_degrees(values: Any, name: str) -> tuple[np.ndarray, bool]:
    """Angles in degrees (floats, masked entries NaN), and whether they carried an angle unit.

    Plain numbers are taken as degrees; a Quantity or a column with an angle unit is converted (the tables'
    ``coord_ra`` is in radians).

    Raises
    ------
    astropy.units.UnitsError
        For a unit that is not an angle.
    """
    unit = getattr(values, "unit", None)
    data = np.array(as_array(values, integer_fill=None), dtype=float)
    if unit is None:
        return data, False
    import astropy.units as u  # already imported: the values carry a unit

    try:
        factor = u.Unit(unit).to(u.deg)
    except (TypeError, ValueError, u.UnitsError):
        raise u.UnitsError(f"{name} has unit '{unit}'; an angle (rad or deg) is expected") from None
    return data * factor, True


def finite_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The points of ``x`` and ``y`` where both are finite, and how many points were dropped.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates of the same points (a CMD's colour and magnitude).

    Returns
    -------
    x, y : numpy.ndarray
        The finite points.
    n_dropped : int
        Points with a NaN or infinite coordinate.
    """
    good = np.isfinite(x) & np.isfinite(y)
    return x[good], y[good], int(good.size - np.count_nonzero(good))
