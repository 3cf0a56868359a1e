"""Self-checks for lessons 3, 4 and 7: unique sources, star/galaxy separation, and a whole-tract catalogue.

Each function takes a learner's answer and the data it should have been computed from, works out the right
answer itself, and returns a :class:`~tutorial_lib.checks._result.CheckResult` whose text says right or wrong
and why. Where a wrong answer matches a common mistake (a forgotten part of a definition, a swapped ratio, a
count of rows instead of objects, a percentage instead of a fraction) the message names the mistake.

Definitions, with their sources:

* ``detect_isPrimary = detect_isPatchInner & detect_isTractInner & ~merge_peak_sky & (deblend_nChild == 0)``
  (meas_algorithms ``setPrimaryFlags.py``; pipe_tasks ``setPrimaryFlags.py@16.0``).
* ``base_ClassificationExtendedness_value`` is 0 when ``fluxRatio * CModel < PSF flux`` and 1 otherwise,
  with ``fluxRatio = 0.985`` for HSC (meas_base ``classification.py``; obs_subaru ``config/cmodel.py``).
* Completeness of a star selection: selected true stars / all true stars; purity: selected true stars /
  all selected objects.
* HSC source ids pack the tract and patch: ``id = ((((tract << 5) + x) << 5) + y) << 32 | n``
  (obs_subaru ``hscMapper``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..lesson import plural
from ._result import (
    FRACTION_TOLERANCE,
    NO_ANSWER,
    CheckResult,
    Mistakes,
    as_count,
    as_mask,
    as_number,
    column,
    first_mistake,
    floats,
    is_missing,
    judge,
    plain,
    right,
    self_check,
    within,
    wrong,
)

if TYPE_CHECKING:
    from astropy.table import Table
    from lsst.daf.butler import Butler
    from numpy.typing import ArrayLike


__all__ = [
    "check_duplicate_objects",
    "check_extendedness",
    "check_primary_parts",
    "check_purity_completeness",
    "check_tract_catalog",
]

#: HSC's ``fluxRatio`` for ``base_ClassificationExtendedness`` (obs_subaru ``config/cmodel.py``).
HSC_FLUX_RATIO = 0.985

#: The four parts of ``detect_isPrimary``: what a row failing each part is.
_PRIMARY_PARTS = {
    "deblended": "blend parents (deblend_nChild > 0)",
    "patch_inner": "outside the patch inner region",
    "tract_inner": "outside the tract inner region",
    "not_sky": "sky objects (merge_peak_sky)",
}


# --- lesson 3: detect_isPrimary and duplicates -----------------------------------------------------------------
@self_check
def check_primary_parts(mask: ArrayLike, ref: Table) -> CheckResult:
    """Check a learner's ``detect_isPrimary`` rebuilt from its four parts.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        The learner's mask, one entry per row of ``ref``.
    ref : astropy.table.Table
        The reference table (``deepCoadd_ref``) with ``deblend_nChild``, ``detect_isPatchInner``,
        ``detect_isTractInner`` and ``merge_peak_sky``.

    Returns
    -------
    CheckResult
        Right when the mask equals ``detect_isPatchInner & detect_isTractInner & ~merge_peak_sky &
        (deblend_nChild == 0)`` on every row; otherwise it says which kinds of rows are wrongly kept or
        dropped.
    """
    answer = as_mask(mask, len(ref), "your mask")
    if isinstance(answer, CheckResult):
        return answer
    n_child = column(ref, "deblend_nChild")
    parts = {
        "deblended": n_child == 0,
        "patch_inner": column(ref, "detect_isPatchInner").astype(bool),
        "tract_inner": column(ref, "detect_isTractInner").astype(bool),
        "not_sky": ~column(ref, "merge_peak_sky").astype(bool),
    }
    expected = np.logical_and.reduce(list(parts.values()))
    counts = f"your mask keeps {int(answer.sum()):,} rows, the definition {int(expected.sum()):,}"
    if np.array_equal(answer, expected):
        return right(
            f"your mask keeps {int(expected.sum()):,} of {len(ref):,} rows, exactly the rows that are deblended "
            "(nChild == 0), in the patch and tract inner regions, and not sky objects."
        )
    if _without_parentheses(answer, parts, n_child):
        return wrong(
            f"{counts}: an operator precedence problem. In Python & binds tighter than ==, so "
            "ref['deblend_nChild'] == 0 & ref['detect_isPatchInner'] & ... is read as ref['deblend_nChild'] == "
            "(0 & ref['detect_isPatchInner'] & ...), and the other parts are lost. Put the comparison in "
            "parentheses: (ref['deblend_nChild'] == 0) & ..."
        )
    for name in parts:  # one part the wrong way round: the other three and the opposite of it
        if np.array_equal(answer, np.logical_and.reduce([~v if k == name else v for k, v in parts.items()])):
            return wrong(
                f"{counts}: your {name} part is the wrong way round: the rows it keeps are the ones it should "
                f"drop, {_PRIMARY_PARTS[name]}; check its ~ or its == 0."
            )
    extra, missing = answer & ~expected, expected & ~answer
    kept = {name: int((extra & ~parts[name]).sum()) for name in _PRIMARY_PARTS}
    messages = []
    if extra.any():
        kinds = "; ".join(f"{n:,} {_PRIMARY_PARTS[name]}" for name, n in kept.items() if n)
        messages.append(f"it keeps {plural(int(extra.sum()), 'row')} it should drop ({kinds})")
        hint = f" Add the missing part(s): {', '.join(name for name, n in kept.items() if n)}."
    elif answer.sum() == 0:
        hint = " It keeps no row at all: check for a part written the wrong way round (== 0 or ~)."
    else:
        hint = " One of your parts is stricter than its definition (or inverted)."
    if missing.any():
        messages.append(f"it drops {plural(int(missing.sum()), 'row')} that pass all four parts")
    return wrong(f"{counts}: {'; '.join(messages)}.{hint}")


def _without_parentheses(answer: np.ndarray, parts: dict[str, np.ndarray], n_child: np.ndarray) -> bool:
    """Whether ``answer`` is what the four parts give when ``deblend_nChild == 0`` is not in parentheses.

    ``A & B & nChild == 0 & C & D`` parses as ``(A & B & nChild) == (0 & C & D)``, and ``0 & ...`` is 0; so the
    result is ``(A & B & nChild) == 0`` for the flag parts written before the comparison (any order of the four).
    """
    flags = [parts[name].astype(np.int64) for name in ("patch_inner", "tract_inner", "not_sky")]
    for before in range(8):
        left = n_child.astype(np.int64)
        for k, flag in enumerate(flags):
            if before >> k & 1:
                left = flag & left
        if np.array_equal(answer, left == 0):
            return True
    return False


@self_check
def check_duplicate_objects(answer: Any, truth_id: ArrayLike) -> CheckResult:
    """Check the number of true objects that appear in more than one row.

    Parameters
    ----------
    answer : int
        The learner's count of distinct true objects measured more than once.
    truth_id : numpy.ndarray of int
        ``truth_id`` of every row of the stacked tables (-1 for sky objects and blend parents, which are
        not true objects).

    Returns
    -------
    CheckResult
    """
    value = as_count(answer, "your answer")
    if isinstance(value, CheckResult):
        return value
    ids = plain(truth_id).astype(np.int64)
    real = ids[ids >= 0]
    unique, counts = np.unique(real, return_counts=True)
    expected = int(np.count_nonzero(counts > 1))
    n_rows_of_duplicates = int(counts[counts > 1].sum())
    n_surplus = int(real.size - unique.size)
    not_it = f"{value:,} is not the number of duplicated objects: "
    mistakes: Mistakes = {
        "you counted truth_id = -1 as an object, but it marks rows with no single true object (sky objects "
        "and blend parents): keep truth_id >= 0 first.": expected + int(np.count_nonzero(ids < 0) > 1),
        "that is the number of surplus rows (rows minus distinct objects); an object seen four times counts "
        "three times there. Count the objects whose truth_id occurs more than once.": n_surplus,
        "that counts the rows of duplicated objects; count each object once.": n_rows_of_duplicates,
        "that is the number of distinct true objects; count only those that occur more than once.": unique.size,
        "that counts only objects seen exactly twice; objects in a corner where four patches overlap are "
        "seen four times.": int(np.count_nonzero(counts == 2)),
    }
    return judge(
        value,
        expected,
        int.__eq__,
        f"{expected:,} of the {unique.size:,} true objects are measured more than once; together they "
        f"fill {n_rows_of_duplicates:,} rows, {n_surplus:,} more than one each.",
        {not_it + message: candidate for message, candidate in mistakes.items()},
        not_it + "use np.unique(truth_id[truth_id >= 0], return_counts=True) and count the ids whose count is above 1.",
    )


# --- lesson 4: extendedness, purity and completeness -----------------------------------------------------------
def _extendedness_rule(psf: np.ndarray, cmodel: np.ndarray, flux_ratio: float) -> np.ndarray:
    """meas_base's extendedness: 0 where ``flux_ratio * cmodel < psf``, else 1 (also where a flux is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.where(flux_ratio * cmodel < psf, 0.0, 1.0)


@self_check
def check_extendedness(answer: Any, forced: Table, flux_ratio: float = HSC_FLUX_RATIO) -> CheckResult:
    """Check extendedness recomputed from the PSF and CModel fluxes of a forced table.

    The rule (meas_base ``classification.py``): 0 (point source) where ``flux_ratio * CModel < PSF`` and 1
    (extended) elsewhere. Rows whose PSF or CModel flux is NaN, or whose
    ``base_ClassificationExtendedness_flag`` is set, have no measured extendedness (NaN in the pipelines);
    they are not compared, but the message says whether the answer has NaN there too.

    Parameters
    ----------
    answer : numpy.ndarray of float (0, 1 or NaN) or of bool (True = extended)
        The learner's extendedness, one per row of ``forced``.
    forced : astropy.table.Table
        A forced table with ``base_PsfFlux_instFlux`` and ``modelfit_CModel_instFlux``.
    flux_ratio : float, optional
        The ``fluxRatio`` of the rule (0.985 for HSC).

    Returns
    -------
    CheckResult
    """
    psf = column(forced, "base_PsfFlux_instFlux").astype(float)
    cmodel = column(forced, "modelfit_CModel_instFlux").astype(float)
    n = len(psf)
    try:
        values = plain(answer)
    except (TypeError, ValueError):
        return wrong(f"your answer should be an array of 0 and 1, one per row; got {type(answer).__name__}.")
    if values.ndim != 1 or len(values) != n:
        return wrong(
            f"your answer has shape {values.shape} but the table has {n:,} rows: compute one value per row "
            "from the whole table."
        )
    if not (values.dtype == bool or np.issubdtype(values.dtype, np.number)):
        return wrong(f"your answer should hold numbers (0 or 1); it has dtype {values.dtype}.")
    measured = np.isfinite(psf) & np.isfinite(cmodel)
    if "base_ClassificationExtendedness_flag" in forced.colnames:
        measured &= ~column(forced, "base_ClassificationExtendedness_flag").astype(bool)
    got = values.astype(float)[measured]
    if np.any(~np.isfinite(got)):
        return wrong(
            f"your answer is NaN on {int(np.count_nonzero(~np.isfinite(got))):,} rows whose PSF and CModel fluxes "
            "are both measured: those rows should be 0 or 1."
        )
    if not np.all(np.isin(got, (0.0, 1.0))):
        return wrong("extendedness is 0 (point source) or 1 (extended); your answer has other values.")
    expected = _extendedness_rule(psf, cmodel, flux_ratio)
    n_differ, n_measured = int(np.count_nonzero(got != expected[measured])), int(measured.sum())
    if n_differ == 0:
        return _extendedness_right(values, measured)
    mistakes: Mistakes = {
        "swapped 0 and 1 (0 is a point source: CModel no more than 1/0.985 times the PSF flux)": 1.0
        - expected[measured],
        "left out fluxRatio (the rule is fluxRatio * CModel < PSF with fluxRatio = 0.985)": _extendedness_rule(
            psf, cmodel, 1.0
        )[measured],
        "put fluxRatio on the PSF side (the rule is fluxRatio * CModel < PSF)": np.where(
            cmodel < flux_ratio * psf, 0.0, 1.0
        )[measured],
        "used 1/fluxRatio where the rule multiplies by fluxRatio": _extendedness_rule(psf, cmodel, 1.0 / flux_ratio)[
            measured
        ],
    }
    mistake = first_mistake(got, mistakes, np.array_equal)
    if mistake is not None:
        return wrong(f"your values differ from the rule on {n_differ:,} of {n_measured:,} rows: you {mistake}.")
    return wrong(
        f"your values differ from the rule on {n_differ:,} of {n_measured:,} measured rows. Compute "
        f"np.where({flux_ratio} * cmodel < psf, 0.0, 1.0) with both fluxes from the same forced table."
    )


def _extendedness_right(values: np.ndarray, measured: np.ndarray) -> CheckResult:
    """Right on every measured row: right overall only if the unmeasured rows are NaN (or there are none)."""
    n_measured, unmeasured = int(measured.sum()), ~measured
    n_unmeasured = int(unmeasured.sum())
    n_with_value = int(np.count_nonzero(~np.isnan(values[unmeasured].astype(float))))
    if values.dtype == bool and n_unmeasured:
        return wrong(
            f"right on all {n_measured:,} measured rows, but True/False cannot say 'no measurement': the "
            f"{n_unmeasured:,} flagged rows must be NaN. Use floats: np.where(flag, np.nan, "
            "np.where(0.985 * cmodel < psf, 0.0, 1.0))."
        )
    if n_with_value:
        return wrong(
            f"right on all {n_measured:,} measured rows, but {n_with_value:,} of the {n_unmeasured:,} "
            "rows whose flux is missing or flagged (base_ClassificationExtendedness_flag) have a value: they "
            "have no extendedness and must be NaN, as the pipelines store it. Use np.where(flag, np.nan, ...)."
        )
    note = f" and NaN on the {n_unmeasured:,} flagged rows, as the pipelines store it" if n_unmeasured else ""
    n_ext = int(np.count_nonzero(values[measured].astype(float) == 1.0))
    return right(
        f"on all {n_measured:,} measured rows your values follow the HSC rule ({n_measured - n_ext:,} "
        f"point sources, {n_ext:,} extended){note}."
    )


def _purity_completeness(point: np.ndarray, star: np.ndarray) -> tuple[float, float, int, int, int]:
    """Purity, completeness, and the numbers of selected true stars, selected objects and true stars."""
    n_point, n_star, n_both = int(point.sum()), int(star.sum()), int((point & star).sum())
    purity = n_both / n_point if n_point else float("nan")
    completeness = n_both / n_star if n_star else float("nan")
    return purity, completeness, n_both, n_point, n_star


def _magnitude_cuts(
    true_magnitude: ArrayLike | None, brighter_than: float | None, measured_magnitude: ArrayLike | None
) -> dict[str, np.ndarray]:
    """The exercise's cut (under ``""``) on the true magnitude and the usual wrong cuts, by what each is."""
    if true_magnitude is None or brighter_than is None:
        return {}
    true_mag = floats(true_magnitude)
    cuts = {
        "": true_mag < brighter_than,
        f"the whole sample, without the cut at true magnitude {brighter_than:g}": (np.ones(true_mag.shape, dtype=bool)),
    }
    if measured_magnitude is not None:
        cuts[
            f"objects brighter than {brighter_than:g} in measured (PSF) magnitude. The exercise selects by true "
            "magnitude so that the point-source cut is the only selection being judged; a cut on the measured "
            "magnitude lets noise move objects across the limit and drops saturated stars (measured too faint)"
        ] = floats(measured_magnitude) < brighter_than
    cuts[f"objects fainter than {brighter_than:g} instead of brighter (the cut is the wrong way round)"] = (
        true_mag >= brighter_than
    )
    return cuts


def _purity_completeness_mistake(p_value: float, c_value: float, want_p: float, want_c: float) -> CheckResult:
    """Name the likely mistake behind a wrong (purity, completeness): swapped, percentages, 1 - x, or the formula."""
    close = within(FRACTION_TOLERANCE)
    if close(p_value, want_c) and close(c_value, want_p):
        return wrong(
            "you swapped them: purity divides by the number selected (point sources), completeness by the "
            "number that should be selected (true stars)."
        )
    percent = within(0.005)  # whole percentages are off by up to half a percent
    if p_value > 1 and c_value > 1 and percent(p_value / 100, want_p) and percent(c_value / 100, want_c):
        return wrong("those look like percentages: give fractions between 0 and 1.")
    parts = []
    if not close(p_value, want_p):
        parts.append(
            "your purity is the contamination (galaxies among point sources), 1 - purity"
            if close(p_value, 1 - want_p)
            else "purity = N(point source and true star) / N(point source)"
        )
    if not close(c_value, want_c):
        parts.append(
            "your completeness is the fraction of true stars lost, 1 - completeness"
            if close(c_value, 1 - want_c)
            else "completeness = N(point source and true star) / N(true star)"
        )
    return wrong("; ".join(parts) + ".")


@self_check
def check_purity_completeness(
    answer: Any,
    is_point: ArrayLike,
    is_star: ArrayLike,
    *,
    true_magnitude: ArrayLike | None = None,
    brighter_than: float | None = None,
    measured_magnitude: ArrayLike | None = None,
) -> CheckResult:
    """Check the purity and completeness of a point-source (star) selection against the truth.

    Parameters
    ----------
    answer : tuple of float
        The learner's ``(purity, completeness)``, fractions between 0 and 1.
    is_point : numpy.ndarray of bool
        Whether each object of the sample passes the point-source cut.
    is_star : numpy.ndarray of bool
        Whether each object of the sample is truly a star (row-for-row with ``is_point``); every other object
        of the sample counts as not a star.
    true_magnitude : numpy.ndarray of float, optional
        True magnitude of each object of the sample. With ``brighter_than``, only objects whose true magnitude
        is brighter (smaller) count.
    brighter_than : float, optional
        The magnitude limit of the exercise.
    measured_magnitude : numpy.ndarray of float, optional
        The measured (e.g. PSF) magnitude of each object, to recognise a cut on it instead of the true one.

    Returns
    -------
    CheckResult
        Right when both are within ``FRACTION_TOLERANCE`` (0.0006) of ``N(point & star) / N(point)`` and
        ``N(point & star) / N(star)``.
    """
    try:
        purity, completeness = answer
    except (TypeError, ValueError):
        return wrong("give a pair of two numbers, (purity, completeness), e.g. answer = (0.9, 0.8).")
    if is_missing(purity) or is_missing(completeness):
        return wrong(NO_ANSWER)
    point, star = plain(is_point).astype(bool), plain(is_star).astype(bool)
    if point.shape != star.shape:
        raise ValueError(f"is_point and is_star differ in length: {point.shape} and {star.shape}")
    p_value, c_value = as_number(purity, "your purity", ""), as_number(completeness, "your completeness", "")
    for value in (p_value, c_value):
        if isinstance(value, CheckResult):
            return value
    assert isinstance(p_value, float) and isinstance(c_value, float)  # narrowed above, for mypy
    cuts = _magnitude_cuts(true_magnitude, brighter_than, measured_magnitude)
    in_range = cuts.pop("", np.ones(point.shape, dtype=bool))
    want_p, want_c, n_both, n_point, n_star = _purity_completeness(point[in_range], star[in_range])
    if n_point == 0 or n_star == 0:
        raise ValueError("the sample has no point sources or no true stars; purity or completeness is undefined")
    # A computed answer equal to another cut's values to rounding error is that cut, even where the two cuts give
    # fractions within the tolerance (a PSF-magnitude cut differs from the true one by a few objects).
    exact, close = within(1e-9), within(FRACTION_TOLERANCE)
    mistakes = {
        f"those are the purity and completeness of {what}. "
        f"Select with the true magnitude: true_mag < {brighter_than:g}.": _purity_completeness(point[rows], star[rows])[
            :2
        ]
        for what, rows in cuts.items()
    }
    wanted = (want_p, want_c)
    for same in (exact, close):

        def both(answer: tuple[float, float], other: tuple[float, float], same: Callable = same) -> bool:
            """Both fractions equal to another cut's, and that cut's differ from the exercise's."""
            return all(map(same, answer, other)) and not all(map(same, other, wanted))

        mistake = first_mistake((p_value, c_value), mistakes, both)
        if mistake is not None:
            return wrong(mistake)
        if same is exact and close(p_value, want_p) and close(c_value, want_c):
            return right(
                f"purity {want_p:.3f} ({n_both:,} true stars among {n_point:,} point sources) and completeness "
                f"{want_c:.3f} ({n_both:,} of {n_star:,} true stars kept)."
            )
    return _purity_completeness_mistake(p_value, c_value, want_p, want_c)


# --- lesson 7: a whole-tract catalogue ------------------------------------------------------------------------
def _patch_of_id(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tract and Gen2 (x, y) of packed HSC source ids, as (tract, x * 100 + y) arrays."""
    high = ids >> 32
    y = high & 31
    x = (high >> 5) & 31
    tract = high >> 10
    return tract, x * 100 + y


def _primary_ids_by_patch(butler: Butler, skymap: str, tract: int) -> dict[int, np.ndarray]:
    """The ``id`` of every primary row of each patch of ``tract``, read from the Butler's ``deepCoadd_ref``."""
    refs = butler.query_datasets("deepCoadd_ref", data_id={"skymap": skymap, "tract": tract})
    if not refs:
        raise LookupError(f"no deepCoadd_ref of skymap {skymap!r}, tract {tract} in the butler's collections")
    by_patch: dict[int, np.ndarray] = {}
    for ref in refs:
        table = butler.get(ref, parameters={"columns": ["id", "detect_isPrimary"]})
        primary = plain(table["detect_isPrimary"]).astype(bool)
        by_patch[int(ref.dataId["patch"])] = plain(table["id"]).astype(np.int64)[primary]
    return dict(sorted(by_patch.items()))


def _completeness_problem(ids: np.ndarray, expected: dict[int, np.ndarray]) -> str | None:
    """Which primary rows of the tract (by patch) the catalogue lacks; None if it has them all."""
    lacking = []
    for patch, wanted in expected.items():
        n_have = int(np.count_nonzero(np.isin(wanted, ids)))
        if n_have < wanted.size:
            lacking.append((patch, n_have, wanted.size))
    if not lacking:
        return None
    shown = "; ".join(f"patch {patch}: {have:,} of its {total:,}" for patch, have, total in lacking[:4])
    n_missing = sum(total - have for _, have, total in lacking)
    return (
        f"{n_missing:,} primary rows of the tract are missing ({shown}{'; ...' if len(lacking) > 4 else ''}). "
        "Keep every row whose detect_isPrimary is True in each patch, not a sample of them."
    )


def _patch_coverage_problem(ids: np.ndarray, tract: int, nx: int, ny: int) -> str | None:
    """What is wrong with which tract and patches the ids come from (every patch of ``tract``), or None."""
    tracts, patches = _patch_of_id(ids)
    if np.any(tracts != tract):
        others = sorted({int(t) for t in np.unique(tracts)} - {tract})
        return f"some rows come from tract(s) {others}, not tract {tract}: read only tract {tract}'s patches."
    wanted = {x * 100 + y for x in range(nx) for y in range(ny)}
    present = {int(p) for p in np.unique(patches)}
    missing = sorted(wanted - present)
    if missing:
        names = ", ".join(f"{p // 100},{p % 100} (patch {(p % 100) * nx + p // 100})" for p in missing)
        return f"rows from {len(missing)} patch(es) are missing: {names}. Loop over every patch of the tract."
    return None


def _primary_rows_problem(
    catalog: Table, ids: np.ndarray, butler: Butler | None, skymap: str, tract: int
) -> str | None:
    """Which rows are not primary (by their flag and, with a Butler, by the tract's ``deepCoadd_ref``), or None."""
    n = len(ids)
    if "detect_isPrimary" in catalog.colnames:
        primary = plain(catalog["detect_isPrimary"]).astype(bool)
        if not primary.all():
            return (
                f"{int((~primary).sum()):,} of your {n:,} rows are not primary: keep ref['detect_isPrimary'] rows "
                "in each patch before stacking, or an object in a patch overlap is counted twice."
            )
    if butler is not None:
        expected = _primary_ids_by_patch(butler, skymap, tract)
        problem = _completeness_problem(ids, expected)
        if problem is not None:
            return problem
        is_primary = np.isin(ids, np.concatenate(list(expected.values())))
        if not is_primary.all():
            return (
                f"{int((~is_primary).sum()):,} of your {n:,} rows are not primary rows of tract {tract}: keep "
                "ref['detect_isPrimary'] rows in each patch before stacking."
            )
    return None


@self_check
def check_tract_catalog(
    catalog: Table,
    *,
    tract: int = 0,
    num_patches: tuple[int, int] = (3, 3),
    butler: Butler | None = None,
    skymap: str = "discrete",
) -> CheckResult:
    """Check a tract-wide catalogue made by stacking the primary rows of every patch.

    The check reads the patch of each row from its packed HSC ``id`` and verifies that every patch of the tract
    contributes, that no ``id`` repeats (a patch read twice), that every row is primary when the catalogue has
    ``detect_isPrimary``, and that no true object appears twice when it has ``truth_id``.

    Parameters
    ----------
    catalog : astropy.table.Table
        The learner's stacked catalogue, with at least ``id``.
    tract : int, optional
        The tract it should cover.
    num_patches : tuple of int, optional
        Patches along x and y of the tract.
    butler : lsst.daf.butler.Butler, optional
        The lesson's Butler. With it, the check reads every patch's ``deepCoadd_ref`` and requires every primary
        row of the tract, not only some rows from each patch.
    skymap : str, optional
        The sky map of the tract, when ``butler`` is given.

    Returns
    -------
    CheckResult
    """
    colnames = list(getattr(catalog, "colnames", []))
    if "id" not in colnames:
        return wrong(
            "your catalogue should be an astropy Table with the 'id' column of deepCoadd_ref (stack the tables "
            "with astropy.table.vstack)."
        )
    ids = plain(catalog["id"]).astype(np.int64)
    n = len(ids)
    if n == 0:
        return wrong("your catalogue is empty.")
    nx, ny = num_patches
    problem = _patch_coverage_problem(ids, tract, nx, ny)
    if problem is not None:
        return wrong(problem)
    unique_ids, id_counts = np.unique(ids, return_counts=True)
    if unique_ids.size != n:
        return wrong(f"{int((id_counts > 1).sum()):,} ids occur more than once: a patch was read (or stacked) twice.")
    problem = _primary_rows_problem(catalog, ids, butler, skymap, tract)
    if problem is not None:
        return wrong(problem)
    if "truth_id" in colnames:
        truth = plain(catalog["truth_id"]).astype(np.int64)
        real = truth[truth >= 0]
        if np.unique(real).size != real.size:
            return wrong(
                f"{real.size - np.unique(real).size:,} true objects appear more than once: keep only primary rows."
            )
    return right(
        f"{n:,} rows from all {nx * ny} patches of tract {tract}, every id once"
        + (", all primary" if "detect_isPrimary" in colnames else "")
        + (", no true object twice" if "truth_id" in colnames else "")
        + (": every primary row of the tract" if butler is not None else "")
        + "."
    )
