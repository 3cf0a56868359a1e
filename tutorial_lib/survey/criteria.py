"""The lesson's cuts on a DP1-layout ``Object`` catalog, as expressions LSDB (and pandas) evaluate.

The 2018 lesson cut on ``deepCoadd_ref`` and ``deepCoadd_forced_src`` (:mod:`tutorial_lib.selection`). A DP1
``Object`` table has one row per object with every band's forced measurements in it, so each cut is one boolean
expression over its columns, written once here and used three ways: by ``catalog.query(...)`` in LSDB, by
:func:`pack_bitmask` (one bit per criterion, for the survey explorer) and by the tests.

Eras: ``detect_isPrimary`` is a DP0.2-era ``Object`` column (the DP1 ``Object`` table holds only primary rows
and has no such flag; the simulated survey keeps blend parents so that the cut removes something);
``refExtendedness``, ``i_psfFlux_flag``, ``i_pixelFlags_saturatedCenter`` and ``i_psfMag`` are DP1 columns
(sdm_schemas ``dp1.yaml``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "LESSON_SURVEY_CRITERIA",
    "SURVEY_CRITERIA",
    "SurveyCriterion",
    "criterion_masks",
    "criterion_names",
    "faint_expression",
    "pack_bitmask",
    "passing_bitmasks",
    "require_columns",
    "select",
    "selection_expression",
]


@dataclass(frozen=True)
class SurveyCriterion:
    """One cut of the lesson on a DP1 ``Object`` row.

    Attributes
    ----------
    name : str
        Key, also a keyword of the explorer's ``set``.
    label : str
        Checkbox text.
    description : str
        What the cut keeps and why, with the era of its column.
    expression : str
        Boolean expression for ``DataFrame.query`` / ``Catalog.query`` (a missing value fails the cut).
    columns : tuple of str
        Columns the expression reads.
    """

    name: str
    label: str
    description: str
    expression: str
    columns: tuple[str, ...]


#: The criteria, in bit order (bit k of a row's bitmask is set when it passes criterion k).
SURVEY_CRITERIA: dict[str, SurveyCriterion] = {
    c.name: c
    for c in (
        SurveyCriterion(
            "primary",
            "Primary (detect_isPrimary)",
            "detect_isPrimary (DP0.2 column; DP1 keeps only primary rows): unique, deblended objects, so blend "
            "parents go.",
            "detect_isPrimary",
            ("detect_isPrimary",),
        ),
        SurveyCriterion(
            "point_source",
            "Point source (refExtendedness 0)",
            "refExtendedness < 0.5 (DP1): the PSF flux is close to the CModel flux in the reference band, so "
            "the object is unresolved; unmeasured (null) is not a point source.",
            "refExtendedness < 0.5",
            ("refExtendedness",),
        ),
        SurveyCriterion(
            "good_psf_flux",
            "Good i PSF flux (no flag)",
            "not i_psfFlux_flag (DP1): the i-band PSF flux measurement did not fail.",
            "~i_psfFlux_flag",
            ("i_psfFlux_flag",),
        ),
        SurveyCriterion(
            "not_saturated",
            "Not saturated in i",
            "not i_pixelFlags_saturatedCenter (DP1): no saturated pixel near the centre, so the PSF flux of a "
            "bright star is not an underestimate.",
            "~i_pixelFlags_saturatedCenter",
            ("i_pixelFlags_saturatedCenter",),
        ),
    )
}

#: The 2018 lesson's selection: primary, point source, good PSF flux.
LESSON_SURVEY_CRITERIA = ("primary", "point_source", "good_psf_flux")


def _criterion(name: str) -> SurveyCriterion:
    try:
        return SURVEY_CRITERIA[name]
    except KeyError:
        raise ValueError(f"unknown survey criterion {name!r}; known: {', '.join(SURVEY_CRITERIA)}") from None


def faint_expression(faint: float, band: str = "i") -> str:
    """The faint limit as an expression: ``{band}_psfMag <= faint`` (AB mag; a null magnitude fails).

    Raises
    ------
    ValueError
        ``faint`` is not a finite number, or ``band`` is not one of Rubin's bands ``ugrizy``.
    """
    try:
        limit = float(faint)
    except (TypeError, ValueError):
        raise ValueError(f"the faint limit must be an AB magnitude such as 24.5, got {faint!r}") from None
    if not math.isfinite(limit):
        raise ValueError(f"the faint limit must be a finite AB magnitude such as 24.5, got {faint!r}")
    if band not in tuple("ugrizy"):
        raise ValueError(f"band must be one of Rubin's bands u, g, r, i, z, y, got {band!r}")
    return f"{band}_psfMag <= {limit!r}"


def criterion_names(criteria: Iterable[str]) -> list[str]:
    """The criteria's names as a list, each known and given once; one name given as a string is one criterion.

    Raises
    ------
    ValueError
        A name that is not in :data:`SURVEY_CRITERIA`, or one given twice.
    """
    names = [criteria] if isinstance(criteria, str) else list(criteria)
    for name in names:
        _criterion(name)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"survey criterion {', '.join(twice)} is listed twice; give each criterion once")
    return names


def selection_expression(criteria: Iterable[str], faint: float | None = None, band: str = "i") -> str:
    """One ``query`` expression ANDing the named criteria and, if given, the faint limit.

    Parameters
    ----------
    criteria : iterable of str
        Names from :data:`SURVEY_CRITERIA`.
    faint : float or None
        Faint limit in AB mag on ``{band}_psfMag``.
    band : str
        Band of the faint limit.

    Returns
    -------
    str
        For example ``"(detect_isPrimary) and (refExtendedness < 0.5) and (i_psfMag <= 24.5)"``.
    """
    parts = [f"({_criterion(name).expression})" for name in criterion_names(criteria)]
    if faint is not None:
        parts.append(f"({faint_expression(faint, band)})")
    if not parts:
        raise ValueError("no criteria and no faint limit: nothing to select (use the whole catalog instead)")
    return " and ".join(parts)


def expression_mask(frame: pd.DataFrame, expression: str) -> np.ndarray:
    """Evaluate a boolean expression on a DataFrame as a numpy bool array; a null result fails.

    pandas' own ``DataFrame.eval``, on a plain ``DataFrame`` view of the frame: on a nested-pandas
    ``NestedFrame`` (an LSDB partition) ``eval`` and ``query`` look every name up through the nested
    machinery, which cost 10 to 30 times the evaluation itself on a partition of 10^5 rows
    (``benchmarks/survey_speed.py``). The survey has no nested columns.
    """
    plain = pd.DataFrame(frame) if type(frame) is not pd.DataFrame else frame
    return pd.Series(pd.DataFrame.eval(plain, expression)).to_numpy(dtype=bool, na_value=False)


def _rows_passing(frame: pd.DataFrame, expression: str) -> pd.DataFrame:
    return frame[expression_mask(frame, expression)]


def select(catalog, criteria: Iterable[str], faint: float | None = None, band: str = "i"):
    """The rows of an LSDB catalog that pass the named criteria and the faint limit, lazily.

    The same rows as ``catalog.query(selection_expression(criteria, faint, band))``, with the expression
    evaluated by pandas on each partition (see :func:`expression_mask`): the lesson's selection at survey
    scale costs about as much as reading its columns.

    Parameters
    ----------
    catalog : lsdb.Catalog
        Opened with at least the criteria's columns and ``{band}_psfMag``.
    criteria : iterable of str
        Names from :data:`SURVEY_CRITERIA`.
    faint : float or None
        Faint limit in AB mag on ``{band}_psfMag``.
    band : str
        Band of the faint limit.

    Returns
    -------
    lsdb.Catalog
        Lazy, with the same partitions (and margin) as ``catalog``; nothing is read until it is computed.
    """
    expression = selection_expression(criteria, faint, band)
    needed = [column for name in criterion_names(criteria) for column in _criterion(name).columns]
    needed += [f"{band}_psfMag"] if faint is not None else []
    require_columns(catalog, needed)
    # The rows keep the catalog's columns and types, so LSDB's check of each result against meta is skipped.
    return catalog.map_partitions(_rows_passing, expression, meta=catalog.meta, verify_meta=False)


def require_columns(catalog, needed: Sequence[str], what: str = "the selection") -> None:
    """ValueError naming the columns ``what`` needs that the opened catalog lacks, and the call that opens it right."""
    loaded = set(catalog.columns)
    missing = [column for column in dict.fromkeys(needed) if column not in loaded]
    if not missing:
        return
    on_disk = set(getattr(catalog, "all_columns", loaded))
    absent = [column for column in missing if column not in on_disk]
    if absent:
        raise ValueError(
            f"the catalog has no column {', '.join(absent)}, which {what} needs: choose criteria and a band it has"
        )
    wanted = ", ".join(repr(c) for c in dict.fromkeys([*(c for c in catalog.columns if c in on_disk), *missing]))
    raise ValueError(
        f"the catalog was opened without {', '.join(missing)}, which {what} needs: open it with "
        f"lsdb.open_catalog(path, columns=[{wanted}])"
    )


def criterion_masks(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Evaluate each criterion on a DataFrame: ``{name: bool array}``; a null result fails the cut."""
    return {name: expression_mask(frame, _criterion(name).expression) for name in names}


def pack_bitmask(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Pack each row's criteria into one integer: bit k is set when the row passes ``names[k]``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with the criteria's columns (a partition of the catalog).
    names : sequence of str
        Criteria, at most 8 (the bitmask is a uint8).

    Returns
    -------
    numpy.ndarray of uint8
    """
    if len(names) > 8:
        raise ValueError(f"at most 8 criteria fit in a uint8 bitmask, got {len(names)}")
    bitmask = np.zeros(len(frame), dtype=np.uint8)
    for bit, mask in enumerate(criterion_masks(frame, names).values()):
        bitmask |= mask.astype(np.uint8) << np.uint8(bit)
    return bitmask


def passing_bitmasks(ticked: Iterable[str], names: Sequence[str]) -> np.ndarray:
    """Every bitmask value whose row passes all the ticked criteria (the others may be anything).

    Parameters
    ----------
    ticked : iterable of str
        Criteria that must pass.
    names : sequence of str
        The criteria in bit order, as given to :func:`pack_bitmask`.

    Returns
    -------
    numpy.ndarray of int
        Sorted bitmask values, ``2 ** (len(names) - len(ticked))`` of them.
    """
    index = {name: bit for bit, name in enumerate(names)}
    required = 0
    for name in ticked:
        if name not in index:
            raise ValueError(f"criterion {name!r} is not one of the packed criteria {list(names)}")
        required |= 1 << index[name]
    values = np.arange(2 ** len(names))
    return values[(values & required) == required]
