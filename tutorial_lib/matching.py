"""Matching the rows of one table to the objects of another by id: one algorithm, one fill rule.

Today's forced tables (``deepCoadd_forced_src``) are row-for-row with the reference table; 2016 (Gen2) ones give
each row an ``id`` of its own and link it to the reference row through ``objectId``. Both
:class:`tutorial_lib.selection.Selection` (``match_column``) and the ingestion of lesson 8's real HSC data
(``data_fetch.hsc_validation``) line such tables up with :func:`match_rows` and :func:`take_rows`.

The fill rule for reference rows without a matching row (:func:`fill_value`): floats NaN (a measurement that
does not exist), ``*_flag`` booleans True (it failed), other booleans False, integers -1 (no such id or count),
strings empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._arrays import as_array

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["Match", "MatchError", "fill_value", "match_rows", "take_rows", "take_table"]


class MatchError(ValueError):
    """Ids that cannot be matched: duplicate reference ids, or several rows for one object."""


@dataclass(frozen=True)
class Match:
    """Where each reference row's match is.

    Attributes
    ----------
    index : numpy.ndarray of int or None
        For each reference row, the matching row of the other table, -1 where there is none; None when the two
        are already row-for-row (same ids in the same order).
    matched : numpy.ndarray of bool
        Reference rows with a match.
    n_unmatched_rows : int
        Rows of the other table whose key is not a reference id (left out).
    """

    index: np.ndarray | None
    matched: np.ndarray
    n_unmatched_rows: int

    @property
    def n_filled(self) -> int:
        """Reference rows without a match."""
        return int(self.matched.size - np.count_nonzero(self.matched))


def match_rows(ref_ids: Any, keys: Any, what: str = "the table", key: str = "objectId") -> Match:
    """Find, for each reference id, the row whose ``key`` equals it.

    A sorted merge: ``argsort`` and ``searchsorted`` of sorted keys, O(n log n) with sequential memory access
    (a ``searchsorted`` of shuffled keys into a million ids is several times slower).

    Parameters
    ----------
    ref_ids : array-like of int
        The reference table's ``id``, unique.
    keys : array-like of int
        The other table's link column (``objectId``), one per row.
    what, key : str, optional
        The other table and its link column, for the error messages.

    Returns
    -------
    Match
        The index of each reference row's match.

    Raises
    ------
    MatchError
        If the reference ids repeat, or two rows have the same key.
    """
    ref_ids, keys = as_array(ref_ids), as_array(keys)
    n = ref_ids.size
    if keys.shape == ref_ids.shape and np.array_equal(keys, ref_ids):
        return Match(None, np.ones(n, dtype=bool), 0)
    if n < 2 or np.all(ref_ids[1:] > ref_ids[:-1]):
        order, sorted_ids = None, ref_ids  # the usual case: ids increase, hence unique
    else:
        order = np.argsort(ref_ids, kind="stable")
        sorted_ids = ref_ids[order]
        duplicated = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
        if duplicated.size:
            raise MatchError(
                f"the reference table has duplicate ids (e.g. {sorted_ids[duplicated[0]]}); matching by "
                f"'{key}' needs unique reference ids."
            )
    key_order = np.argsort(keys, kind="stable")
    sorted_keys = keys[key_order]
    if n:
        pos = np.minimum(np.searchsorted(sorted_ids, sorted_keys), n - 1)
        found = sorted_ids[pos] == sorted_keys
    else:
        pos, found = np.zeros(keys.size, dtype=np.intp), np.zeros(keys.size, dtype=bool)
    found_keys = sorted_keys[found]
    duplicated = np.flatnonzero(found_keys[1:] == found_keys[:-1])
    if duplicated.size:
        raise MatchError(
            f"{what} has several rows with {key} {found_keys[duplicated[0]]}; each reference object must have at "
            "most one row."
        )
    ref_rows = pos[found] if order is None else order[pos[found]]
    index = np.full(n, -1, dtype=np.intp)
    index[ref_rows] = key_order[found]
    return Match(index, index >= 0, int(keys.size - found_keys.size))


def fill_value(dtype: np.dtype, name: str = "") -> Any:
    """What a reference row without a match reads in a column of this dtype and name (see the module docstring).

    Parameters
    ----------
    dtype : numpy.dtype
        The column's dtype.
    name : str
        The column's name (a ``*_flag`` column of an unmatched row reads True).

    Returns
    -------
    object
        NaN, True/False, -1 (0 unsigned), ``""`` or the dtype's zero.
    """
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "b":
        return name.endswith("_flag")
    if dtype.kind in "iu":
        return -1 if dtype.kind == "i" else 0
    if dtype.kind in "US":
        return ""
    return dtype.type()


def take_rows(values: np.ndarray, match: Match, name: str = "") -> np.ndarray:
    """``values`` (one per row of the matched table) reordered to the reference rows, gaps filled.

    Parameters
    ----------
    values : numpy.ndarray
        A column of the matched table.
    match : Match
        From :func:`match_rows`.
    name : str, optional
        The column's name (``*_flag`` columns fill with True).

    Returns
    -------
    numpy.ndarray
        One value per reference row; ``values`` itself when the tables are already row-for-row.
    """
    if match.index is None:
        return values
    aligned = np.full((match.index.size, *values.shape[1:]), fill_value(values.dtype, name), dtype=values.dtype)
    aligned[match.matched] = values[match.index[match.matched]]
    return aligned


def take_table(table: Table, match: Match) -> Table:
    """``table`` reordered to the reference rows, gaps filled as :func:`take_rows` does; units and metadata kept.

    Parameters
    ----------
    table : astropy.table.Table
        The matched table; not empty unless every reference row has a match.
    match : Match
        From :func:`match_rows`.

    Returns
    -------
    astropy.table.Table
        A new table, row-for-row with the reference table.
    """
    if match.index is None:
        return table.copy(copy_data=False)
    missing = ~match.matched
    if missing.any() and len(table) == 0:
        raise MatchError("the table to match is empty: no reference row can be matched.")
    aligned = table[np.where(missing, 0, match.index)]
    for name in aligned.colnames:
        aligned[name][missing] = fill_value(aligned[name].dtype, name)
    return aligned
