"""Self-checks for lesson 9: the lesson on today's catalogues (scarlet bookkeeping, the DP1 Object table).

Each function works the right answer out itself from the data and returns a
:class:`~tutorial_lib.checks._result.CheckResult`; a wrong answer that matches a usual mistake gets a message
naming it. Definitions: :mod:`tutorial_lib.eras` (``getDeblendPrimaryFlags`` of v22 to v29, the DP0.2 and DP1
era, lsst/pipe_tasks commit b38cab11 and lsst/meas_algorithms ``setPrimaryFlags.py`` @ 29.2.0) and
:mod:`tutorial_lib.dp1` (the lesson's cuts on DP1 names).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dp1, eras
from ._result import NO_ANSWER as _NO_ANSWER
from ._result import CheckResult, right, wrong
from ._result import is_missing as _is_missing
from ._result import plain as _plain

if TYPE_CHECKING:
    from astropy.table import Table


__all__ = ["check_dp1_selection", "check_scarlet_deblended"]


def _as_mask(answer, n: int, what: str) -> tuple[np.ndarray | None, CheckResult | None]:
    mask = _plain(answer)
    if mask.shape != (n,):
        return None, wrong(f"{what} should have one entry per row ({n:,}), got shape {mask.shape}.")
    if mask.dtype != bool:
        return None, wrong(f"{what} should be a boolean mask (True = keep), got dtype {mask.dtype}.")
    return mask, None


def check_scarlet_deblended(answer: Any, scarlet_ref: Table) -> CheckResult:
    """Check ``detect_isDeblendedSource`` rebuilt from the scarlet-era columns of ``scarlet_ref``.

    Parameters
    ----------
    answer : array of bool
        The learner's mask, one entry per row of ``scarlet_ref``.
    scarlet_ref : astropy.table.Table
        The scarlet-era ``deepCoadd_ref`` (collection ``tutorial_scarlet``).
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    mask, problem = _as_mask(answer, len(scarlet_ref), "answer_deblended")
    if problem:
        return problem
    expected = eras.deblend_flags_scarlet_v22(scarlet_ref)["detect_isDeblendedSource"]
    if np.array_equal(mask, expected):
        return right(
            f"{np.count_nonzero(mask):,} rows: the unmodelled isolated parents and the children of real blends, "
            "as getDeblendPrimaryFlags (v22 to v29) computes it."
        )
    if np.array_equal(mask, np.asarray(scarlet_ref["deblend_nChild"]) == 0):
        return wrong(
            "deblend_nChild == 0 is the meas_deblender rule. Here every isolated parent has one child, its scarlet "
            "model, so that rule keeps the models instead of the parents. Use deblend_nPeaks, "
            "deblend_parentNChild and parent."
        )
    n_diff = int(np.count_nonzero(mask != expected))
    return wrong(
        f"{n_diff:,} rows differ. A deblended source is either an isolated parent (parent == 0 and "
        "deblend_nPeaks == 1) or a child with one peak of a parent with more than one child "
        "(deblend_parentNChild > 1 and deblend_nPeaks == 1)."
    )


def check_dp1_selection(answer: Any, objects: Table, faint: float = 25.0) -> CheckResult:
    """Check the lesson's selection on a DP1 ``Object`` table: point source, good i-band PSF flux, i <= faint.

    Parameters
    ----------
    answer : array of bool
        The learner's mask, one entry per row of ``objects``.
    objects : astropy.table.Table
        The DP1-style ``Object`` rows the learner selected from.
    faint : float
        The faint limit on ``i_psfMag``, AB mag.
    """
    if _is_missing(answer):
        return wrong(_NO_ANSWER)
    mask, problem = _as_mask(answer, len(objects), "answer_selection")
    if problem:
        return problem
    expected = dp1.lesson_selection(objects, flag_bands="i", faint=faint)
    if np.array_equal(mask, expected):
        return right(
            f"{np.count_nonzero(mask):,} objects: refExtendedness == 0, i_psfFlux_flag unset and "
            f"i_psfMag <= {faint:g}. No isPrimary or sky cut is needed: every row of the table is primary."
        )
    if np.array_equal(mask, dp1.lesson_selection(objects, flag_bands="i", faint=None)):
        return wrong(f"the faint limit is missing: keep only i_psfMag <= {faint:g}.")
    if np.array_equal(mask, dp1.lesson_selection(objects, flag_bands=("g", "r", "i"), faint=faint)):
        return wrong("that requires the PSF-flux flag unset in every band; this exercise asks for the i band only.")
    n_diff = int(np.count_nonzero(mask != expected))
    return wrong(
        f"{n_diff:,} rows differ. Combine refExtendedness == 0, ~i_psfFlux_flag and i_psfMag <= {faint:g} with &."
    )
