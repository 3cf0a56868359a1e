"""The survey explorer's state, backed by histograms: a toggle sums arrays and never reads a row.

:class:`SurveyExplorerState` holds the ticked criteria, the faint limit and the colour, and answers the count
of selected rows, the truth counts, the density CMD and the sky density of the selection from a
:class:`~tutorial_lib.survey.histograms.SurveyHistograms` made in one pass over the catalog. It has no widgets;
:mod:`tutorial_lib.survey.view` draws it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from ..explorer.state import FAINT, BoxState, Frame, check_faint
from ..lesson import COLOURS, DEFAULT_FAINT, FAINT_RANGE
from .criteria import LESSON_SURVEY_CRITERIA, SURVEY_CRITERIA, criterion_names, passing_bitmasks, selection_expression
from .histograms import TRUTH_CLASSES, SurveyHistograms, compute_survey_histograms

__all__ = ["FAINT", "SurveyExplorerState"]

#: The one "patch" choice of the survey explorer: the whole catalog.
SURVEY_SCOPE = "survey"


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
        self._ticked = dict.fromkeys(self.spec.criteria, False)
        self._passing: dict[tuple[str, ...], np.ndarray] = {}
        self._faint_index: int | None = None
        self._colour = "r-i"
        self._last: tuple[str, bool] | None = None
        self._frame: Frame | None = None
        self._initial_criteria = tuple(criterion_names(criteria))  # one name, or names; unknown ones refused
        self._initial: dict[str, float | str | None] = {FAINT: faint, "colour": colour}
        self.set(**dict.fromkeys(self._initial_criteria, True), faint=faint, colour=colour)
        self._last = None

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
    def validate(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``{setting: value}`` changes (criteria, ``faint``, ``colour``; ``patch`` must be the survey);
        return them normalised (faint as an edge index). Raises `ValueError`/`TypeError` naming the bad one."""
        out: dict[str, Any] = {}
        for key, value in changes.items():
            key = "colour" if key == "color" else key  # as the patch explorer takes it
            if key == FAINT:
                out[FAINT] = self._faint_to_index(value)
            elif key == "colour":
                if value not in COLOURS:
                    raise ValueError(f"colour must be one of {list(COLOURS)}, got {value!r}")
                out[key] = value
            elif key == "patch":
                if value != SURVEY_SCOPE:
                    raise ValueError(f"the survey explorer shows the whole survey; patch must be {SURVEY_SCOPE!r}")
            elif key in self._ticked:
                if not isinstance(value, (bool, np.bool_)):
                    raise TypeError(f"{key} must be True or False, got {value!r}")
                out[key] = bool(value)
            else:
                raise ValueError(
                    f"unknown setting {key!r}; the explorer's criteria are {', '.join(self._ticked)}, "
                    "plus faint and colour"
                )
        return out

    def apply(self, changes: Mapping[str, Any]) -> None:
        """Apply changes checked by :meth:`validate`, all at once."""
        for key, value in changes.items():
            if key == FAINT:
                self._faint_index = value
            elif key == "colour":
                self._colour = value
            else:
                self._ticked[key] = value
                self._last = (key, value)
        self._frame = None

    def set(self, **changes: Any) -> None:
        """Tick or untick criteria (``primary=False``), move the faint limit (``faint=24.5`` or None), or change
        the colour (``colour="g-r"``). Everything is checked before anything changes."""
        self.apply(self.validate(changes))

    def reset(self) -> None:
        """Back to the initial criteria, faint limit and colour: the same state as a new one."""
        self.set(
            **{name: name in self._initial_criteria for name in self._ticked},
            faint=self._initial[FAINT],
            colour=self._initial["colour"],
        )
        self._last = None

    def _faint_to_index(self, faint) -> int | None:
        """The faint edge of a limit, rounded to 0.1 mag as the patch explorer rounds it (:func:`check_faint`)."""
        if faint is None:
            return None
        value = check_faint(faint)
        edges = self.spec.faint_edges
        index = int(np.argmin(np.abs(edges - value)))
        if abs(edges[index] - value) > 1e-6:
            raise ValueError(f"faint must be between {edges[0]:g} and {edges[-1]:g} AB mag (or None), got {faint!r}")
        return index

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
        """Selected rows of each truth class (``star``, ``galaxy``, ``blend parent``; ``other`` for rows with
        another ``truth_type`` code or none, when there are any)."""
        if "truth_le" not in self.histograms.arrays:
            return {}
        counts = self.histograms.arrays["truth_le"][self._masks(), :, self._column()].sum(axis=0)
        named = {name: int(counts[k]) for k, name in enumerate(TRUTH_CLASSES)}
        other = int(counts[len(TRUTH_CLASSES) :].sum())
        return {**named, "other": other} if other else named

    def purity_completeness(self, step: float = 0.5) -> Table:
        """Completeness and purity of the selection as a sample of stars, in bins of ``step`` mag of the reference
        band, from the bright end of the faint edges to the faint limit (or the faintest edge).

        Completeness is the fraction of the catalog's true stars in a bin that the selection keeps; purity the
        fraction of the selected rows in a bin that are true stars (NaN where a bin has none).

        Parameters
        ----------
        step : float
            Bin width, mag: a multiple of the 0.1 mag between faint edges.

        Returns
        -------
        astropy.table.Table
            Columns ``bright`` and ``faint`` (the bin's edges, mag), ``true_stars``, ``selected``,
            ``selected_stars``, ``completeness`` and ``purity``.
        """
        if "truth_le" not in self.histograms.arrays:
            raise ValueError("this catalog has no truth_type column: purity and completeness need the truth")
        edges = self.spec.faint_edges
        stride = round(step / float(edges[1] - edges[0]))
        if stride < 1 or not np.isclose(stride * (edges[1] - edges[0]), step):
            raise ValueError(f"step={step!r}: use a multiple of {edges[1] - edges[0]:.1f} mag")
        last = len(edges) - 1 if self._faint_index is None else self._faint_index
        at = np.arange(0, last + 1, stride)
        truth_le = self.histograms.arrays["truth_le"]  # (bitmask, truth class, rows with mag <= edge)
        kept, every = truth_le[self._masks()].sum(axis=0)[:, at], truth_le.sum(axis=0)[:, at]
        stars_kept, rows_kept, stars = np.diff(kept[0]), np.diff(kept.sum(axis=0)), np.diff(every[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            completeness, purity = stars_kept / stars, stars_kept / rows_kept
        return Table(
            {
                "bright": edges[at[:-1]] * u.mag,
                "faint": edges[at[1:]] * u.mag,
                "true_stars": stars,
                "selected": rows_kept,
                "selected_stars": stars_kept,
                "completeness": completeness,
                "purity": purity,
            }
        )

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

    def __repr__(self) -> str:
        faint = "none" if self.faint is None else f"{self.spec.band} <= {self.faint:.1f}"
        ticked = ", ".join(self.criteria) or "none"
        lines = [
            (
                f"SurveyExplorerState: {self.n_selected:,} of {self.n_total:,} rows selected "
                f"({self.histograms.n_partitions} partitions read once)"
            ),
            f"  criteria: {ticked}; faint limit: {faint}; colour: {self._colour}",
        ]
        truth = self.truth_counts
        if truth:
            plural = {"star": "stars", "galaxy": "galaxies", "blend parent": "blend parents", "other": "other"}
            lines.append("  truth: " + ", ".join(f"{n:,} {plural.get(name, name)}" for name, n in truth.items()))
        return "\n".join(lines)

    # ----------------------------------------------------------------------------------------------------
    # The view protocol of tutorial_lib.explorer (so ExplorerView draws this state)
    # ----------------------------------------------------------------------------------------------------
    implied_by_shortcut: tuple[str, ...] = ()
    faint_range: tuple[float, float] = FAINT_RANGE
    colours: tuple[str, ...] = tuple(COLOURS)
    patch = SURVEY_SCOPE

    @property
    def reference_band(self) -> str:
        return self.spec.band

    @property
    def checkbox_names(self) -> tuple[str, ...]:
        return tuple(self._ticked)

    @staticmethod
    def criterion_text(name: str) -> tuple[str, str]:
        """``(label, description)`` of a checkbox."""
        return SURVEY_CRITERIA[name].label, SURVEY_CRITERIA[name].description

    def boxes(self) -> dict[str, BoxState]:
        return {name: BoxState(on, False, SURVEY_CRITERIA[name].description) for name, on in self._ticked.items()}

    @property
    def faint_enabled(self) -> bool:
        return self._faint_index is not None

    @property
    def patch_options(self) -> list[tuple[str, str]]:
        return [(self._scope(), SURVEY_SCOPE)]

    def _scope(self) -> str:
        return f"the whole survey ({self.histograms.n_partitions} partitions)"

    @property
    def frame(self) -> Frame:
        """What the view shows now: counts, the density CMD, the funnel and the truth (no rows are read)."""
        if self._frame is None:
            self._frame = self._compute_frame()
        return self._frame

    def _compute_frame(self) -> Frame:
        spec = self.spec
        count_le = self.histograms.arrays["count_le"]
        every = len(spec.faint_edges)
        alone = {name: int(count_le[passing_bitmasks([name], spec.criteria), every].sum()) for name in self.criteria}
        funnel = tuple(
            (SURVEY_CRITERIA[name].label, alone[name], kept) for name, kept in self.funnel()[1 : 1 + len(self.criteria)]
        )
        if self.faint is not None:  # labelled as the checkboxes and the faint slider are, as lesson 6's funnel
            funnel += ((f"{spec.band} ≤ {self.faint:.1f}", int(count_le[:, self._column()].sum()), self.n_selected),)
        truth = self.truth_counts
        view_truth = None
        if truth:
            view_truth = {
                "star": truth["star"],
                "galaxy": truth["galaxy"],
                "blend": truth["blend parent"],
                "other": truth.get("other", 0),
            }
        if self._last is None:
            explanation = (
                "",
                (
                    "Tick or untick a criterion: the counts and the density image are sums of histograms "
                    "made in one pass over the survey, so no row is read again."
                ),
            )
        else:
            name, on = self._last
            explanation = (SURVEY_CRITERIA[name].label + (" on" if on else " off"), SURVEY_CRITERIA[name].description)
        blue, red = COLOURS[self._colour]
        extent = (spec.colour_edges[0], spec.colour_edges[-1], spec.mag_edges[-1], spec.mag_edges[0])
        messages = ("The selection is empty.",) if self.n_selected == 0 else ()
        return Frame(
            n_selected=self.n_selected,
            n_total=self.n_total,
            scope=self._scope(),
            x_label=f"{blue} \N{MINUS SIGN} {red} [mag]",
            y_label=spec.band,
            points=(np.empty(0), np.empty(0)),
            removed=None,
            image=(self.cmd_image().T, extent),
            funnel=funnel,
            truth=view_truth,
            explanation=explanation,
            messages=messages,
            truth_source="truth_type",
        )

    def describe(self) -> str:
        """The state as deterministic text (what nbval compares)."""
        return repr(self)
