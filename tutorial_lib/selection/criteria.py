"""The lesson's named criteria: their rules on column arrays, their documentation and the functions on tables.

A multi-band coadd analysis reads one reference table (``deepCoadd_ref``: detection flags, deblending and the
``detect_isPrimary`` bookkeeping) and one forced-photometry table per band (``deepCoadd_forced_src``: the same
objects, measured at the reference positions in each band). The forced tables are row-for-row with the
reference table: same ids, same order. The lesson keeps

* **unique, real objects**: ``detect_isPrimary`` from the reference table, which the pipelines build from four
  parts (``deblended``, ``patch_inner``, ``tract_inner``, ``not_sky``; see :data:`PRIMARY_PARTS`);
* **point sources**: ``base_ClassificationExtendedness_value`` of 0 in the i-band forced table;
* **a good PSF flux**: ``base_PsfFlux_flag`` not set in the i-band forced table;

and, in the explorer, a faint limit (:func:`faint_cut`). Each criterion is defined once, in :data:`CRITERIA`,
with a checkbox label, a one-line explanation, the table it reads and its columns, so that the notebook, the
widget and the tests share one definition, and has a plain function (``primary(ref)``,
``point_source(forced, band="i")``, ...). :meth:`Selection.check_primary` recomputes ``detect_isPrimary`` with
the 2016-2018 (meas_deblender) definitions of :mod:`tutorial_lib.eras`.

Sources of the definitions: meas_algorithms ``python/lsst/meas/algorithms/setPrimaryFlags.py`` (pipe_tasks
``python/lsst/pipe/tasks/setPrimaryFlags.py`` at v16) for ``detect_isPrimary`` and its parts; meas_base
``python/lsst/meas/base/classification.py`` for ``base_ClassificationExtendedness_value``; meas_base
``src/PsfFlux.cc``, ``src/InputUtilities.cc`` and ``python/lsst/meas/base/applyApCorr.py`` for
``base_PsfFlux_flag``.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from .. import eras
from .._arrays import as_array
from ..photometry import as_magnitude, is_magnitude_unit

__all__ = [
    "CRITERIA",
    "LESSON_CRITERIA",
    "LESSON_FUNNEL",
    "MATCH_AUTO",
    "PRIMARY_PARTS",
    "Criterion",
    "MissingColumnError",
    "RowMismatchError",
    "FAINT_CUT_DESCRIPTION",
    "SelectionUnitsError",
    "deblended",
    "faint_cut",
    "funnel_counts",
    "funnel_table",
    "good_psf_flux",
    "not_sky",
    "patch_inner",
    "point_source",
    "primary",
    "tract_inner",
]

#: The four parts of ``detect_isPrimary`` (meas_algorithms ``setPrimaryFlags.py``), in the lesson's order.
PRIMARY_PARTS = ("deblended", "patch_inner", "tract_inner", "not_sky")

#: The lesson's full selection: unique real objects, point sources, good PSF flux (forced, reference band).
LESSON_CRITERIA = ("primary", "point_source", "good_psf_flux")

#: The default funnel: the parts of ``detect_isPrimary``, then ``detect_isPrimary`` itself (which removes
#: nothing more when the flags are consistent), then the per-band cuts.
LESSON_FUNNEL = PRIMARY_PARTS + LESSON_CRITERIA

REF = "ref"
FORCED = "forced"
#: Column of the reference table that identifies an object; ``match_column`` values refer to it.
ID_COLUMN = "id"
#: Reserved band name: a criterion on the forced tables is required in every band given.
ALL_BANDS = "all"
#: ``match_column`` value telling :class:`Selection` to find each forced table's link to the reference rows.
MATCH_AUTO = "auto"
#: Column of a Gen2 (2016) forced table holding the reference ``id`` of each row; ``"auto"`` falls back to it.
GEN2_LINK_COLUMN = "objectId"


# --------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------
class MissingColumnError(KeyError):
    """A column a criterion needs is not in the table; the message names the table and the likely fix.

    A subclass of `KeyError` (what ``table[name]`` raises), whose ``str()`` is the plain message.

    Attributes
    ----------
    column : str
        The missing column.
    table : str
        ``"ref"`` or the band of the forced table.
    """

    def __init__(self, message: str, column: str, table: str):
        super().__init__(message)
        self.message = message
        self.column = column
        self.table = table

    def __str__(self) -> str:
        return self.message


class RowMismatchError(ValueError):
    """A forced table is not row-for-row with the reference table (different length or ids).

    Attributes
    ----------
    band : str
        Band of the offending forced table.
    row : int
        First row index at which the tables differ.
    """

    def __init__(self, message: str, band: str, row: int):
        super().__init__(message)
        self.band = band
        self.row = row


class SelectionUnitsError(u.UnitsError, ValueError):
    """A limit or a column has the wrong unit (for example a magnitude limit in nJy).

    Both an `astropy.units.UnitsError` and a `ValueError`.
    """


# --------------------------------------------------------------------------------------------------------
# Column access
# --------------------------------------------------------------------------------------------------------
def _where_text(where: str) -> str:
    if where == REF:
        return "the reference table (deepCoadd_ref)"
    if where == FORCED:
        return "the forced table (deepCoadd_forced_src)"
    return f"the forced table for band '{where}' (deepCoadd_forced_src)"


def _missing_column(table: Table, column: str, where: str) -> MissingColumnError:
    """Build the error for a missing column, with the most likely fix."""
    names = list(table.colnames)
    hints = []
    if column.startswith(("detect_", "merge_")):
        looks_forced = not any(n.startswith(("detect_", "merge_")) for n in names)
        if where == REF and looks_forced:
            hints.append(
                f"This table has no detect_*/merge_* columns, so it looks like a forced table "
                f"(deepCoadd_forced_src): {column} is in the reference table (deepCoadd_ref), not in the "
                "forced table. Pass the reference table."
            )
        elif where == REF:
            hints.append(
                f"{column} is written by the coadd detection/merge steps and is in deepCoadd_ref; "
                "check that this is the reference table and not a forced or single-band table."
            )
        else:
            hints.append(
                f"{column} is in the reference table (deepCoadd_ref), not in the forced table: forced "
                "photometry copies only id, parent, deblend_nChild and the coordinates. "
                "Apply this criterion to the reference table."
            )
    old_names = {
        "_instFluxErr": ("_fluxSigma", "_fluxErr"),
        "_instFlux": ("_flux",),
    }
    for new, olds in old_names.items():
        if column.endswith(new):
            for old in olds:
                candidate = column[: -len(new)] + old
                if candidate in names:
                    hints.append(
                        f"this table uses the pipelines v16 names ({candidate}); since v17 it is {column}: "
                        f"table.rename_column('{candidate}', '{column}')."
                    )
                    break
            break
    if column.endswith("_mag"):
        hints.append(
            "give the Selection a photo_calib=PhotoCalib (or {band: PhotoCalib}), or add magnitudes with "
            "photoCalib.calibrateCatalog(table)."
        )
    if "flags" in names and column not in names and ("_flag" in column or column.startswith("detect_")):
        hints.append(
            "the table still has the packed afw 'flags' column: unpack its bits into named columns "
            "(the names are in the TFLAGn header keywords) before selecting."
        )
    if not hints:
        close = difflib.get_close_matches(column, names, n=3, cutoff=0.75)
        if close:
            hints.append(f"did you mean {', '.join(repr(c) for c in close)}?")
    message = f"column '{column}' not found in {_where_text(where)}."
    if hints:
        message += " " + " ".join(hints)
    return MissingColumnError(message, column, where)


def _as_flag(values: np.ndarray, column: str | None = None) -> np.ndarray:
    if values.dtype == bool:
        return values
    if np.issubdtype(values.dtype, np.integer):
        return values != 0
    what = f"column '{column}'" if column else "the column"
    raise TypeError(f"{what} has dtype {values.dtype}; a flag column must be boolean (or 0/1).")


def _table_column(table: Table, column: str, where: str) -> np.ndarray:
    if column not in table.colnames:
        raise _missing_column(table, column, where)
    return as_array(table[column], bool_fill=column in _failure_flags())


@functools.cache
def _failure_flags() -> frozenset[str]:
    """Flag columns whose cut keeps the rows where they are unset (``~flag``): there a masked flag, unknown,
    counts as set, so that it does not pass the cut (as a null fails the survey's cuts)."""
    return frozenset(c for crit in CRITERIA.values() if crit.rule is _rule_flag_unset for c in crit.columns)


def _column_unit(table: Table, column: str):
    return getattr(table[column], "unit", None)


def _check_table(table, what: str) -> None:
    if not isinstance(table, Table):
        raise TypeError(
            f"{what} must be an astropy Table, got {type(table).__name__}. Convert a pandas DataFrame with "
            "Table.from_pandas(df) and an afw SourceCatalog with catalog.asAstropy()."
        )


# --------------------------------------------------------------------------------------------------------
# Rules: each criterion's definition on column arrays, used by both the functions and Selection
# --------------------------------------------------------------------------------------------------------
def _rule_deblended(n_child: np.ndarray) -> np.ndarray:
    return n_child == 0


def _rule_flag_set(flag: np.ndarray) -> np.ndarray:
    # A copy: the column array may be a view of the table's data, and callers may modify the mask.
    return _as_flag(flag).copy()


def _rule_flag_unset(flag: np.ndarray) -> np.ndarray:
    return ~_as_flag(flag)


def _rule_point_source(extendedness: np.ndarray) -> np.ndarray:
    # NaN < 0.5 is False: an unmeasured extendedness is not a point source.
    return extendedness < 0.5


# --------------------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Criterion:
    """One named cut of the lesson.

    Attributes
    ----------
    name : str
        Registry key; also the name of the module-level function.
    label : str
        Short text for a checkbox.
    description : str
        One-line human explanation of what the cut keeps and why.
    table : {'ref', 'forced'}
        The table it reads: the reference table or a band's forced table.
    columns : tuple of str
        Columns it needs.
    function : callable
        The module-level function: ``function(ref)`` or ``function(forced, band="i")``.
    source : str
        Where the definition comes from.
    rule : callable
        The definition on column arrays, in the order of ``columns``.
    """

    name: str
    label: str
    description: str
    table: str
    columns: tuple[str, ...]
    function: Callable[..., np.ndarray]
    source: str
    rule: Callable[..., np.ndarray] = field(repr=False)


def _criterion(name: str) -> Criterion:
    try:
        return CRITERIA[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(CRITERIA), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"unknown criterion {name!r}; known criteria: {', '.join(CRITERIA)}.{hint}") from None


def _run_rule(crit: Criterion, arrays: Iterable[np.ndarray], where: str) -> np.ndarray:
    try:
        return crit.rule(*arrays)
    except TypeError as err:
        raise TypeError(
            f"criterion '{crit.name}' on {', '.join(crit.columns)} in {_where_text(where)}: {err}"
        ) from None


def _apply_rule(name: str, table: Table, where: str) -> np.ndarray:
    crit = _criterion(name)
    return _run_rule(crit, [_table_column(table, c, where) for c in crit.columns], where)


# --------------------------------------------------------------------------------------------------------
# Criterion functions on tables
# --------------------------------------------------------------------------------------------------------
def deblended(ref: Table) -> np.ndarray:
    """Objects with no deblended children: ``deblend_nChild == 0``.

    A blend appears in the catalogue as its parent *and* its children; keeping ``nChild == 0`` keeps each
    child and each unblended isolated object and drops the parents, so no flux is counted twice. With
    meas_deblender this is ``detect_isDeblendedSource`` (meas_algorithms ``setPrimaryFlags.py``,
    ``getDeblendPrimaryFlags``).

    Parameters
    ----------
    ref : astropy.table.Table
        Reference table (``deepCoadd_ref``) with ``deblend_nChild``.

    Returns
    -------
    keep : numpy.ndarray of bool
    """
    _check_table(ref, "ref")
    return _apply_rule("deblended", ref, REF)


def patch_inner(ref: Table) -> np.ndarray:
    """Objects whose centroid lies in the inner region of their patch: ``detect_isPatchInner``.

    Neighbouring patches overlap by twice the 100-pixel border; the inner regions tile the tract without
    overlap, so this keeps each object from one patch only (meas_algorithms ``setPrimaryFlags.py``,
    ``getPatchInner``).

    Parameters
    ----------
    ref : astropy.table.Table
        Reference table with ``detect_isPatchInner``.

    Returns
    -------
    keep : numpy.ndarray of bool
    """
    _check_table(ref, "ref")
    return _apply_rule("patch_inner", ref, REF)


def tract_inner(ref: Table) -> np.ndarray:
    """Objects that belong to this tract: ``detect_isTractInner``.

    True when the sky map's ``findTract`` of the object's position returns this tract, which removes duplicates
    in tract overlaps (meas_algorithms ``setPrimaryFlags.py``, ``getTractInner``). In a discrete sky map (the
    lesson's) that is the tract whose centre is nearest (skymap ``BaseSkyMap.findTract``); a rings sky map
    (HSC SSP, LSST) picks the ring by Dec, then the tract by RA (``RingsSkyMap.findTract``).

    Parameters
    ----------
    ref : astropy.table.Table
        Reference table with ``detect_isTractInner``.

    Returns
    -------
    keep : numpy.ndarray of bool
    """
    _check_table(ref, "ref")
    return _apply_rule("tract_inner", ref, REF)


def not_sky(ref: Table) -> np.ndarray:
    """Real detections, not sky objects: ``~merge_peak_sky``.

    Sky objects are positions placed on blank sky (meas_algorithms ``skyObjects.py``) to measure the
    background and noise; the pipelines treat ``sky`` as a pseudo-filter that is never primary
    (``SetPrimaryFlagsConfig.pseudoFilterList``).

    Parameters
    ----------
    ref : astropy.table.Table
        Reference table with ``merge_peak_sky``.

    Returns
    -------
    keep : numpy.ndarray of bool
    """
    _check_table(ref, "ref")
    return _apply_rule("not_sky", ref, REF)


def primary(ref: Table) -> np.ndarray:
    """Unique, real, deblended objects: ``detect_isPrimary`` as written by the pipelines.

    :meth:`Selection.check_primary` compares it with its definition, recomputed from its parts.

    Parameters
    ----------
    ref : astropy.table.Table
        Reference table with ``detect_isPrimary``.

    Returns
    -------
    keep : numpy.ndarray of bool
    """
    _check_table(ref, "ref")
    return _apply_rule("primary", ref, REF)


def _primary_definition(get: Callable[[str], np.ndarray], colnames: Iterable[str]) -> tuple[np.ndarray, str]:
    """``detect_isPrimary`` recomputed from its parts, as the pipelines define it, on columns read by ``get``.

    meas_algorithms ``setPrimaryFlags.py`` (``SetPrimaryFlagsTask.run``) sets, for a coadd,
    ``isPrimary = isTractInner & isPatchInner & ~merge_peak_sky & isDeblendedSource``; with meas_deblender
    ``isDeblendedSource`` is ``deblend_nChild == 0`` (``getDeblendPrimaryFlags``; with scarlet it differs).
    The pipelines up to v16 (pipe_tasks ``setPrimaryFlags.py@16.0``) wrote no ``detect_isDeblendedSource``
    but set ``isPrimary`` only where ``deblend_nChild == 0``: the same formula with meas_deblender. The flags
    are checked, then :mod:`.eras`' formula applied. Returns the flag and the deblend column used
    (``"detect_isDeblendedSource"`` if ``colnames`` has it, else ``"deblend_nChild"``).
    """
    columns = {
        name: _as_flag(get(name), name) for name in ("detect_isPatchInner", "detect_isTractInner", "merge_peak_sky")
    }
    if "detect_isDeblendedSource" in colnames:
        deblend_column = "detect_isDeblendedSource"
        deblended_source = _as_flag(get(deblend_column), deblend_column)
        return eras.is_primary(columns, {deblend_column: deblended_source}), deblend_column
    columns["deblend_nChild"] = get("deblend_nChild")
    return eras.is_primary_2016_2018(columns), "deblend_nChild"


def _resolve_bands(band, available: Sequence[str], default: str | None) -> tuple[str, ...]:
    """Bands named by ``band``: None (the default band), one band, ``"all"`` or a sequence of bands."""
    if not available:
        raise ValueError("per-band criteria read the forced tables, but none were given (forced={band: table}).")
    if band is None:
        band = default
    bands = (tuple(available) if band == ALL_BANDS else (band,)) if isinstance(band, str) else tuple(band)
    if not bands:
        raise ValueError(f"band={band!r} names no band; give a band, a list of bands or 'all'.")
    unknown = [b for b in bands if b not in available]
    if unknown:
        raise ValueError(
            f"no forced table for band(s) {', '.join(map(repr, unknown))}; "
            f"forced tables were given for: {', '.join(map(repr, available)) or 'none'}."
        )
    return bands


def _check_row_for_row(n_ref: int, ref_ids, table: Table, band: str, against: str = "the reference table") -> None:
    """Refuse a forced table that does not have the reference table's rows, in the same order."""
    hint = (
        " Forced tables of the same tract and patch are row-for-row with deepCoadd_ref; if this one links to "
        "the reference through another column (Gen2 forced tables carry 'objectId'), pass "
        "match_column='objectId' to Selection (or match_column='auto', which does so only where needed)."
    )
    n = len(table)
    ids = as_array(table[ID_COLUMN]) if ref_ids is not None and ID_COLUMN in table.colnames else None
    if ids is not None and not np.array_equal(ids[:n_ref], ref_ids[:n]):
        row = int(np.flatnonzero(ids[: min(n, n_ref)] != ref_ids[: min(n, n_ref)])[0])
        raise RowMismatchError(
            f"the forced table for band '{band}' is not row-for-row with {against}: row {row} has "
            f"id {ids[row]} in the forced table but {ref_ids[row]} in {against}." + hint,
            band,
            row,
        )
    if n != n_ref:
        row = min(n, n_ref)
        raise RowMismatchError(
            f"the forced table for band '{band}' has {n} rows but {against} has {n_ref}: they are "
            f"not row-for-row (the first differing row is {row})." + hint,
            band,
            row,
        )


def _forced_tables(forced, band) -> list[tuple[str, Table]]:
    if isinstance(forced, Table):
        return [(FORCED, forced)]
    if not isinstance(forced, Mapping):
        raise TypeError(f"forced must be an astropy Table or a {{band: Table}} dict, got {type(forced).__name__}")
    bands = _resolve_bands(band, list(forced), "i")
    tables = [(b, forced[b]) for b in bands]
    for b, t in tables:
        _check_table(t, f"forced[{b!r}]")
    first_band, first = tables[0]
    first_ids = as_array(first[ID_COLUMN]) if ID_COLUMN in first.colnames else None
    for b, t in tables[1:]:
        _check_row_for_row(len(first), first_ids, t, b, f"the forced table for band '{first_band}'")
    return tables


def _apply_forced(name: str, forced, band) -> np.ndarray:
    (first_where, first), *others = _forced_tables(forced, band)
    keep = _apply_rule(name, first, first_where).copy()
    for where, table in others:
        np.logical_and(keep, _apply_rule(name, table, where), out=keep)
    return keep


def point_source(forced: Table | Mapping[str, Table], band: str | Sequence[str] = "i") -> np.ndarray:
    """Point sources: ``base_ClassificationExtendedness_value < 0.5``, i.e. equal to 0.

    meas_base ``classification.py`` sets the value to 0 when ``fluxRatio * modelFlux < psfFlux`` (plus
    optional error terms) and to 1 otherwise: a source is "extended" when its CModel flux exceeds its PSF flux
    by more than a factor ``1/fluxRatio`` (HSC: ``fluxRatio = 0.985``, obs_subaru ``config/cmodel.py``).
    When either flux is NaN or flagged the value is NaN (and ``_flag`` is set); NaN is **not** a point source
    here. Forced photometry measures it per band, so each forced table has its own.

    Parameters
    ----------
    forced : astropy.table.Table or dict of {str: astropy.table.Table}
        One forced table, or forced tables by band (row-for-row with each other).
    band : str or sequence of str, optional
        With a dict: the band to use (default ``"i"``), ``"all"`` to require the cut in every band given, or a
        list of bands (logical AND). Ignored for a single table.

    Returns
    -------
    keep : numpy.ndarray of bool
    """
    return _apply_forced("point_source", forced, band)


def good_psf_flux(forced: Table | Mapping[str, Table], band: str | Sequence[str] = "i") -> np.ndarray:
    """A usable PSF flux: ``~base_PsfFlux_flag``.

    meas_base sets the general failure flag when the PSF model overlaps the image edge (``_flag_edge``) or there
    are no good pixels (``_flag_noGoodPixels``; both ``src/PsfFlux.cc``), when the centroid failed
    (``src/InputUtilities.cc``), or when the aperture correction failed (``_flag_apCorr``, set by
    ``applyApCorr.py`` with ``doFlagApCorrFailures``, True by default). Saturation alone does not set it.

    Parameters
    ----------
    forced : astropy.table.Table or dict of {str: astropy.table.Table}
        One forced table, or forced tables by band.
    band : str or sequence of str, optional
        As for :func:`point_source`.

    Returns
    -------
    keep : numpy.ndarray of bool
    """
    return _apply_forced("good_psf_flux", forced, band)


# --------------------------------------------------------------------------------------------------------
# The faint cut and the funnel (shared by Selection and the explorer)
# --------------------------------------------------------------------------------------------------------
#: What the faint cut keeps, in words (the explorer's explanation line).
FAINT_CUT_DESCRIPTION = (
    "keeps rows whose PSF magnitude in the reference band is at most the limit; rows without a magnitude "
    "(flux <= 0 or NaN) fail."
)


def faint_cut(mag: Any, faint: Any) -> np.ndarray:
    """Rows at most as faint as ``faint`` (AB mag); NaN magnitudes (no flux) fail.

    Parameters
    ----------
    mag : numpy.ndarray, astropy Column or Quantity
        AB magnitudes, NaN (or masked) where there is none (flux <= 0 or unmeasured).
    faint : float or astropy.units.Quantity
        The faint limit, AB mag (inclusive).

    Returns
    -------
    numpy.ndarray of bool
        ``mag <= faint`` (NaN compares False).

    Raises
    ------
    ValueError
        ``mag`` has a unit that is not a magnitude (a flux), or ``faint`` is not one finite number.
    """
    unit = getattr(mag, "unit", None)
    if unit is not None and not is_magnitude_unit(unit):
        raise ValueError(
            f"faint_cut needs magnitudes, but these values have unit '{unit}': convert fluxes to magnitudes "
            "first (PhotoCalib.instFluxToMagnitude, or Selection.magnitude)."
        )
    if np.ndim(faint) != 0:
        raise ValueError("faint must be one number, the faint limit in AB mag: faint_cut(magnitudes, 25.0)")
    limit = as_magnitude(faint, "faint")
    if not np.isfinite(limit):
        raise ValueError(f"faint must be a finite number, the faint limit in AB mag, got {faint!r}")
    return as_array(mag) <= limit


def funnel_counts(
    steps: Iterable[tuple[str, np.ndarray]], n_rows: int
) -> tuple[list[tuple[str, int, int]], np.ndarray]:
    """Apply named masks one after the other and count what each keeps, alone and cumulatively.

    Parameters
    ----------
    steps : iterable of (str, numpy.ndarray of bool)
        Named masks, in the order they are applied.
    n_rows : int
        Number of rows (the length of every mask).

    Returns
    -------
    counts : list of (str, int, int)
        ``(name, kept alone, kept cumulatively)`` per step.
    keep : numpy.ndarray of bool
        The rows every step keeps (a new array; all True without steps).
    """
    keep = np.ones(n_rows, dtype=bool)
    counts = []
    for name, mask in steps:
        np.logical_and(keep, mask, out=keep)
        counts.append((name, int(np.count_nonzero(mask)), int(np.count_nonzero(keep))))
    return counts, keep


def funnel_table(counts: Sequence[tuple[str, int, int]], n_total: int) -> Table:
    """The funnel of :func:`funnel_counts` as a table, for :meth:`Selection.funnel` and the explorer.

    Parameters
    ----------
    counts : sequence of (str, int, int)
        ``(name, kept alone, kept cumulatively)`` per step.
    n_total : int
        Rows before any step.

    Returns
    -------
    astropy.table.Table
        Columns ``criterion``, ``n_kept_alone``, ``fraction_alone``, ``n_kept_cumulative``,
        ``fraction_cumulative`` and ``n_removed`` (by this step); ``meta["n_total"]``.
    """
    alone = np.array([a for _, a, _ in counts], dtype=np.int64)
    kept = np.array([c for _, _, c in counts], dtype=np.int64)
    scale = 1.0 / n_total if n_total else np.nan
    out = Table(
        {
            "criterion": np.array([name for name, _, _ in counts], dtype=str),
            "n_kept_alone": alone,
            "fraction_alone": alone * scale,
            "n_kept_cumulative": kept,
            "fraction_cumulative": kept * scale,
            "n_removed": -np.diff(np.concatenate([[n_total], kept])).astype(np.int64),
        }
    )
    out.meta["n_total"] = n_total
    return out


def _check_magnitude_unit(unit: Any, what: str) -> None:
    if unit is None or is_magnitude_unit(unit):
        return
    raise SelectionUnitsError(
        f"{what} has unit '{unit}', not magnitudes. Convert fluxes first, e.g. "
        "photoCalib.instFluxToMagnitude(table['base_PsfFlux_instFlux'])."
    )


_SOURCE_PRIMARY = "meas_algorithms python/lsst/meas/algorithms/setPrimaryFlags.py (pipe_tasks setPrimaryFlags.py@16.0)"

#: The criteria of the lesson, in the lesson's (and the default funnel's) order.
CRITERIA: dict[str, Criterion] = {
    c.name: c
    for c in (
        Criterion(
            "deblended",
            "Deblended (no children)",
            "deblend_nChild == 0: drops blended parents, keeping each deblended child and each isolated object once.",
            REF,
            ("deblend_nChild",),
            deblended,
            _SOURCE_PRIMARY + ", getDeblendPrimaryFlags",
            rule=_rule_deblended,
        ),
        Criterion(
            "patch_inner",
            "In the patch's inner region",
            "detect_isPatchInner: centroid inside the patch's inner region, so objects in the overlap with a "
            "neighbouring patch are kept once.",
            REF,
            ("detect_isPatchInner",),
            patch_inner,
            _SOURCE_PRIMARY + ", getPatchInner",
            rule=_rule_flag_set,
        ),
        Criterion(
            "tract_inner",
            "In the tract's inner region",
            "detect_isTractInner: the sky map's findTract puts the object in this tract (in a discrete sky map, "
            "the tract with the nearest centre), so objects in a tract overlap are kept once.",
            REF,
            ("detect_isTractInner",),
            tract_inner,
            _SOURCE_PRIMARY + ", getTractInner",
            rule=_rule_flag_set,
        ),
        Criterion(
            "not_sky",
            "Not a sky object",
            "~merge_peak_sky: drops sky objects, blank-sky positions placed to measure the background, "
            "not real sources.",
            REF,
            ("merge_peak_sky",),
            not_sky,
            _SOURCE_PRIMARY + ", getPseudoSources; meas_algorithms skyObjects.py",
            rule=_rule_flag_unset,
        ),
        Criterion(
            "primary",
            "Primary (detect_isPrimary)",
            "detect_isPrimary: the pipelines' flag for unique, real objects, the AND of the four cuts "
            "deblended, patch inner, tract inner and not sky.",
            REF,
            ("detect_isPrimary",),
            primary,
            _SOURCE_PRIMARY + ", SetPrimaryFlagsTask.run",
            rule=_rule_flag_set,
        ),
        Criterion(
            "point_source",
            "Point source (extendedness 0)",
            "base_ClassificationExtendedness_value == 0: the PSF flux is close to the CModel flux, so the "
            "object is unresolved (a star or a quasar); NaN (not measured) is not a point source.",
            FORCED,
            ("base_ClassificationExtendedness_value",),
            point_source,
            "meas_base python/lsst/meas/base/classification.py; obs_subaru config/cmodel.py (fluxRatio 0.985)",
            rule=_rule_point_source,
        ),
        Criterion(
            "good_psf_flux",
            "Good PSF flux (no flag)",
            "~base_PsfFlux_flag: the PSF flux measurement did not fail (no image edge, no-good-pixels, "
            "centroid or aperture-correction failure).",
            FORCED,
            ("base_PsfFlux_flag",),
            good_psf_flux,
            "meas_base src/PsfFlux.cc, src/InputUtilities.cc, python/lsst/meas/base/applyApCorr.py",
            rule=_rule_flag_unset,
        ),
    )
}
