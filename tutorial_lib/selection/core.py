""":class:`Selection`: the lesson's criteria over one reference table and per-band forced tables.

It reads each column once and caches each criterion's mask, computes magnitudes (lsst/utils ``Magnitude.h``
and afw ``PhotoCalib.cc``), the cut-by-cut :meth:`Selection.funnel` and :meth:`Selection.check_primary`,
which verifies ``detect_isPrimary`` against its definition, recomputed from its parts.

Real 2016 (Gen2) forced tables, such as the HSC data of lesson 8, give each row an ``id`` of its own and link it
to the reference row through ``objectId``: ``Selection(..., match_column="objectId")`` matches through it, and
``match_column="auto"`` does so only for the bands whose ``id`` differs (saying so in ``Selection.notes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from ..matching import Match, MatchError, match_rows, take_rows
from ..photocalib import PhotoCalib
from .criteria import (
    ALL_BANDS,
    CRITERIA,
    FORCED,
    GEN2_LINK_COLUMN,
    ID_COLUMN,
    LESSON_CRITERIA,
    LESSON_FUNNEL,
    MATCH_AUTO,
    REF,
    RowMismatchError,
    SelectionUnitsError,
    _as_flag,
    _check_magnitude_unit,
    _check_row_for_row,
    _check_table,
    _column_unit,
    _criterion,
    _missing_column,
    _primary_definition,
    _resolve_bands,
    _run_rule,
    _table_column,
    funnel_counts,
    funnel_table,
)

__all__ = ["PrimaryCheck", "Selection", "check_photo_calib", "forced_tables_by_band"]


# --------------------------------------------------------------------------------------------------------
# The isPrimary check
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrimaryCheck:
    """Result of :meth:`Selection.check_primary`; true in a boolean context when the flags agree.

    Attributes
    ----------
    consistent : bool
        Whether ``detect_isPrimary`` equals its definition on every row.
    definition : str
        The formula used.
    deblend_column : str
        ``"detect_isDeblendedSource"`` (current pipelines) or ``"deblend_nChild"`` (v16 tables).
    n_rows : int
        Rows checked.
    n_primary : int
        Rows with ``detect_isPrimary`` set.
    n_expected : int
        Rows for which the definition is true.
    rows : numpy.ndarray of int
        Row indices where the two differ.
    ids : numpy.ndarray
        ``id`` of those rows (the row indices if the table has no ``id``).
    differences : astropy.table.Table
        One row per differing object: ``row``, ``id``, ``detect_isPrimary``, ``expected`` and the parts.
    """

    consistent: bool
    definition: str
    deblend_column: str
    n_rows: int
    n_primary: int
    n_expected: int
    rows: np.ndarray
    ids: np.ndarray
    differences: Table = field(repr=False)

    def __bool__(self) -> bool:
        return self.consistent

    def __str__(self) -> str:
        head = f"detect_isPrimary == {self.definition}"
        if self.consistent:
            return f"{head}: consistent on all {self.n_rows} rows ({self.n_primary} primary)."
        shown = ", ".join(str(i) for i in self.ids[:10]) + (", ..." if len(self.ids) > 10 else "")
        return (
            f"{head}: {len(self.rows)} of {self.n_rows} rows differ ({self.n_primary} primary stored, "
            f"{self.n_expected} expected); ids: {shown}"
        )


# --------------------------------------------------------------------------------------------------------
# Selection
# --------------------------------------------------------------------------------------------------------
def forced_tables_by_band(forced: Any) -> dict[str, Table]:
    """The forced tables as a dict by band; TypeError for one table or a list of them, naming the fix.

    Parameters
    ----------
    forced : dict of str to astropy.table.Table, or None
        ``{band: deepCoadd_forced_src table}``.

    Returns
    -------
    dict of str to astropy.table.Table
    """
    if forced is None:
        return {}
    if isinstance(forced, Table):
        raise TypeError(
            "forced must be a dict of forced tables by band, e.g. {'i': forced_i}, not one Table: "
            "the Selection needs to know each table's band."
        )
    if not isinstance(forced, Mapping):
        raise TypeError(
            f"forced must be a dict of forced tables by band, e.g. {{'g': forced_g, 'i': forced_i}}; got a "
            f"{type(forced).__name__}."
        )
    return dict(forced)


def check_photo_calib(photo_calib: Any) -> None:
    """TypeError unless ``photo_calib`` is None, a PhotoCalib, or a dict of them by band."""
    calibs = photo_calib.values() if isinstance(photo_calib, Mapping) else [photo_calib]
    for calib in calibs:
        if calib is not None and not hasattr(calib, "instFluxToMagnitude"):
            raise TypeError(
                f"photo_calib must be a PhotoCalib (or a dict of them by band), got the {type(calib).__name__} "
                f"{calib!r:.30}: butler.get('deepCoadd_calexp.photoCalib', data_id, band=...) or "
                "PhotoCalib.from_zero_point(27.0)."
            )


class Selection:
    """The lesson's criteria over one reference table and per-band forced tables.

    Column arrays are read once (``np.asarray``, no copy for unmasked columns) and each criterion's result is
    cached, so toggling criteria in a widget costs only the logical ANDs.

    Parameters
    ----------
    ref : astropy.table.Table
        Reference table (``deepCoadd_ref``).
    forced : dict of {str: astropy.table.Table}, optional
        Forced tables (``deepCoadd_forced_src``) by band. Without ``match_column`` each must be row-for-row
        with ``ref`` (same length and, when both have ``id``, the same ids in the same order); otherwise a
        `RowMismatchError` (a `ValueError`) names the band and the first differing row.
    reference_band : str, optional
        Band used by the per-band criteria when no ``band`` is given (the lesson's i band).
    match_column : str, optional
        Column of the forced tables holding the reference ``id`` of each row (``"objectId"`` in Gen2 forced
        tables). The forced rows are then matched to the reference rows by that column, in any order.
        Reference rows without a forced row fail every per-band criterion in that band, and their columns
        read as :func:`tutorial_lib.matching.fill_value` says (NaN, -1, ``*_flag`` True; see :attr:`matched`);
        forced rows whose value is not a reference ``id`` are ignored (counted in :attr:`n_forced_unmatched`).
        Duplicate reference ids or duplicate match values raise `ValueError`.

        ``"auto"`` (:data:`MATCH_AUTO`) decides per band: a forced table row-for-row with ``ref`` by ``id`` is
        used as is (today's tables, the simulated data); one whose ``id`` differs but which has an
        ``objectId`` column (2016 Gen2 tables, such as the real HSC data of lesson 8) is matched through
        ``objectId``, and :attr:`match_columns` and :attr:`notes` say so; any other mismatch raises
        `RowMismatchError` as without ``match_column``. The default, None, stays strict, so that a table
        that is not row-for-row is never matched silently. The explorer of lesson 6 uses ``"auto"``.
    photo_calib : PhotoCalib or dict of {str: PhotoCalib}, optional
        Calibration for the magnitude cut and :meth:`magnitude`, one for all bands or one per band. Without
        it, magnitudes are read from a ``<flux>_mag`` column (``PhotoCalib.calibrateCatalog``).

    Examples
    --------
    >>> sel = Selection(ref, forced={"g": g, "r": r, "i": i}, photo_calib=photoCalib)  # doctest: +SKIP
    >>> stars = ref[sel.mask()]  # primary & point_source & good_psf_flux (i band)  # doctest: +SKIP
    >>> sel.mask(["primary", "point_source"], band="all")  # doctest: +SKIP
    >>> sel.funnel()  # doctest: +SKIP
    """

    def __init__(
        self,
        ref: Table,
        forced: Mapping[str, Table] | None = None,
        reference_band: str = "i",
        match_column: str | None = None,
        *,
        photo_calib: PhotoCalib | Mapping[str, PhotoCalib] | None = None,
    ) -> None:
        _check_table(ref, "ref")
        forced = forced_tables_by_band(forced)
        check_photo_calib(photo_calib)
        if ALL_BANDS in forced:
            raise ValueError(f"'{ALL_BANDS}' is reserved (band='all' means every band); rename that band.")
        for band, table in forced.items():
            _check_table(table, f"forced[{band!r}]")
        if forced and reference_band not in forced:
            raise ValueError(
                f"reference_band={reference_band!r} has no forced table; forced tables were given for: "
                f"{', '.join(map(repr, forced))}."
            )
        self._ref = ref
        self._forced = forced
        self.reference_band = reference_band
        self.match_column = match_column
        self._n = len(ref)
        self._photo_calib = photo_calib
        self._columns: dict[tuple[str, str], np.ndarray] = {}
        self._results: dict[tuple[str, str], np.ndarray] = {}
        self._index: dict[str, Match | None] = {}  # band -> how its rows map to the reference rows
        self.matched: dict[str, np.ndarray] = {}
        """For each band, which reference rows have a forced row (all True when row-for-row)."""
        self.n_forced_unmatched: dict[str, int] = {}
        """For each band, forced rows that matched no reference row (always 0 when row-for-row)."""
        self.match_columns: dict[str, str] = {}
        """For each band, the forced column linking its rows to the reference ``id``: ``"id"`` when the table
        is row-for-row, else the match column (with ``match_column="auto"``: ``"objectId"``)."""
        self.notes: list[str] = []
        """What the Selection decided for you (with ``match_column="auto"``: which bands it matched through
        ``objectId``); empty when nothing needed saying."""

        ref_ids = self._column(REF, ID_COLUMN) if ID_COLUMN in ref.colnames else None
        if match_column is None or match_column == MATCH_AUTO:
            self._link_row_for_row(ref_ids, auto=match_column == MATCH_AUTO)
        elif forced:
            if ref_ids is None:
                raise _missing_column(ref, ID_COLUMN, REF)
            self._match(ref_ids, match_column)

    def _link_row_for_row(self, ref_ids: np.ndarray | None, auto: bool) -> None:
        """Use each forced table row-for-row; with ``auto``, match those that are not through ``objectId``."""
        to_match = []
        for band, table in self._forced.items():
            try:
                _check_row_for_row(self._n, ref_ids, table, band)
            except RowMismatchError:
                if not auto or ref_ids is None or GEN2_LINK_COLUMN not in table.colnames:
                    raise
                to_match.append(band)
                continue
            self._index[band] = None
            self.matched[band] = np.ones(self._n, dtype=bool)
            self.n_forced_unmatched[band] = 0
            self.match_columns[band] = ID_COLUMN
        if not to_match:
            return
        assert ref_ids is not None  # to_match is only filled when the reference table has ids
        self._match(ref_ids, GEN2_LINK_COLUMN, to_match)
        unmatched = sum(self.n_forced_unmatched[b] for b in to_match)
        missing = sum(int(np.count_nonzero(~self.matched[b])) for b in to_match)
        self.notes.append(
            f"forced {'tables of bands' if len(to_match) > 1 else 'table of band'} {', '.join(to_match)}: "
            f"ids of their own (Gen2 tables), matched to deepCoadd_ref through '{GEN2_LINK_COLUMN}'"
            + (f"; {missing:,} reference rows without a forced row" if missing else "")
            + (f"; {unmatched:,} forced rows not in deepCoadd_ref, ignored" if unmatched else "")
        )

    def _match(self, ref_ids: np.ndarray, match_column: str, bands: Sequence[str] | None = None) -> None:
        for band in self._forced if bands is None else bands:
            self.match_columns[band] = match_column
            keys = _table_column(self._forced[band], match_column, band)
            try:
                match = match_rows(ref_ids, keys, f"the forced table for band '{band}'", match_column)
            except MatchError as err:
                raise ValueError(str(err)) from None
            self._index[band] = None if match.index is None else match
            self.matched[band] = match.matched
            self.n_forced_unmatched[band] = match.n_unmatched_rows

    # --- data access -------------------------------------------------------------------------------------
    @property
    def bands(self) -> tuple[str, ...]:
        """Bands of the forced tables, in the order given."""
        return tuple(self._forced)

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        match = f", match_column={self.match_column!r}" if self.match_column else ""
        return f"Selection({self._n} rows, bands={list(self._forced)}, reference_band={self.reference_band!r}{match})"

    def _table(self, where: str) -> Table:
        return self._ref if where == REF else self._forced[where]

    def _column(self, where: str, name: str) -> np.ndarray:
        key = (where, name)
        cached = self._columns.get(key)
        if cached is not None:
            return cached
        values = _table_column(self._table(where), name, where)
        match = self._index.get(where) if where != REF else None
        if match is not None:
            values = take_rows(values, match, name)
        values = values.view()
        values.flags.writeable = False
        self._columns[key] = values
        return values

    def column(self, name: str, band: str | None = None) -> np.ndarray:
        """A column as a numpy array aligned with the reference rows (a copy; masked values filled).

        Parameters
        ----------
        name : str
            Column name.
        band : str, optional
            None for the reference table, else the band of a forced table.
        """
        where = REF if band is None else self._single_band(band, "column()")
        return self._column(where, name).copy()

    def _single_band(self, band, what: str) -> str:
        if band is not None and (not isinstance(band, str) or band == ALL_BANDS):
            raise ValueError(f"{what} takes one band, got {band!r}")
        (band,) = _resolve_bands(band, self.bands, self.reference_band)
        return band

    def _photo_calib_for(self, band: str) -> PhotoCalib | None:
        pc = self._photo_calib
        if isinstance(pc, Mapping):
            return pc.get(band)
        return pc

    def magnitude(self, band: str | None = None, flux: str = "base_PsfFlux") -> np.ndarray:
        """Calibrated AB magnitudes of ``<flux>`` in one band, aligned with the reference rows.

        Uses the band's ``photo_calib`` (``instFluxToMagnitude``), else the ``<flux>_mag`` column. Zero,
        negative, NaN and unmatched fluxes give NaN.

        Parameters
        ----------
        band : str, optional
            One band; default the ``reference_band``.
        flux : str
            The flux measurement, e.g. ``"base_PsfFlux"``.

        Returns
        -------
        numpy.ndarray
            AB magnitudes, one per reference row (a copy).
        """
        return self._magnitude(self._single_band(band, "magnitude()"), flux).copy()

    def _magnitude(self, band: str, flux: str) -> np.ndarray:
        key = (band, f"magnitude:{flux}")
        if key not in self._results:
            pc = self._photo_calib_for(band)
            if pc is not None:
                column = f"{flux}_instFlux"
                inst = self._column(band, column)
                self._check_counts(band, column)
                mag = np.asarray(pc.instFluxToMagnitude(inst), dtype=float)
            else:
                column = f"{flux}_mag"
                mag = self._column(band, column)
                _check_magnitude_unit(_column_unit(self._table(band), column), f"column '{column}' ({band})")
            self._results[key] = mag
        return self._results[key]

    def _check_counts(self, band: str, column: str) -> None:
        unit = _column_unit(self._table(band), column)
        if unit is not None and unit not in (u.ct, u.adu, u.dimensionless_unscaled):
            raise SelectionUnitsError(
                f"{column} in band '{band}' has unit '{unit}', but a PhotoCalib calibrates instrumental "
                "fluxes in counts; this column looks calibrated already."
            )

    # --- criteria ----------------------------------------------------------------------------------------
    def _result(self, name: str, where: str) -> np.ndarray:
        key = (where, name)
        cached = self._results.get(key)
        if cached is None:
            crit = CRITERIA[name]
            cached = _run_rule(crit, [self._column(where, c) for c in crit.columns], where)
            if where != REF and self._index.get(where) is not None:
                cached = cached & self.matched[where]
            cached = cached.view()
            cached.flags.writeable = False
            self._results[key] = cached
        return cached

    def _criterion_mask(self, name: str, bands: tuple[str, ...]) -> np.ndarray:
        """The criterion's mask; may be a cached read-only array."""
        if CRITERIA[name].table == REF:
            return self._result(name, REF)
        keep = self._result(name, bands[0])
        for band in bands[1:]:
            keep = keep & self._result(name, band)
        return keep

    def _resolve(self, criteria: str | Iterable[str] | None, band: str | Sequence[str] | None) -> tuple:
        if criteria is None:
            names = list(LESSON_CRITERIA)
        elif isinstance(criteria, str):
            names = [criteria]
        elif isinstance(criteria, Mapping):  # {name: on}, as the explorer's checkboxes hold them
            wrong = {n: on for n, on in criteria.items() if not isinstance(on, (bool, np.bool_))}
            if wrong:
                raise TypeError(f"a dict of criteria maps each name to True or False; got {wrong}")
            names = [n for n, on in criteria.items() if on]
        else:
            names = list(criteria)
        names = list(dict.fromkeys(_criterion(n).name for n in names))
        needs_forced = any(CRITERIA[n].table == FORCED for n in names)
        bands = _resolve_bands(band, self.bands, self.reference_band) if needs_forced else ()
        return names, bands

    def mask(
        self, criteria: str | Iterable[str] | None = None, *, band: str | Sequence[str] | None = None
    ) -> np.ndarray:
        """Rows of the reference table that pass every enabled criterion.

        Parameters
        ----------
        criteria : str, iterable of str or dict of str to bool, optional
            Names from :data:`CRITERIA`, or ``{name: True or False}`` (the True ones apply); default
            :data:`LESSON_CRITERIA` (primary, point_source, good_psf_flux). An empty list keeps every row.
        band : str or sequence of str, optional
            Band(s) of the per-band criteria: default the ``reference_band``; ``"all"`` requires each
            per-band criterion in every forced table; a list of bands requires it in each of those. The
            reference-table criteria do not depend on it.

        Returns
        -------
        keep : numpy.ndarray of bool
            One entry per reference row; a new array.
        """
        names, bands = self._resolve(criteria, band)
        _, keep = funnel_counts(((n, self._criterion_mask(n, bands)) for n in names), self._n)
        return keep

    def funnel(
        self,
        criteria: str | Iterable[str] | None = LESSON_FUNNEL,
        *,
        band: str | Sequence[str] | None = None,
    ) -> Table:
        """How many rows each criterion keeps, alone and applied one after the other.

        Parameters
        ----------
        criteria : str or iterable of str, optional
            Criteria to apply; default :data:`LESSON_FUNNEL` (the four parts of ``detect_isPrimary``, then
            ``primary``, ``point_source`` and ``good_psf_flux``). ``None`` means :data:`LESSON_CRITERIA`. They
            are applied in the order of :data:`CRITERIA` (the lesson's order), whatever the order listed.
        band : str or sequence of str, optional
            As for :meth:`mask`.

        Returns
        -------
        funnel : astropy.table.Table
            One row per criterion with ``step``, ``criterion``, ``label``, ``description``, ``table``
            (``ref`` or ``forced:<bands>``), ``n_kept_alone``, ``fraction_alone``, ``n_kept_cumulative``,
            ``fraction_cumulative`` and ``n_removed`` (rows removed by this step given the previous ones).
            Fractions are of all reference rows, ``meta['n_total']`` (NaN if there are none).
        """
        names, bands = self._resolve(criteria, band)
        rank = {n: i for i, n in enumerate(CRITERIA)}
        names = sorted(names, key=rank.__getitem__)
        n_total = self._n
        counts, _ = funnel_counts(((n, self._criterion_mask(n, bands)) for n in names), n_total)
        out = funnel_table(counts, n_total)
        out.add_column(np.arange(1, len(names) + 1, dtype=np.int64), name="step", index=0)
        out.add_column(np.array([CRITERIA[n].label for n in names], dtype=str), name="label", index=2)
        out.add_column(np.array([CRITERIA[n].description for n in names], dtype=str), name="description", index=3)
        where = [REF if CRITERIA[n].table == REF else f"{FORCED}:{','.join(bands)}" for n in names]
        out.add_column(np.array(where, dtype=str), name="table", index=4)
        out.meta["bands"] = list(bands)
        return out

    def check_primary(self) -> PrimaryCheck:
        """Check that ``detect_isPrimary`` equals its definition on these data.

        The definition (meas_algorithms ``setPrimaryFlags.py``) is ``detect_isPatchInner &
        detect_isTractInner & ~merge_peak_sky & detect_isDeblendedSource``, with ``deblend_nChild == 0``
        in place of ``detect_isDeblendedSource`` when the table does not have it (pipelines v16, which set
        isPrimary only where nChild == 0; the same with meas_deblender).

        Returns
        -------
        check : PrimaryCheck
            True in a boolean context when consistent; ``check.ids`` names the rows that differ.
        """
        stored = _as_flag(self._column(REF, "detect_isPrimary"), "detect_isPrimary")
        expected, deblend_column = _primary_definition(lambda c: self._column(REF, c), self._ref.colnames)
        deblend_text = "(deblend_nChild == 0)" if deblend_column == "deblend_nChild" else deblend_column
        definition = f"detect_isPatchInner & detect_isTractInner & ~merge_peak_sky & {deblend_text}"
        rows = np.flatnonzero(stored != expected)
        ids = self._column(REF, ID_COLUMN)[rows] if ID_COLUMN in self._ref.colnames else rows.copy()
        parts = ["detect_isPatchInner", "detect_isTractInner", "merge_peak_sky", deblend_column]
        differences = Table(
            {"row": rows, "id": ids, "detect_isPrimary": stored[rows], "expected": expected[rows]}
            | {c: self._column(REF, c)[rows] for c in parts}
        )
        return PrimaryCheck(
            consistent=rows.size == 0,
            definition=definition,
            deblend_column=deblend_column,
            n_rows=self._n,
            n_primary=int(np.count_nonzero(stored)),
            n_expected=int(np.count_nonzero(expected)),
            rows=rows,
            ids=ids,
            differences=differences,
        )
