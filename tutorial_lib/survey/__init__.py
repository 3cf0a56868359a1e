"""The lesson at survey scale: its cuts on a HATS catalog with LSDB on Dask, and an explorer backed by histograms.

- :mod:`.criteria`: the cuts as query expressions on the DP1 ``Object`` layout, and the bitmask packing;
- :mod:`.histograms`: per-bitmask counts, CMD and sky histograms in one pass (``map_partitions``);
- :mod:`.state`: the explorer's headless state (a toggle sums histograms);
- :mod:`.view`: the widget that draws the state as density images;
- :mod:`.jit_cache`: keeps the machine code that numba compiles for hats on disk, for the next process.
"""

from typing import TYPE_CHECKING, Any

from .criteria import (
    LESSON_SURVEY_CRITERIA,
    SURVEY_CRITERIA,
    SurveyCriterion,
    pack_bitmask,
    passing_bitmasks,
    select,
    selection_expression,
)
from .histograms import HistogramSpec, SurveyHistograms, compute_survey_histograms, count_rows, partition_histograms
from .jit_cache import keep_compiled_code

if TYPE_CHECKING:
    from .state import SurveyExplorerState
    from .view import SurveyExplorer

__all__ = [
    "LESSON_SURVEY_CRITERIA",
    "SURVEY_CRITERIA",
    "HistogramSpec",
    "SurveyCriterion",
    "SurveyExplorer",
    "SurveyExplorerState",
    "SurveyHistograms",
    "compute_survey_histograms",
    "count_rows",
    "keep_compiled_code",
    "pack_bitmask",
    "partition_histograms",
    "passing_bitmasks",
    "select",
    "selection_expression",
]


def __getattr__(name: str) -> Any:
    """Import the explorer's state and view only when asked for: the criteria, histograms and the lesson's
    self-check need neither ipywidgets nor pyplot (the state shares the patch explorer's package, which loads both).
    """
    if name == "SurveyExplorerState":
        from .state import SurveyExplorerState

        return SurveyExplorerState
    if name == "SurveyExplorer":
        from .view import SurveyExplorer

        return SurveyExplorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
