"""The survey explorer's state, backed by histograms: a toggle sums arrays and never reads a row.

:class:`SurveyExplorerState` holds the ticked criteria, the faint limit and the colour, and answers the count
of selected rows, the truth counts, the density CMD and the sky density of the selection from a
:class:`~tutorial_lib.survey.histograms.SurveyHistograms` made in one pass over the catalog. It has no widgets;
:mod:`tutorial_lib.survey.view` draws it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..lesson import DEFAULT_FAINT
from .criteria import LESSON_SURVEY_CRITERIA, SURVEY_CRITERIA, passing_bitmasks, selection_expression
from .histograms import COLOURS, TRUTH_CLASSES, SurveyHistograms, compute_survey_histograms

__all__ = ["FAINT", "SurveyExplorerState"]

#: Keyword of :meth:`SurveyExplorerState.set` for the faint limit.
FAINT = "faint"


class SurveyExplorerState:
    """Headless state of the survey explorer.

    Parameters
    ----------
    histograms : SurveyHistograms
        From :func:`~tutorial_lib.survey.histograms.compute_survey_histograms`.
    criteria : iterable of str
        Criteria ticked at the start (default: the lesson's primary, point source, good PSF flux).
    faint : float or None
        Faint limit in AB mag, snapped to the histograms' 0.1 mag edges; None for no limit.
    colour : str
        ``"r-i"`` or ``"g-r"``.
    """

    def __init__(
        self,
        histograms: SurveyHistograms,
        *,
        criteria: Iterable[str] = LESSON_SURVEY_CRITERIA,
        faint: float | None = DEFAULT_FAINT,
        colour: str = "r-i",
    ):
        self.histograms = histograms
        self.spec = histograms.spec
        self._ticked = {name: False for name in self.spec.criteria}
        self._passing: dict[tuple[str, ...], np.ndarray] = {}
        self._initial = {"criteria": tuple(criteria), FAINT: faint, "colour": colour}
        self.set(**{name: True for name in self._initial["criteria"]}, faint=faint, colour=colour)

    @classmethod
    def from_catalog(cls, catalog, *, packed: Sequence[str] = tuple(SURVEY_CRITERIA), **kwargs) -> SurveyExplorerState:
        """Make the histograms of ``catalog`` in one pass on the cluster, then the state.

        Parameters
        ----------
        catalog : lsdb.Catalog
        packed : sequence of str
            Criteria packed into the bitmask (the ones the explorer can toggle).
        **kwargs
            Passed to the constructor.
        """
        return cls(compute_survey_histograms(catalog, packed), **kwargs)

    # ----------------------------------------------------------------------------------------------------
    # Changes
    # ----------------------------------------------------------------------------------------------------
    def set(self, **changes: Any) -> None:
        """Tick or untick criteria (``primary=False``), move the faint limit (``faint=24.5`` or None), or change
        the colour (``colour="g-r"``). Everything is checked before anything changes."""
        ticked = dict(self._ticked)
        faint = getattr(self, "_faint_index", None)
        colour = getattr(self, "_colour", None)
        for key, value in changes.items():
            if key == FAINT:
                faint = self._faint_to_index(value)
            elif key == "colour":
                if value not in COLOURS:
                    raise ValueError(f"colour must be one of {list(COLOURS)}, got {value!r}")
                colour = value
            elif key in ticked:
                if not isinstance(value, (bool, np.bool_)):
                    raise TypeError(f"{key} must be True or False, got {value!r}")
                ticked[key] = bool(value)
            else:
                raise ValueError(
                    f"unknown setting {key!r}; the explorer's criteria are {', '.join(ticked)}, plus faint and colour"
                )
        self._ticked, self._faint_index, self._colour = ticked, faint, colour

    def reset(self) -> None:
        """Back to the initial criteria, faint limit and colour."""
        self.set(
            **{name: name in self._initial["criteria"] for name in self._ticked},
            faint=self._initial[FAINT],
            colour=self._initial["colour"],
        )

    def _faint_to_index(self, faint) -> int | None:
        if faint is None:
            return None
        edges = self.spec.faint_edges
        try:
            value = float(faint)
        except (TypeError, ValueError):
            raise TypeError(f"faint must be a magnitude (a number) or None, got {faint!r}") from None
        if not edges[0] <= value <= edges[-1]:
            raise ValueError(f"faint must be between {edges[0]:g} and {edges[-1]:g} AB mag (or None), got {value:g}")
        return int(np.argmin(np.abs(edges - value)))  # snapped to the nearest 0.1 mag edge

    # ----------------------------------------------------------------------------------------------------
    # What the state shows
    # ----------------------------------------------------------------------------------------------------
    @property
    def criteria(self) -> tuple[str, ...]:
        """The ticked criteria, in bit order."""
        return tuple(name for name, on in self._ticked.items() if on)

    @property
    def faint(self) -> float | None:
        return None if self._faint_index is None else float(self.spec.faint_edges[self._faint_index])

    @property
    def colour(self) -> str:
        return self._colour

    @property
    def expression(self) -> str | None:
        """The same selection as an LSDB ``query`` expression (None when nothing is selected on)."""
        if not self.criteria and self.faint is None:
            return None
        return selection_expression(self.criteria, self.faint, self.spec.band)

    def _masks(self) -> np.ndarray:
        key = self.criteria
        if key not in self._passing:
            self._passing[key] = passing_bitmasks(key, self.spec.criteria)
        return self._passing[key]

    def _column(self) -> int:
        """Index along the faint axis: the faint edge, or the last index (every row)."""
        return len(self.spec.faint_edges) if self._faint_index is None else self._faint_index

    @property
    def n_total(self) -> int:
        return self.histograms.n_rows

    @property
    def n_selected(self) -> int:
        return int(self.histograms.arrays["count_le"][self._masks(), self._column()].sum())

    @property
    def truth_counts(self) -> dict[str, int]:
        """Selected rows of each truth class (``star``, ``galaxy``, ``blend parent``)."""
        if "truth_le" not in self.histograms.arrays:
            return {}
        counts = self.histograms.arrays["truth_le"][self._masks(), :, self._column()].sum(axis=0)
        return {name: int(counts[k]) for k, name in enumerate(TRUTH_CLASSES)}

    def cmd_image(self) -> np.ndarray:
        """Density CMD of the selection: counts in (colour bin, magnitude bin); bins fainter than the limit are 0."""
        image = self.histograms.arrays[f"cmd:{self._colour}"][self._masks()].sum(axis=0)
        if self._faint_index is not None:
            faint = self.spec.faint_edges[self._faint_index]
            image[:, self.spec.mag_edges[:-1] >= faint - 1e-9] = 0
        return image

    def sky_counts(self) -> np.ndarray:
        """Selected rows in each HEALPix pixel of ``spec.sky_pixels`` (order ``spec.sky_order``)."""
        return self.histograms.arrays["sky_le"][self._masks(), self._column()].sum(axis=0)

    def funnel(self) -> list[tuple[str, int]]:
        """Rows left after each ticked criterion in turn (then the faint limit), from the histograms."""
        rows, ticked = [("all rows", self.n_total)], []
        count_le = self.histograms.arrays["count_le"]
        last = len(self.spec.faint_edges)
        for name in self.criteria:
            ticked.append(name)
            rows.append((name, int(count_le[passing_bitmasks(ticked, self.spec.criteria), last].sum())))
        if self._faint_index is not None:
            rows.append((f"{self.spec.band} <= {self.faint:.1f}", self.n_selected))
        return rows

    def state(self) -> dict[str, Any]:
        """Everything a view needs to know, as plain values."""
        return {
            **{name: on for name, on in self._ticked.items()},
            FAINT: self.faint,
            "colour": self._colour,
            "n_selected": self.n_selected,
            "n_total": self.n_total,
        }

    def __repr__(self) -> str:
        faint = "none" if self.faint is None else f"{self.spec.band} <= {self.faint:.1f}"
        ticked = ", ".join(self.criteria) or "none"
        lines = [
            f"SurveyExplorerState: {self.n_selected:,} of {self.n_total:,} rows selected "
            f"({self.histograms.n_partitions} partitions read once)",
            f"  criteria: {ticked}; faint limit: {faint}; colour: {self._colour}",
        ]
        truth = self.truth_counts
        if truth:
            plural = {"star": "stars", "galaxy": "galaxies", "blend parent": "blend parents"}
            lines.append("  truth: " + ", ".join(f"{n:,} {plural.get(name, name)}" for name, n in truth.items()))
        return "\n".join(lines)
