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

from .. import eras
from ._result import CheckResult, Mistakes, as_mask, judge, self_check

if TYPE_CHECKING:
    from astropy.table import Table


__all__ = ["check_dp1_selection", "check_scarlet_deblended"]


def _mask_verdict(
    answer: Any, n: int, what: str, expected: np.ndarray, right_message: str, mistakes: Mistakes, otherwise: str
) -> CheckResult:
    """The verdict on a learner's mask: its kind, then :func:`~._result.judge` with the rows that differ."""
    mask = as_mask(answer, n, what)
    if isinstance(mask, CheckResult):
        return mask
    n_diff = int(np.count_nonzero(mask != expected))
    return judge(mask, expected, np.array_equal, right_message, mistakes, f"{n_diff:,} rows differ. {otherwise}")


@self_check
def check_scarlet_deblended(answer: Any, scarlet_ref: Table) -> CheckResult:
    """Check ``detect_isDeblendedSource`` rebuilt from the scarlet-era columns of ``scarlet_ref``.

    Parameters
    ----------
    answer : numpy.ndarray of bool
        The learner's mask, one entry per row of ``scarlet_ref``.
    scarlet_ref : astropy.table.Table
        The scarlet-era ``deepCoadd_ref`` (collection ``tutorial_scarlet``).

    Returns
    -------
    CheckResult
    """
    expected = np.asarray(eras.deblend_flags_scarlet_v22(scarlet_ref)["detect_isDeblendedSource"], dtype=bool)
    mistakes = {
        "deblend_nChild == 0 is the meas_deblender rule. Here every isolated parent has one child, its scarlet "
        "model, so that rule keeps the models instead of the parents. Use deblend_nPeaks, "
        "deblend_parentNChild and parent.": np.asarray(scarlet_ref["deblend_nChild"]) == 0
    }
    return _mask_verdict(
        answer,
        len(scarlet_ref),
        "answer_deblended",
        expected,
        f"{np.count_nonzero(expected):,} rows: the unmodelled isolated parents and the children of real blends, "
        "as getDeblendPrimaryFlags (v22 to v29) computes it.",
        mistakes,
        "A deblended source is either an isolated parent (parent == 0 and deblend_nPeaks == 1) or a child with one "
        "peak of a parent with more than one child (deblend_parentNChild > 1 and deblend_nPeaks == 1).",
    )


@self_check
def check_dp1_selection(answer: Any, objects: Table, faint: float = 25.0) -> CheckResult:
    """Check the lesson's selection on a DP1 ``Object`` table: point source, good i-band PSF flux, i <= faint.

    Parameters
    ----------
    answer : numpy.ndarray of bool
        The learner's mask, one entry per row of ``objects``.
    objects : astropy.table.Table
        The DP1-style ``Object`` rows the learner selected from.
    faint : float, optional
        The faint limit on ``i_psfMag``, AB mag.

    Returns
    -------
    CheckResult
    """
    from .. import dp1  # here, not at the top: it imports astropy (0.5 s), which importing a self-check need not

    expected = dp1.lesson_selection(objects, flag_bands="i", faint=faint)
    mistakes = {
        f"the faint limit is missing: keep only i_psfMag <= {faint:g}.": lambda: dp1.lesson_selection(
            objects, flag_bands="i", faint=None
        ),
        "that requires the PSF-flux flag unset in every band; this exercise asks for the i band only.": lambda: (
            dp1.lesson_selection(objects, flag_bands=("g", "r", "i"), faint=faint)
        ),
    }
    return _mask_verdict(
        answer,
        len(objects),
        "answer_selection",
        expected,
        f"{np.count_nonzero(expected):,} objects: refExtendedness == 0, i_psfFlux_flag unset and "
        f"i_psfMag <= {faint:g}. No isPrimary or sky cut is needed: every row of the table is primary.",
        mistakes,
        f"Combine refExtendedness == 0, ~i_psfFlux_flag and i_psfMag <= {faint:g} with &.",
    )
