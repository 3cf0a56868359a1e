"""Self-check of lesson 10 (the lesson at survey scale).

The expected answer is recomputed here on the cluster, with numpy masks of each partition
(:func:`tutorial_lib.survey.criteria.criterion_masks`), not with the learner's ``query`` or the explorer's
histograms, so the check also guards both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._result import NO_ANSWER, CheckResult, as_count, is_missing, right, wrong

if TYPE_CHECKING:
    import pandas as pd
    from lsdb import Catalog

__all__ = ["check_survey_galaxies", "expected_survey_galaxies"]

GALAXY = 1  # truth_type of a galaxy (data_fetch.survey.TRUTH_TYPES)


def _galaxies_kept(frame: pd.DataFrame, faint: float) -> np.ndarray:
    """True galaxies and rows of one partition that the lesson's selection keeps at ``i_psfMag <= faint``."""
    # Imported here, where the check runs, so that importing the self-checks does not import pandas (0.5 s).
    import pandas as pd

    from ..survey.criteria import LESSON_SURVEY_CRITERIA, criterion_masks

    masks = criterion_masks(frame, LESSON_SURVEY_CRITERIA)
    keep = np.logical_and.reduce(list(masks.values())) if len(frame) else np.zeros(0, bool)
    mag = pd.Series(frame["i_psfMag"]).to_numpy(dtype=float, na_value=np.nan)
    kind = pd.Series(frame["truth_type"]).to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        selected = keep & (mag <= faint)
    return np.array([np.count_nonzero(selected & (kind == GALAXY)), np.count_nonzero(selected)])


def expected_survey_galaxies(catalog: Catalog, faint: float) -> tuple[int, int]:
    """True galaxies among the rows of the lesson's selection with ``i_psfMag <= faint``, and those rows.

    Parameters
    ----------
    catalog : lsdb.Catalog
        The survey, opened with the selection's columns, ``i_psfMag`` and ``truth_type``.
    faint : float
        The faint limit, AB mag.

    Returns
    -------
    tuple of int
        The number of true galaxies selected, and the number of rows selected.
    """
    import dask

    from ..survey.histograms import map_and_sum

    (total,) = dask.compute(map_and_sum(catalog, _galaxies_kept, faint))
    return int(total[0]), int(total[1])


def check_survey_galaxies(answer: Any, catalog: Catalog, *, faint: float = 24.0) -> CheckResult:
    """Check the number of true galaxies the lesson's selection keeps at ``i_psfMag <= faint``.

    Parameters
    ----------
    answer : int
        The learner's count.
    catalog : lsdb.Catalog
        The survey, opened with the selection's columns, ``i_psfMag`` and ``truth_type``.
    faint : float, optional
        The exercise's faint limit, AB mag.

    Returns
    -------
    CheckResult
    """
    if is_missing(answer):
        return wrong(NO_ANSWER)
    value = as_count(answer, "the number of galaxies")
    if isinstance(value, CheckResult):
        return value
    galaxies, selected = expected_survey_galaxies(catalog, faint)
    if value == galaxies:
        share = 100.0 * galaxies / selected if selected else 0.0
        return right(
            f"{galaxies:,} of the {selected:,} selected point sources with i <= {faint:g} are true galaxies "
            f"({share:.0f}%): faint compact galaxies pass the extendedness cut."
        )
    if value == selected:
        return wrong(f"{value:,} is every selected row; add truth_type == {GALAXY} (galaxies) to the query.")
    return wrong(
        f"{value:,} is not the count; combine selection_expression(LESSON_SURVEY_CRITERIA, faint={faint:g}) with "
        f"'truth_type == {GALAXY}' in one catalog.query and count its rows with count_rows."
    )
