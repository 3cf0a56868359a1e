"""The lesson's selection of unique, real, well-measured point sources, one named criterion at a time.

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
widget and the tests share one definition. Each has a plain function (``primary(ref)``,
``point_source(forced, band="i")``, ...) and :class:`Selection` combines them over a reference table and a
``{band: forced table}`` dictionary, with cached column arrays, a cut-by-cut :meth:`Selection.funnel` and
:meth:`Selection.check_primary`, which verifies ``detect_isPrimary`` against its definition.

Sources of the definitions: meas_algorithms ``python/lsst/meas/algorithms/setPrimaryFlags.py`` (pipe_tasks
``python/lsst/pipe/tasks/setPrimaryFlags.py`` at v16) for ``detect_isPrimary`` and its parts; meas_base
``python/lsst/meas/base/classification.py`` for ``base_ClassificationExtendedness_value``; meas_base
``src/PsfFlux.cc`` for ``base_PsfFlux_flag``; lsst/utils ``Magnitude.h`` and afw ``PhotoCalib.cc`` for
magnitudes.

Real 2016 (Gen2) forced tables, such as the HSC data of lesson 8, give each row an ``id`` of its own and link it
to the reference row through ``objectId``: ``Selection(..., match_column="objectId")`` matches through it, and
``match_column="auto"`` does so only for the bands whose ``id`` differs (saying so in ``Selection.notes``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

__all__ = [
    "CRITERIA",
    "LESSON_CRITERIA",
    "LESSON_FUNNEL",
    "MATCH_AUTO",
    "PRIMARY_PARTS",
    "Criterion",
    "MissingColumnError",
    "PrimaryCheck",
    "RowMismatchError",
    "FAINT_CUT_DESCRIPTION",
    "Selection",
    "SelectionUnitsError",
    "deblended",
    "faint_cut",
    "funnel_counts",
    "good_psf_flux",
    "not_sky",
    "patch_inner",
    "point_source",
    "primary",
    "primary_definition",
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

_MAGNITUDE_UNITS = (u.mag, u.dimensionless_unscaled)


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


def _to_numpy(column) -> np.ndarray:
    """A column as a plain ndarray without copying where possible; masked entries filled.

    Masked booleans become False (flag not set: a masked ``base_PsfFlux_flag`` passes ``good_psf_flux``),
    masked floats NaN (never passes a comparison) and masked integers -1 (fails ``deblend_nChild == 0``).
    """
    if hasattr(column, "unmasked"):  # astropy Masked (e.g. a masked Quantity in a QTable)
        data, mask = np.asarray(column.unmasked), np.asarray(column.mask)
    elif isinstance(column, np.ma.MaskedArray):
        data, mask = np.ma.getdata(column), np.ma.getmaskarray(column)
    else:
        return np.asarray(column.value if isinstance(column, u.Quantity) else column)
    data = np.asarray(data.value if isinstance(data, u.Quantity) else data)
    if not mask.any():
        return data
    if data.dtype == bool:
        fill: Any = False
    elif np.issubdtype(data.dtype, np.floating):
        fill = np.nan
    elif np.issubdtype(data.dtype, np.integer):
        fill = -1
    else:
        raise TypeError(f"cannot fill masked values of a column of dtype {data.dtype}")
    return np.where(mask, fill, data)


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
    return _to_numpy(table[column])


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
        raise ValueError(
            f"unknown criterion {name!r}; known criteria: {', '.join(CRITERIA)}.{hint}"
        ) from None


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
    ref : `astropy.table.Table`
        Reference table (``deepCoadd_ref``) with ``deblend_nChild``.

    Returns
    -------
    keep : `numpy.ndarray` of bool
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
    ref : `astropy.table.Table`
        Reference table with ``detect_isPatchInner``.

    Returns
    -------
    keep : `numpy.ndarray` of bool
    """
    _check_table(ref, "ref")
    return _apply_rule("patch_inner", ref, REF)


def tract_inner(ref: Table) -> np.ndarray:
    """Objects that belong to this tract: ``detect_isTractInner``.

    True when the sky map's ``findTract`` of the object's position returns this tract, i.e. the object is
    nearer this tract's centre than any other's, which removes duplicates in tract overlaps
    (meas_algorithms ``setPrimaryFlags.py``, ``getTractInner``).

    Parameters
    ----------
    ref : `astropy.table.Table`
        Reference table with ``detect_isTractInner``.

    Returns
    -------
    keep : `numpy.ndarray` of bool
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
    ref : `astropy.table.Table`
        Reference table with ``merge_peak_sky``.

    Returns
    -------
    keep : `numpy.ndarray` of bool
    """
    _check_table(ref, "ref")
    return _apply_rule("not_sky", ref, REF)


def primary(ref: Table) -> np.ndarray:
    """Unique, real, deblended objects: ``detect_isPrimary`` as written by the pipelines.

    Its definition is :func:`primary_definition`; :meth:`Selection.check_primary` compares the two.

    Parameters
    ----------
    ref : `astropy.table.Table`
        Reference table with ``detect_isPrimary``.

    Returns
    -------
    keep : `numpy.ndarray` of bool
    """
    _check_table(ref, "ref")
    return _apply_rule("primary", ref, REF)


def primary_definition(ref: Table) -> tuple[np.ndarray, str]:
    """Recompute ``detect_isPrimary`` from its parts, as the pipelines define it.

    meas_algorithms ``setPrimaryFlags.py`` (``SetPrimaryFlagsTask.run``) sets, for a coadd,
    ``isPrimary = isTractInner & isPatchInner & ~merge_peak_sky & isDeblendedSource``; with meas_deblender
    ``isDeblendedSource`` is ``deblend_nChild == 0`` (``getDeblendPrimaryFlags``; with scarlet it differs).
    The pipelines up to v16 (pipe_tasks ``setPrimaryFlags.py@16.0``) wrote no ``detect_isDeblendedSource``
    but set ``isPrimary`` only where ``deblend_nChild == 0``: the same formula with meas_deblender.

    Parameters
    ----------
    ref : `astropy.table.Table`
        Reference table with ``detect_isPatchInner``, ``detect_isTractInner``, ``merge_peak_sky`` and
        ``detect_isDeblendedSource`` or, if that column is absent, ``deblend_nChild``.

    Returns
    -------
    expected : `numpy.ndarray` of bool
        The recomputed flag.
    deblend_column : str
        ``"detect_isDeblendedSource"`` if the table has it (used as is), else ``"deblend_nChild"``.
    """
    _check_table(ref, "ref")
    return _primary_definition(lambda c: _table_column(ref, c, REF), ref.colnames)


def _primary_definition(get: Callable[[str], np.ndarray], colnames) -> tuple[np.ndarray, str]:
    expected = (
        _as_flag(get("detect_isPatchInner"), "detect_isPatchInner")
        & _as_flag(get("detect_isTractInner"), "detect_isTractInner")
        & ~_as_flag(get("merge_peak_sky"), "merge_peak_sky")
    )
    if "detect_isDeblendedSource" in colnames:
        deblend_column = "detect_isDeblendedSource"
        expected &= _as_flag(get(deblend_column), deblend_column)
    else:
        deblend_column = "deblend_nChild"
        expected &= _rule_deblended(get(deblend_column))
    return expected, deblend_column


def _resolve_bands(band, available: Sequence[str], default: str | None) -> tuple[str, ...]:
    """Bands named by ``band``: None (the default band), one band, ``"all"`` or a sequence of bands."""
    if not available:
        raise ValueError(
            "per-band criteria read the forced tables, but none were given (forced={band: table})."
        )
    if band is None:
        band = default
    if isinstance(band, str):
        bands = tuple(available) if band == ALL_BANDS else (band,)
    else:
        bands = tuple(band)
    if not bands:
        raise ValueError(f"band={band!r} names no band; give a band, a list of bands or 'all'.")
    unknown = [b for b in bands if b not in available]
    if unknown:
        raise ValueError(
            f"no forced table for band(s) {', '.join(map(repr, unknown))}; "
            f"forced tables were given for: {', '.join(map(repr, available)) or 'none'}."
        )
    return bands


def _check_row_for_row(
    n_ref: int, ref_ids, table: Table, band: str, against: str = "the reference table"
) -> None:
    """Refuse a forced table that does not have the reference table's rows, in the same order."""
    hint = (
        " Forced tables of the same tract and patch are row-for-row with deepCoadd_ref; if this one links to "
        "the reference through another column (Gen2 forced tables carry 'objectId'), pass "
        "match_column='objectId' to Selection (or match_column='auto', which does so only where needed)."
    )
    n = len(table)
    ids = _to_numpy(table[ID_COLUMN]) if ref_ids is not None and ID_COLUMN in table.colnames else None
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
        raise TypeError(
            f"forced must be an astropy Table or a {{band: Table}} dict, got {type(forced).__name__}"
        )
    bands = _resolve_bands(band, list(forced), "i")
    tables = [(b, forced[b]) for b in bands]
    for b, t in tables:
        _check_table(t, f"forced[{b!r}]")
    first_band, first = tables[0]
    first_ids = _to_numpy(first[ID_COLUMN]) if ID_COLUMN in first.colnames else None
    for b, t in tables[1:]:
        _check_row_for_row(len(first), first_ids, t, b, f"the forced table for band '{first_band}'")
    return tables


def _apply_forced(name: str, forced, band) -> np.ndarray:
    keep = None
    for where, table in _forced_tables(forced, band):
        result = _apply_rule(name, table, where)
        keep = result.copy() if keep is None else np.logical_and(keep, result, out=keep)
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
    forced : `astropy.table.Table` or dict of {str: `astropy.table.Table`}
        One forced table, or forced tables by band (row-for-row with each other).
    band : str or sequence of str, optional
        With a dict: the band to use (default ``"i"``), ``"all"`` to require the cut in every band given, or a
        list of bands (logical AND). Ignored for a single table.

    Returns
    -------
    keep : `numpy.ndarray` of bool
    """
    return _apply_forced("point_source", forced, band)


def good_psf_flux(forced: Table | Mapping[str, Table], band: str | Sequence[str] = "i") -> np.ndarray:
    """A usable PSF flux: ``~base_PsfFlux_flag``.

    meas_base ``PsfFlux.cc`` sets the general failure flag when the PSF model overlaps the image edge
    (``_flag_edge``), there are no good pixels (``_flag_noGoodPixels``), the centroid failed, or the aperture
    correction failed (``_flag_apCorr``). Saturation alone does not set it.

    Parameters
    ----------
    forced : `astropy.table.Table` or dict of {str: `astropy.table.Table`}
        One forced table, or forced tables by band.
    band : str or sequence of str, optional
        As for :func:`point_source`.

    Returns
    -------
    keep : `numpy.ndarray` of bool
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


def faint_cut(mag: np.ndarray, faint: float) -> np.ndarray:
    """Rows at most as faint as ``faint`` (AB mag); NaN magnitudes (no flux) fail.

    Parameters
    ----------
    mag : numpy.ndarray
        AB magnitudes, NaN where there is none (flux <= 0 or unmeasured).
    faint : float
        The faint limit, AB mag (inclusive).

    Returns
    -------
    numpy.ndarray of bool
        ``mag <= faint`` (NaN compares False).
    """
    return mag <= faint


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


def _check_magnitude_unit(unit, what: str) -> None:
    if unit is None or unit in _MAGNITUDE_UNITS:
        return
    if isinstance(unit, u.MagUnit) and unit.physical_unit == u.AB:
        return
    raise SelectionUnitsError(
        f"{what} has unit '{unit}', not magnitudes. Convert fluxes first, e.g. "
        "photoCalib.instFluxToMagnitude(table['base_PsfFlux_instFlux'])."
    )


_SOURCE_PRIMARY = (
    "meas_algorithms python/lsst/meas/algorithms/setPrimaryFlags.py (pipe_tasks setPrimaryFlags.py@16.0)"
)

#: The criteria of the lesson, in the lesson's (and the default funnel's) order.
CRITERIA: dict[str, Criterion] = {
    c.name: c
    for c in (
        Criterion(
            "deblended",
            "Deblended (no children)",
            "deblend_nChild == 0: drops blended parents, keeping each deblended child and each isolated "
            "object once.",
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
            "detect_isTractInner: the object is nearest this tract's centre, so objects in a tract overlap "
            "are kept once.",
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
            "meas_base python/lsst/meas/base/classification.py; "
            "obs_subaru config/cmodel.py (fluxRatio 0.985)",
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
            "meas_base src/PsfFlux.cc",
            rule=_rule_flag_unset,
        ),
    )
}


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
    rows : `numpy.ndarray` of int
        Row indices where the two differ.
    ids : `numpy.ndarray`
        ``id`` of those rows (the row indices if the table has no ``id``).
    differences : `astropy.table.Table`
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
class Selection:
    """The lesson's criteria over one reference table and per-band forced tables.

    Column arrays are read once (``np.asarray``, no copy for unmasked columns) and each criterion's result is
    cached, so toggling criteria in a widget costs only the logical ANDs.

    Parameters
    ----------
    ref : `astropy.table.Table`
        Reference table (``deepCoadd_ref``).
    forced : dict of {str: `astropy.table.Table`}, optional
        Forced tables (``deepCoadd_forced_src``) by band. Without ``match_column`` each must be row-for-row
        with ``ref`` (same length and, when both have ``id``, the same ids in the same order); otherwise a
        `RowMismatchError` (a `ValueError`) names the band and the first differing row.
    reference_band : str, optional
        Band used by the per-band criteria when no ``band`` is given (the lesson's i band).
    match_column : str, optional
        Column of the forced tables holding the reference ``id`` of each row (``"objectId"`` in Gen2 forced
        tables). The forced rows are then matched to the reference rows by that column, in any order.
        Reference rows without a forced row fail every per-band criterion in that band, and their columns
        read as False/NaN/-1 (see :attr:`matched`); forced rows whose value is not a reference ``id`` are
        ignored (counted in :attr:`n_forced_unmatched`). Duplicate reference ids or duplicate match values
        raise `ValueError`.

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
        photo_calib=None,
    ):
        _check_table(ref, "ref")
        forced = dict(forced or {})
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
        self._index: dict[str, np.ndarray | None] = {}
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
            to_match = []
            for band, table in forced.items():
                try:
                    _check_row_for_row(self._n, ref_ids, table, band)
                except RowMismatchError:
                    if match_column is None or ref_ids is None or GEN2_LINK_COLUMN not in table.colnames:
                        raise
                    to_match.append(band)
                    continue
                self._index[band] = None
                self.matched[band] = np.ones(self._n, dtype=bool)
                self.n_forced_unmatched[band] = 0
                self.match_columns[band] = ID_COLUMN
            if to_match:
                self._match(ref_ids, GEN2_LINK_COLUMN, to_match)
                unmatched = sum(self.n_forced_unmatched[b] for b in to_match)
                missing = sum(int(np.count_nonzero(~self.matched[b])) for b in to_match)
                self.notes.append(
                    f"forced {'tables of bands' if len(to_match) > 1 else 'table of band'} {', '.join(to_match)}: "
                    f"ids of their own (Gen2 tables), matched to deepCoadd_ref through '{GEN2_LINK_COLUMN}'"
                    + (f"; {missing:,} reference rows without a forced row" if missing else "")
                    + (f"; {unmatched:,} forced rows not in deepCoadd_ref, ignored" if unmatched else "")
                )
        elif forced:
            if ref_ids is None:
                raise _missing_column(ref, ID_COLUMN, REF)
            self._match(ref_ids, match_column)

    def _match(self, ref_ids: np.ndarray, match_column: str, bands: Sequence[str] | None = None) -> None:
        # Sorted-merge matching: argsort + searchsorted of sorted keys is O(n log n) with sequential memory
        # access (a searchsorted of shuffled keys into a million ids is several times slower).
        if self._n < 2 or np.all(ref_ids[1:] > ref_ids[:-1]):
            order, sorted_ids = None, ref_ids  # the usual case: ids increase, hence unique
        else:
            order = np.argsort(ref_ids, kind="stable")
            sorted_ids = ref_ids[order]
            duplicated = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
            if duplicated.size:
                raise ValueError(
                    f"the reference table has duplicate ids (e.g. {sorted_ids[duplicated[0]]}); matching by "
                    f"'{match_column}' needs unique reference ids."
                )
        for band in self._forced if bands is None else bands:
            table = self._forced[band]
            self.match_columns[band] = match_column
            keys = _table_column(table, match_column, band)
            if keys.shape == ref_ids.shape and np.array_equal(keys, ref_ids):
                self._index[band] = None
                self.matched[band] = np.ones(self._n, dtype=bool)
                self.n_forced_unmatched[band] = 0
                continue
            key_order = np.argsort(keys)
            sorted_keys = keys[key_order]
            if self._n:
                pos = np.minimum(np.searchsorted(sorted_ids, sorted_keys), self._n - 1)
                found = sorted_ids[pos] == sorted_keys
            else:
                pos, found = np.zeros(len(keys), dtype=np.intp), np.zeros(len(keys), dtype=bool)
            found_keys = sorted_keys[found]
            duplicated = np.flatnonzero(found_keys[1:] == found_keys[:-1])
            if duplicated.size:
                raise ValueError(
                    f"the forced table for band '{band}' has several rows with {match_column} = "
                    f"{found_keys[duplicated[0]]}; each reference object must have at most one forced row."
                )
            ref_rows = pos[found] if order is None else order[pos[found]]
            index = np.full(self._n, -1, dtype=np.intp)
            index[ref_rows] = key_order[found]
            self._index[band] = index
            self.matched[band] = index >= 0
            self.n_forced_unmatched[band] = int(len(keys) - found_keys.size)

    # --- data access -------------------------------------------------------------------------------------
    @property
    def bands(self) -> tuple[str, ...]:
        """Bands of the forced tables, in the order given."""
        return tuple(self._forced)

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        match = f", match_column={self.match_column!r}" if self.match_column else ""
        return (
            f"Selection({self._n} rows, bands={list(self._forced)}, reference_band={self.reference_band!r}"
            f"{match})"
        )

    def _table(self, where: str) -> Table:
        return self._ref if where == REF else self._forced[where]

    def _column(self, where: str, name: str) -> np.ndarray:
        key = (where, name)
        cached = self._columns.get(key)
        if cached is not None:
            return cached
        values = _table_column(self._table(where), name, where)
        index = self._index.get(where) if where != REF else None
        if index is not None:
            matched = self.matched[where]
            if values.dtype == bool:
                fill: Any = False
            elif np.issubdtype(values.dtype, np.integer):
                fill = -1
            elif np.issubdtype(values.dtype, np.floating):
                fill = np.nan
            else:
                fill = values.dtype.type()
            aligned = np.full((self._n, *values.shape[1:]), fill, dtype=values.dtype)
            aligned[matched] = values[index[matched]]
            values = aligned
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

    def _photo_calib_for(self, band: str):
        pc = self._photo_calib
        if isinstance(pc, Mapping):
            return pc.get(band)
        return pc

    def magnitude(self, band: str | None = None, flux: str = "base_PsfFlux") -> np.ndarray:
        """Calibrated AB magnitudes of ``<flux>`` in one band, aligned with the reference rows.

        Uses the band's ``photo_calib`` (``instFluxToMagnitude``), else the ``<flux>_mag`` column. Zero,
        negative, NaN and unmatched fluxes give NaN.
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
        criteria : str or iterable of str, optional
            Names from :data:`CRITERIA`; default :data:`LESSON_CRITERIA` (primary, point_source,
            good_psf_flux). An empty list keeps every row.
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
        order: str = "registry",
        band: str | Sequence[str] | None = None,
    ) -> Table:
        """How many rows each criterion keeps, alone and applied one after the other.

        Parameters
        ----------
        criteria : str or iterable of str, optional
            Criteria to apply; default :data:`LESSON_FUNNEL` (the four parts of ``detect_isPrimary``, then
            ``primary``, ``point_source`` and ``good_psf_flux``). ``None`` means :data:`LESSON_CRITERIA`.
        order : {'registry', 'given'}, optional
            ``'registry'`` applies the criteria in the order of :data:`CRITERIA` (the lesson's order,
            independent of the order they were enabled); ``'given'`` in the order listed.
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
        if order not in ("registry", "given"):
            raise ValueError(f"order must be 'registry' or 'given', got {order!r}")
        names, bands = self._resolve(criteria, band)
        if order == "registry":
            rank = {n: i for i, n in enumerate(CRITERIA)}
            names = sorted(names, key=rank.__getitem__)
        n_total = self._n
        counts, _ = funnel_counts(((n, self._criterion_mask(n, bands)) for n in names), n_total)
        scale = 1.0 / n_total if n_total else np.nan
        alone = np.array([a for _, a, _ in counts], dtype=np.int64)
        kept = np.array([c for _, _, c in counts], dtype=np.int64)
        out = Table(
            {
                "step": np.arange(1, len(names) + 1, dtype=np.int64),
                "criterion": np.array(names, dtype=str),
                "label": np.array([CRITERIA[n].label for n in names], dtype=str),
                "description": np.array([CRITERIA[n].description for n in names], dtype=str),
                "table": np.array(
                    [REF if CRITERIA[n].table == REF else f"{FORCED}:{','.join(bands)}" for n in names], dtype=str
                ),
                "n_kept_alone": alone,
                "fraction_alone": alone * scale,
                "n_kept_cumulative": kept,
                "fraction_cumulative": kept * scale,
                "n_removed": -np.diff(np.concatenate([[n_total], kept])).astype(np.int64),
            }
        )
        out.meta["n_total"] = n_total
        out.meta["bands"] = list(bands)
        return out

    def check_primary(self) -> PrimaryCheck:
        """Check that ``detect_isPrimary`` equals its definition on these data.

        The definition (meas_algorithms ``setPrimaryFlags.py``) is ``detect_isPatchInner &
        detect_isTractInner & ~merge_peak_sky & detect_isDeblendedSource``, with ``deblend_nChild == 0``
        in place of ``detect_isDeblendedSource`` when the table does not have it (pipelines v16, which set
        isPrimary only where nChild == 0; the same with meas_deblender). See :func:`primary_definition`.

        Returns
        -------
        check : `PrimaryCheck`
            True in a boolean context when consistent; ``check.ids`` names the rows that differ.
        """
        stored = _as_flag(self._column(REF, "detect_isPrimary"), "detect_isPrimary")
        expected, deblend_column = _primary_definition(lambda c: self._column(REF, c), self._ref.colnames)
        if deblend_column == "deblend_nChild":
            deblend_text = "(deblend_nChild == 0)"
        else:
            deblend_text = deblend_column
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
