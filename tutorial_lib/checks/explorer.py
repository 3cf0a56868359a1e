"""Self-checks of lesson 6 (the interactive selection explorer).

The expected answers are recomputed here from the explorer's tables with plain numpy (the columns of
``deepCoadd_ref``, ``deepCoadd_forced_src``, the calibration and ``truth_match``), not from the widget's own
masks, so a check also guards the explorer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..lesson import DEFAULT_FAINT
from ._result import CheckResult, as_count, floats, judge, self_check, wrong

if TYPE_CHECKING:
    from ..explorer.selection_explorer import SelectionExplorer


__all__ = ["check_patch_inner_duplicates", "expected_patch_inner_duplicates"]

#: The exercise's selection: detect_isPrimary's parts without the patch inner region, plus the per-band cuts.
_EXERCISE_STATE = {
    "primary": False,
    "deblended": True,
    "patch_inner": False,
    "tract_inner": True,
    "not_sky": True,
    "point_source": True,
    "good_psf_flux": True,
}


def expected_patch_inner_duplicates(explorer: SelectionExplorer, faint: float = DEFAULT_FAINT) -> tuple[int, int]:
    """Duplicate rows (every copy) and duplicated objects over every loaded patch, for the exercise's selection.

    The selection: ``deblend_nChild == 0``, ``detect_isTractInner``, not ``merge_peak_sky``, i-band
    extendedness 0 and no ``base_PsfFlux_flag``, i <= ``faint``, and *not* ``detect_isPatchInner``.

    Parameters
    ----------
    explorer : tutorial_lib.explorer.SelectionExplorer
        The lesson's explorer, with the truth table (``truth_match``) of every patch.
    faint : float, optional
        The faint limit on the i-band PSF magnitude, AB mag.

    Returns
    -------
    tuple of int
        Rows whose true object is selected more than once, and the number of such objects.

    Raises
    ------
    ValueError
        When a patch has no truth table.
    """
    band = explorer.reference_band
    truth_ids = []
    for tables in explorer.tables.values():
        if tables.truth is None:
            raise ValueError("this check needs the truth table (truth_match) of every patch")
        ref, forced = tables.ref, tables.forced[band]
        calib = tables.photo_calib[band] if isinstance(tables.photo_calib, dict) else tables.photo_calib
        keep = (
            (np.asarray(ref["deblend_nChild"]) == 0)
            & np.asarray(ref["detect_isTractInner"], dtype=bool)
            & ~np.asarray(ref["merge_peak_sky"], dtype=bool)
            & (np.asarray(forced["base_ClassificationExtendedness_value"], dtype=float) < 0.5)
            & ~np.asarray(forced["base_PsfFlux_flag"], dtype=bool)
            & (floats(calib.instFluxToMagnitude(forced["base_PsfFlux_instFlux"])) <= faint)
        )
        ids = np.asarray(tables.truth["truth_id"])[keep]
        truth_ids.append(ids[ids >= 0])
    ids, counts = np.unique(np.concatenate(truth_ids), return_counts=True)
    return int(counts[counts > 1].sum()), int(np.count_nonzero(counts > 1))


@self_check
def check_patch_inner_duplicates(answer: Any, explorer: SelectionExplorer) -> CheckResult:
    """Exercise: duplicate rows over every patch once the patch inner region is no longer required.

    Parameters
    ----------
    answer : int
        The learner's count of duplicate rows (rows whose true object is selected more than once).
    explorer : tutorial_lib.explorer.SelectionExplorer
        The lesson's explorer, built over every patch of the tract.

    Returns
    -------
    CheckResult
    """
    without_truth = [key for key, tables in explorer.tables.items() if tables.truth is None]
    if without_truth:
        some = len(without_truth) < len(explorer.tables)
        return wrong(
            "these data have no truth table (truth_match"
            + (f" is missing for patch {', '.join(map(str, without_truth))}" if some else "")
            + "), so duplicate rows (rows of the same true object) cannot be counted or checked here; "
            "do this exercise on the lesson's simulated data."
        )
    if len(explorer.patches) < 2:
        return wrong('build the explorer over every patch (patches="all"): one patch has no overlaps.')
    value = as_count(answer, "the number of duplicate rows")
    if isinstance(value, CheckResult):
        return value
    n_rows, n_objects = expected_patch_inner_duplicates(explorer)
    mistakes = {
        f"{value:,} is the number of duplicated objects; count every row (both copies), as the explorer's "
        "truth line does.": n_objects,
    }
    if explorer.state["primary"] or explorer.state["patch_inner"]:  # otherwise 0 comes from another setting
        mistakes[
            "0 is what the lesson's selection keeps: untick the detect_isPrimary shortcut, then untick "
            "'In the patch's inner region', with patch set to every patch."
        ] = 0
    return judge(
        value,
        n_rows,
        int.__eq__,
        f"{n_rows:,} rows measure {n_objects:,} true objects more than once: objects in the 200-pixel "
        "overlap of two patches are measured in both, and only detect_isPatchInner keeps one copy.",
        mistakes,
        f"{value:,} is not the number of duplicate rows for the exercise's selection.{_settings_hint(explorer.state)}",
    )


def _settings_hint(state: Mapping[str, Any]) -> str:
    """Which of the explorer's settings differ from the exercise's, as a sentence (empty if none)."""
    settings = [f"{name}={want}" for name, want in _EXERCISE_STATE.items() if state[name] != want]
    if state["faint"] != DEFAULT_FAINT:
        settings.append(f"faint={DEFAULT_FAINT}")
    if state["patch"] != "all":
        settings.append('patch="all"')
    return f" Your explorer differs from the exercise's settings: {', '.join(settings)}." if settings else ""
