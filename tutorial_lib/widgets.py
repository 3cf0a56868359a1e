"""A live explorer of the lesson's selection: tick criteria, move the faint limit, watch the CMD and the counts.

:class:`SelectionExplorer` puts one checkbox per flag criterion of :mod:`tutorial_lib.selection` (the four parts
of ``detect_isPrimary``, point source and good PSF flux) and one for the ``detect_isPrimary`` shortcut beside a
live colour-magnitude diagram (an ipympl figure), the count of selected rows, the selection funnel, a one-line
explanation of the criterion last toggled and, when a truth table is loaded, how many true stars, galaxies, sky
objects and duplicates the selection keeps.

Speed: every criterion's mask, the calibrated magnitudes and the truth classes are computed once per patch
choice (with :class:`tutorial_lib.selection.Selection` and the patch's ``PhotoCalib``) and cached. A toggle
only ANDs cached boolean arrays, counts them and replaces the figure's data in place
(:func:`tutorial_lib.plots.update_cmd`, i.e. ``set_offsets``); nothing is recalibrated and no figure is
re-created. Once the browser has drawn the figure, a toggle redraws only the points over the saved background
(blitting; the axes, the fixed legend and the layout are drawn once). ``benchmarks/widget_latency.py`` measures
it against re-drawing the figure from scratch.

Everything a learner can do with the mouse can be done from Python with :meth:`SelectionExplorer.set`, and the
explorer's text repr is its deterministic state (criteria, counts), which is what nbval compares in the lesson
notebook. The widget never shows a traceback: an empty selection, rows without a magnitude or a band without
data give a message in the widget instead.

Real 2016 HSC data (lesson 8's collection ``validation``) work too, each adaptation said in a message: forced
tables whose ``id`` differs from the reference ``id`` are matched through ``objectId``
(``Selection(..., match_column="auto")``); without extendedness in the forced table, the point-source cut uses
the reference table's; only the colours whose bands have data are offered (r − i without a g band); and without
``truth_match`` every truth count is :data:`NO_TRUTH`.

Examples
--------
>>> explorer = SelectionExplorer.from_butler(butler, {"skymap": "discrete", "tract": 0, "patch": 4})
... # doctest: +SKIP
>>> explorer  # the last expression of a cell: shows the widget  # doctest: +SKIP
>>> explorer.set(point_source=False)  # doctest: +SKIP
>>> print(explorer)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import html
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import numpy as np
from astropy.table import Table
from matplotlib.figure import Figure
from matplotlib.legend import Legend

from . import plots
from .lesson import DEFAULT_FAINT, FAINT_RANGE
from .selection import CRITERIA, LESSON_CRITERIA, MATCH_AUTO, PRIMARY_PARTS, MissingColumnError, Selection

__all__ = [
    "ALL_PATCHES",
    "COLOURS",
    "DEFAULT_FAINT",
    "FAINT_RANGE",
    "FLAG_CRITERIA",
    "NO_TRUTH",
    "SHORTCUT",
    "PatchTables",
    "SelectionExplorer",
]

#: The ``detect_isPrimary`` shortcut; while it is on, :data:`PRIMARY_PARTS` are implied.
SHORTCUT = "primary"
#: Flag criteria with a checkbox besides the shortcut, in the lesson's order: the parts of ``detect_isPrimary``
#: first, then the per-band cuts of the reference band.
FLAG_CRITERIA = tuple(
    name for name, crit in CRITERIA.items() if not crit.parameters and name != SHORTCUT
)
#: Colours the CMD can show: name -> (blue band, red band).
COLOURS = {"r-i": ("r", "i"), "g-r": ("g", "r")}
#: Patch-chooser value meaning every loaded patch of the tract.
ALL_PATCHES = "all"
#: Default and range of the faint limit (AB mag) in the reference band.
#: Name of the magnitude cut in :meth:`SelectionExplorer.set` and in the funnel.
FAINT = "faint"

class _NoTruth:
    """What :attr:`SelectionExplorer.truth_counts` holds for every count when there is no truth table."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "n/a (no truth table)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return str(self)

    def __reduce__(self):
        return (_NoTruth, ())


#: The value of every truth count of data without a truth table (real data): false, and prints as
#: ``n/a (no truth table)``, so that ``explorer.truth_counts["sky"]`` works on any data.
NO_TRUTH = _NoTruth()

_TRUTH_CLASSES = ("star", "galaxy", "sky", "blend")
_TRUTH_KEYS = (*_TRUTH_CLASSES, "other", "no_truth", "duplicates")
_UNKNOWN = len(_TRUTH_CLASSES)  # "other" truth type
_NO_TRUTH = _UNKNOWN + 1  # row of a patch without a truth table
_MINUS = "\N{MINUS SIGN}"
_CSS_PREFIX = "mbt-explorer"


def _colour_text(colour: str) -> str:
    blue, red = COLOURS[colour]
    return f"{blue} {_MINUS} {red}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


@dataclass
class PatchTables:
    """The tables of one patch, as the explorer needs them.

    Attributes
    ----------
    ref : `astropy.table.Table`
        Reference table (``deepCoadd_ref``).
    forced : dict of {str: `astropy.table.Table`}
        Forced tables (``deepCoadd_forced_src``) by band, row-for-row with ``ref`` or (2016 tables) linked to it
        through ``objectId``; a band may be missing.
    photo_calib : PhotoCalib or dict of {str: PhotoCalib}, optional
        Calibration per band (``deepCoadd_calexp.photoCalib``); without it magnitudes come from a
        ``base_PsfFlux_mag`` column, else are unavailable.
    truth : `astropy.table.Table`, optional
        ``truth_match`` (``truth_type``, ``truth_id``), row-for-row with ``ref``; None for real data.
    notes : list of str
        What could not be loaded (shown in the widget).
    """

    ref: Table
    forced: Mapping[str, Table] = field(default_factory=dict)
    photo_calib: Any = None
    truth: Table | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Arrays:
    """Everything a toggle needs for one patch choice, computed once."""

    n: int
    masks: dict[str, np.ndarray]  # criterion -> keep (rows of patches where unavailable: False)
    unavailable: dict[str, str]  # criterion -> why it cannot be used at all
    mags: dict[str, np.ndarray]  # band -> AB mag (NaN where unavailable)
    missing_bands: dict[str, str]  # band -> why there are no magnitudes in it
    truth_code: np.ndarray | None  # index into _TRUTH_CLASSES, _UNKNOWN or _NO_TRUTH
    truth_order: np.ndarray | None  # rows with truth_id >= 0, sorted by truth_id
    truth_sorted_ids: np.ndarray | None
    notes: list[str]
    colours: dict[str, np.ndarray] = field(default_factory=dict)

    def colour(self, name: str) -> np.ndarray:
        if name not in self.colours:
            blue, red = COLOURS[name]
            self.colours[name] = self.mags[blue] - self.mags[red]
        return self.colours[name]


def _patch_arrays(tables: PatchTables, label: str, bands: Sequence[str], reference_band: str) -> _Arrays:
    """Masks, magnitudes and truth classes of one patch (the expensive part, done once)."""
    ref = tables.ref
    n = len(ref)
    forced = {b: t for b, t in tables.forced.items() if t is not None}
    notes = list(tables.notes)
    # "auto": today's forced tables are row-for-row with ref; 2016 (Gen2) ones link through objectId.
    sel = Selection(
        ref,
        forced,
        reference_band=reference_band if reference_band in forced else next(iter(forced), reference_band),
        match_column=MATCH_AUTO,
        photo_calib=tables.photo_calib,
    )
    notes.extend(f"{label}: {note}" for note in sel.notes)
    masks: dict[str, np.ndarray] = {}
    unavailable: dict[str, str] = {}
    for name in (*FLAG_CRITERIA, SHORTCUT):
        crit = CRITERIA[name]
        if crit.table != "ref" and reference_band not in forced:
            unavailable[name] = f"no {reference_band}-band forced table in {label}"
            continue
        try:
            band = reference_band if crit.table != "ref" else None
            masks[name] = sel.mask([name], band=band)
        except MissingColumnError as err:
            if name == "point_source" and err.table != "ref" and err.column in ref.colnames:
                # 2016 forced tables have no extendedness; the reference table's was measured in each
                # object's reference band (lesson 8).
                masks[name] = crit.rule(sel.column(err.column))
                notes.append(
                    f"{label}: the {reference_band}-band forced table has no {err.column}, so "
                    f"{crit.label} uses deepCoadd_ref's (measured in each object's reference band)"
                )
            else:
                unavailable[name] = f"{label}: {err}"
        except (ValueError, TypeError) as err:
            unavailable[name] = f"{label}: {err}"
    mags: dict[str, np.ndarray] = {}
    missing: dict[str, str] = {}
    for band in bands:
        if band not in forced:
            missing[band] = f"no {band}-band forced table (deepCoadd_forced_src) in {label}"
        else:
            try:
                mags[band] = np.asarray(sel.magnitude(band), dtype=float)
            except (MissingColumnError, ValueError, TypeError) as err:
                missing[band] = f"no {band}-band magnitudes in {label}: {err}"
        if band not in mags:
            mags[band] = np.full(n, np.nan)
            notes.append(missing[band])
    truth_code = truth_order = sorted_ids = None
    if tables.truth is not None:
        truth = tables.truth
        if len(truth) != n or "truth_type" not in truth.colnames or "truth_id" not in truth.colnames:
            notes.append(
                f"the truth table of {label} is not row-for-row with deepCoadd_ref or lacks truth_type/"
                "truth_id: truth counts are not shown for it"
            )
        else:
            types = np.asarray(truth["truth_type"]).astype(str)
            truth_code = np.full(n, _UNKNOWN, dtype=np.int8)
            for code, name in enumerate(_TRUTH_CLASSES):
                truth_code[types == name] = code
            ids = np.asarray(truth["truth_id"]).astype(np.int64)
            valid = np.flatnonzero(ids >= 0)
            truth_order = valid[np.argsort(ids[valid], kind="stable")]
            sorted_ids = ids[truth_order]
    return _Arrays(n, masks, unavailable, mags, missing, truth_code, truth_order, sorted_ids, notes)


def _concatenate(parts: Sequence[_Arrays], bands: Sequence[str]) -> _Arrays:
    """One :class:`_Arrays` for several patches, rows in the order of ``parts``."""
    n = sum(p.n for p in parts)
    offsets = np.cumsum([0] + [p.n for p in parts])[:-1]
    masks, unavailable = {}, {}
    for name in (*FLAG_CRITERIA, SHORTCUT):
        if all(name in p.unavailable for p in parts):
            unavailable[name] = "; ".join(p.unavailable[name] for p in parts)
            continue
        masks[name] = np.concatenate(
            [p.masks[name] if name in p.masks else np.zeros(p.n, dtype=bool) for p in parts]
        )
    mags = {b: np.concatenate([p.mags[b] for p in parts]) for b in bands}
    missing = {b: "no data in any patch" for b in bands if all(b in p.missing_bands for p in parts)}
    notes = [note for p in parts for note in p.notes]
    notes += [
        f"{p.unavailable[name]}: its rows fail {name}"
        for name in masks
        for p in parts
        if name in p.unavailable
    ]
    truth_code = truth_order = sorted_ids = None
    if any(p.truth_code is not None for p in parts):
        truth_code = np.concatenate(
            [p.truth_code if p.truth_code is not None else np.full(p.n, _NO_TRUTH, np.int8) for p in parts]
        )
        rows = np.concatenate(
            [p.truth_order + off for p, off in zip(parts, offsets, strict=True) if p.truth_order is not None]
        )
        ids = np.concatenate([p.truth_sorted_ids for p in parts if p.truth_sorted_ids is not None])
        order = np.argsort(ids, kind="stable")
        truth_order, sorted_ids = rows[order], ids[order]
    return _Arrays(n, masks, unavailable, mags, missing, truth_code, truth_order, sorted_ids, notes)


def _duplicate_rows(keep: np.ndarray, order: np.ndarray, sorted_ids: np.ndarray) -> int:
    """Selected rows whose ``truth_id`` is selected more than once (every copy counts); O(n), no sort."""
    ids = sorted_ids[keep[order]]
    if ids.size < 2:
        return 0
    same = ids[1:] == ids[:-1]
    dup = np.zeros(ids.size, dtype=bool)
    dup[1:] |= same
    dup[:-1] |= same
    return int(np.count_nonzero(dup))


class SelectionExplorer:
    """Interactive explorer of the lesson's selection over one patch or every patch of a tract.

    Parameters
    ----------
    patches : dict of {key: PatchTables} or PatchTables
        The tables of each patch the chooser offers (keys are patch ids or names); a single
        :class:`PatchTables` is one patch named ``"table"``. Tables are processed when a patch is first chosen.
    tract : int, optional
        Tract id, for labels only.
    patch : key or "all", optional
        Initial patch choice; default the first key.
    bands : sequence of str
        Bands of the forced tables; the colours of :data:`COLOURS` whose bands are all here are offered.
    reference_band : str
        Band of the magnitude axis, the faint limit and the per-band criteria (the lesson's i band).
    faint : float or None
        Initial faint limit in AB mag (None: no limit, set with ``set(faint=...)``).
    colour : str
        Initial colour, ``"r-i"`` or ``"g-r"``.
    criteria : iterable of str
        Criteria ticked at the start; default the lesson's (``primary``, ``point_source``, ``good_psf_flux``).

    Notes
    -----
    The count, the figure's data, the funnel and the truth counts are updated in place on every change; the
    widget (an ``ipywidgets.VBox``) is :attr:`widget` and is shown when the explorer is the last expression of
    a cell. ``repr(explorer)`` is its state as deterministic text.
    """

    def __init__(
        self,
        patches: Mapping[Hashable, PatchTables] | PatchTables,
        *,
        tract: int | None = None,
        patch: Hashable | None = None,
        bands: Sequence[str] = ("g", "r", "i"),
        reference_band: str = "i",
        faint: float | None = DEFAULT_FAINT,
        colour: str = "r-i",
        criteria: Iterable[str] = LESSON_CRITERIA,
    ):
        if isinstance(patches, PatchTables):
            patches = {"table": patches}
        if not patches:
            raise ValueError("SelectionExplorer needs the tables of at least one patch")
        if ALL_PATCHES in patches:
            raise ValueError(f"{ALL_PATCHES!r} is reserved for 'every patch'; name the patches otherwise")
        for key, tables in patches.items():
            if not isinstance(tables, PatchTables):
                raise TypeError(f"patches[{key!r}] must be a PatchTables, got {type(tables).__name__}")
        self._tables: dict[Hashable, PatchTables] = dict(patches)
        self.tract = tract
        self.bands = tuple(bands)
        if reference_band not in self.bands:
            raise ValueError(f"reference_band={reference_band!r} is not one of bands={list(self.bands)}")
        self.reference_band = reference_band
        colours = [c for c, pair in COLOURS.items() if all(b in self.bands for b in pair)]
        if not colours:
            raise ValueError(f"no colour of {list(COLOURS)} can be made from bands={list(self.bands)}")
        # Offer only the colours whose bands have a forced table in some patch (real HSC data: no g band);
        # if none has, offer them all and let the widget say which bands have no data.
        loaded = {b for t in self._tables.values() for b, table in t.forced.items() if table is not None}
        self._colours = [c for c in colours if all(b in loaded for b in COLOURS[c])] or colours
        criteria = list(criteria)
        for name in criteria:
            if name not in (*FLAG_CRITERIA, SHORTCUT):
                raise ValueError(
                    f"unknown criterion {name!r}; the explorer's criteria are {', '.join((SHORTCUT, *FLAG_CRITERIA))}"
                )
        # What each checkbox says when it is the learner's to set (parts remember theirs under the shortcut).
        self._own = {name: name in criteria for name in (SHORTCUT, *FLAG_CRITERIA)}
        if SHORTCUT in criteria:
            for part in PRIMARY_PARTS:
                self._own[part] = True  # unticking the shortcut shows its four parts ticked
        self._cache: dict[Hashable, _Arrays] = {}
        self._last: str | None = None  # criterion (or FAINT) changed last
        self._last_on = False
        self._holding = False
        self._state_text = ""
        self._keep = np.zeros(0, dtype=bool)
        self._funnel: list[tuple[str, int, int]] = []  # (criterion, kept alone, kept cumulative)
        self._truth: dict[str, int] | None = None
        self._messages: list[str] = []
        self._notice: str | None = None  # what the last set() could not do as asked, shown as a message

        self._choice = self._check_patch(patch if patch is not None else next(iter(self._tables)))
        if colour not in self._colours:
            if colour not in COLOURS:
                raise ValueError(f"colour must be one of {self._colours}, got {colour!r}")
            self._notice = self._colour_refused(colour, self._colours[0])
            colour = self._colours[0]
        self._colour = colour
        self._faint = None if faint is None else self._check_faint(faint)
        self._build_widgets()
        self._arrays = self._arrays_for(self._choice)
        self._sync_checkboxes()
        self._refresh()

    # ---------------------------------------------------------------------------------------------------
    # Construction from a Butler or from tables
    # ---------------------------------------------------------------------------------------------------
    @classmethod
    def from_butler(
        cls,
        butler,
        data_id: Mapping[str, Any],
        *,
        bands: Sequence[str] = ("g", "r", "i"),
        patches: str | Iterable[int] | None = ALL_PATCHES,
        **kwargs,
    ) -> SelectionExplorer:
        """Load ``deepCoadd_ref``, ``deepCoadd_forced_src``, ``deepCoadd_calexp.photoCalib`` and, if the
        repository has it, ``truth_match`` for each patch, and build the explorer.

        Parameters
        ----------
        butler : `lsst.daf.butler.Butler`
            A Butler with default collections.
        data_id : dict
            ``{"skymap": ..., "tract": ..., "patch": ...}``; its patch is the initial choice (``patch`` may be
            omitted when ``patches`` lists them).
        bands : sequence of str
            Bands of the forced tables and calibrations.
        patches : "all", list of int or None
            ``"all"``: every patch of the tract with a ``deepCoadd_ref``; a list: those patches; None: only the
            data ID's patch.
        **kwargs
            Passed to the constructor (``faint``, ``colour``, ``criteria``, ``patch``...).
        """
        base = {k: v for k, v in dict(data_id).items() if k not in ("patch", "band")}
        if patches is None:
            if "patch" not in data_id:
                raise ValueError("data_id has no 'patch'; give patches='all' or a list of patch ids")
            wanted = [data_id["patch"]]
        elif isinstance(patches, str):
            if patches != ALL_PATCHES:
                raise ValueError(f"patches must be 'all', a list of patch ids or None, got {patches!r}")
            refs = butler.query_datasets("deepCoadd_ref", data_id=base, find_first=True, explain=False)
            wanted = sorted({int(ref.dataId["patch"]) for ref in refs})
            if not wanted:
                raise LookupError(f"no deepCoadd_ref in the Butler's collections for {base}")
        else:
            wanted = list(patches)
        if "patch" in data_id and data_id["patch"] not in wanted:
            wanted.insert(0, data_id["patch"])
        tables: dict[Hashable, PatchTables] = {}
        for patch in wanted:
            tables[patch] = _load_patch(butler, {**base, "patch": patch}, bands)
        kwargs.setdefault("patch", data_id.get("patch", wanted[0]))
        kwargs.setdefault("tract", base.get("tract"))
        return cls(tables, bands=bands, **kwargs)

    @classmethod
    def from_tables(
        cls,
        ref: Table,
        forced: Mapping[str, Table],
        photo_calib=None,
        truth: Table | None = None,
        *,
        name: Hashable = "table",
        **kwargs,
    ) -> SelectionExplorer:
        """An explorer over one set of tables (for example real data without a truth table).

        Parameters
        ----------
        ref, forced, photo_calib, truth
            As in :class:`PatchTables`.
        name : hashable
            Name of this "patch" in the chooser.
        **kwargs
            Passed to the constructor; ``bands`` defaults to the forced tables' bands.
        """
        kwargs.setdefault("bands", tuple(forced))
        return cls({name: PatchTables(ref, dict(forced), photo_calib, truth)}, **kwargs)

    # ---------------------------------------------------------------------------------------------------
    # Widgets
    # ---------------------------------------------------------------------------------------------------
    def _patch_label(self, key) -> str:
        if key == ALL_PATCHES:
            where = f" of tract {self.tract}" if self.tract is not None else ""
            return f"all {len(self._tables)} patches{where}"
        return f"patch {key}" if isinstance(key, int | np.integer) else str(key)

    def _build_widgets(self) -> None:
        row = widgets.Layout(width="auto")
        style = {"description_width": "initial"}
        self._checkboxes: dict[str, widgets.Checkbox] = {}
        for name in (SHORTCUT, *FLAG_CRITERIA):
            crit = CRITERIA[name]
            box = widgets.Checkbox(
                value=self._own[name], description=crit.label, indent=False, layout=row, style=style,
                description_allow_html=False, tooltip=crit.description,
            )
            box.add_class(f"{_CSS_PREFIX}-criterion")
            box.add_class(f"{_CSS_PREFIX}-cb-{name}")
            if name in PRIMARY_PARTS:
                box.layout = widgets.Layout(width="auto", margin="0 0 0 1.6em")
            box.observe(self._on_checkbox(name), names="value")
            self._checkboxes[name] = box
        low, high = FAINT_RANGE
        self._slider = widgets.FloatSlider(
            value=self._faint if self._faint is not None else high, min=low, max=high, step=0.1,
            description=f"faint limit: {self.reference_band} ≤", readout_format=".1f",
            continuous_update=True, style=style, layout=widgets.Layout(width="300px"),
            disabled=self._faint is None,
        )
        self._slider.add_class(f"{_CSS_PREFIX}-faint")
        self._slider.observe(self._on_faint, names="value")
        self._colour_chooser = widgets.ToggleButtons(
            options=[(_colour_text(c), c) for c in self._colours], value=self._colour,
            description="colour:", style={"description_width": "initial", "button_width": "5em"},
        )
        self._colour_chooser.add_class(f"{_CSS_PREFIX}-colour")
        self._colour_chooser.observe(self._on_colour, names="value")
        options = [(self._patch_label(k), k) for k in self._tables]
        if len(self._tables) > 1:
            options.append((self._patch_label(ALL_PATCHES), ALL_PATCHES))
        self._patch_chooser = widgets.Dropdown(
            options=options, value=self._choice, description="patch:", style=style,
            layout=widgets.Layout(width="300px"),
        )
        self._patch_chooser.add_class(f"{_CSS_PREFIX}-patch")
        self._patch_chooser.observe(self._on_patch, names="value")

        self._count = widgets.HTML()
        self._count.add_class(f"{_CSS_PREFIX}-count")
        self._explain = widgets.HTML(layout=widgets.Layout(max_width="960px"))
        self._explain.add_class(f"{_CSS_PREFIX}-explain")
        self._truth_html = widgets.HTML()
        self._truth_html.add_class(f"{_CSS_PREFIX}-truth")
        self._funnel_html = widgets.HTML()
        self._funnel_html.add_class(f"{_CSS_PREFIX}-funnel")
        self._message = widgets.HTML()
        self._message.add_class(f"{_CSS_PREFIX}-message")

        self._figure = Figure(figsize=(5.0, 4.4), dpi=100, layout="constrained")
        # ipympl is imported here, not at module import: importing its backend switches an IPython kernel's
        # matplotlib to widget figures, which would change every inline figure of a lesson that merely
        # imports tutorial_lib.
        from ipympl.backend_nbagg import FigureManager

        self._canvas = _explorer_canvas_class()(self._figure)
        with warnings.catch_warnings():  # ipympl's Toolbar passes the canvas on to traitlets (harmless)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="traitlets")
            self._manager = FigureManager(self._canvas, 0)
        self._canvas.header_visible = False
        self._canvas.footer_visible = False
        self._canvas.resizable = False
        self._canvas.toolbar_position = "left"
        self._ax = self._figure.add_subplot()
        plots.plot_cmd(
            np.empty(0), np.empty(0), ax=self._ax, y_label=self.reference_band,
            color_label=f"{_colour_text(self._colour)} [mag]", density=False,
            extra=(np.empty(0), np.empty(0)), label="selected", extra_label="removed by the last criterion",
            marker_size=5.0, mag_range=(16.0, FAINT_RANGE[1]), legend=False,
        )
        self._points_artist = next(c for c in self._ax.collections if c.get_gid() == plots.GID_POINTS)
        self._extra_artist = next(c for c in self._ax.collections if c.get_gid() == plots.GID_EXTRA)
        # A fixed legend, part of the background (the counts are in the widget's text): redrawing a legend
        # with counts would cost more than the points themselves.
        legend = Legend(
            self._ax, [self._points_artist, self._extra_artist],
            ["selected", "removed by the last criterion"], loc="upper right", fontsize=8, markerscale=1.5,
        )
        self._ax.add_artist(legend)
        # The axes' limits, ticks and labels never change size, so lay the figure out once and freeze it:
        # constrained layout would otherwise cost ~40% of every redraw.
        self._figure.get_layout_engine().execute(self._figure)
        self._figure.set_layout_engine("none")
        # Blitting: the data artists are "animated", so a full draw (which the browser asks for) leaves them
        # out; right after it the background is saved and they are drawn on top. A toggle then restores the
        # background and redraws only them (see _redraw_data).
        self._background = None
        self._background_renderer = None
        for artist in self._data_artists():
            artist.set_animated(True)
        self._canvas.mpl_connect("draw_event", self._on_full_draw)

        criteria = widgets.VBox(
            [widgets.HTML("<b>Criteria</b>"), *self._checkboxes.values()],
            layout=widgets.Layout(min_width="300px"),
        )
        controls = widgets.VBox(
            [criteria, self._slider, self._colour_chooser, self._patch_chooser, self._funnel_html],
            layout=widgets.Layout(min_width="320px", margin="0 12px 0 0"),
        )
        self._box = _ExplorerBox(
            self,
            [
                self._count,
                widgets.HBox([controls, self._canvas], layout=widgets.Layout(align_items="flex-start")),
                self._explain,
                self._truth_html,
                self._message,
            ],
        )
        self._box.add_class(_CSS_PREFIX)

    # ---------------------------------------------------------------------------------------------------
    # Callbacks (never raise: a failure becomes a message in the widget)
    # ---------------------------------------------------------------------------------------------------
    def _on_checkbox(self, name: str):
        def callback(change):
            if self._holding:
                return
            box = self._checkboxes[name]
            if box.disabled:  # an implied or unavailable box mirrors state; it was not the learner
                return
            self._guarded(self._toggle, name, bool(change["new"]))

        return callback

    def _on_faint(self, change) -> None:
        if not self._holding:
            self._guarded(self._apply, {FAINT: float(change["new"])})

    def _on_colour(self, change) -> None:
        if not self._holding:
            self._guarded(self._apply, {"colour": change["new"]})

    def _on_patch(self, change) -> None:
        if not self._holding:
            self._guarded(self._apply, {"patch": change["new"]})

    def _guarded(self, function, *args) -> None:
        self._notice = None
        try:
            function(*args)
        except Exception as err:  # noqa: BLE001 - shown in the widget instead of a traceback in the log
            self._message.value = (
                f'<div style="color:#D55E00">Could not update the explorer: {html.escape(str(err))}</div>'
            )

    def _toggle(self, name: str, value: bool) -> None:
        self._apply({name: value})

    # ---------------------------------------------------------------------------------------------------
    # Python API
    # ---------------------------------------------------------------------------------------------------
    def set(self, **changes) -> None:
        """Change the explorer's state from Python, as the widgets would, and update it once.

        Parameters
        ----------
        **changes
            ``<criterion>=True/False`` for ``primary`` (the ``detect_isPrimary`` shortcut), ``deblended``,
            ``patch_inner``, ``tract_inner``, ``not_sky``, ``point_source``, ``good_psf_flux``;
            ``faint=<AB mag>`` (or None for no limit); ``colour="r-i"`` or ``"g-r"`` (also ``color=``);
            ``patch=<patch id>`` or ``"all"``. A part of ``detect_isPrimary`` cannot be changed while the
            shortcut is on and stays on; in one call with ``primary=False`` the shortcut is turned off first,
            with ``primary=True`` the parts are set first (they show again when the shortcut is unticked).

        Raises
        ------
        ValueError
            For an unknown name, an unavailable criterion, a part under the shortcut, or a bad value.
        """
        if "color" in changes:
            if "colour" in changes:
                raise ValueError("give colour= or color=, not both")
            changes["colour"] = changes.pop("color")
        known = (SHORTCUT, *FLAG_CRITERIA, FAINT, "colour", "patch")
        for key in changes:
            if key not in known:
                raise ValueError(f"unknown setting {key!r}; known: {', '.join(known)}")
        self._notice = None
        if "patch" in changes:
            if changes["patch"] == ALL_PATCHES and len(self._tables) == 1:
                only = next(iter(self._tables))
                self._notice = f"only {self._patch_label(only)} is loaded: patch='all' shows it."
            changes["patch"] = self._check_patch(changes["patch"])
        if "colour" in changes and changes["colour"] not in self._colours:
            if changes["colour"] not in COLOURS:
                raise ValueError(f"colour must be one of {self._colours}, got {changes['colour']!r}")
            self._notice = self._colour_refused(changes.pop("colour"), self._colour)
        if FAINT in changes and changes[FAINT] is not None:
            self._check_faint(changes[FAINT])
        for key, value in changes.items():
            if key in self._own and not isinstance(value, bool | np.bool_):
                raise ValueError(f"{key} must be True or False, got {value!r}")
        self._apply(changes)

    def _colour_refused(self, colour: str, kept: str) -> str:
        loaded = {b for t in self._tables.values() for b, table in t.forced.items() if table is not None}
        absent = [b for b in COLOURS[colour] if b not in loaded]
        return (
            f"the colour {_colour_text(colour)} cannot be shown: no {', '.join(absent)}-band forced table is "
            f"loaded; the CMD shows {_colour_text(kept)} (colours offered: "
            f"{', '.join(_colour_text(c) for c in self._colours)})."
        )

    def reset(self) -> None:
        """Back to the lesson's selection: primary, point source and good PSF flux, faint limit
        :data:`DEFAULT_FAINT`, colour r - i (patch unchanged)."""
        self._notice = None
        self._own = {name: name in LESSON_CRITERIA for name in self._own}
        for part in PRIMARY_PARTS:
            self._own[part] = True
        self._last = None
        self._apply({FAINT: DEFAULT_FAINT, "colour": self._colours[0]}, record=False)

    def _check_patch(self, patch) -> Hashable:
        if patch == ALL_PATCHES and len(self._tables) > 1:
            return ALL_PATCHES
        if patch == ALL_PATCHES and len(self._tables) == 1:
            return next(iter(self._tables))  # every loaded patch is this one
        if patch in self._tables:
            return patch
        raise ValueError(
            f"patch {patch!r} is not loaded; choose one of {list(self._tables)}"
            + (" or 'all'" if len(self._tables) > 1 else "")
        )

    @staticmethod
    def _check_faint(value) -> float:
        low, high = FAINT_RANGE
        value = float(value)
        if not low <= value <= high:
            raise ValueError(f"faint must be between {low} and {high} (AB mag), got {value}")
        return round(value, 1)

    def _apply(self, changes: Mapping[str, Any], record: bool = True) -> None:
        changes = dict(changes)
        arrays = self._arrays_for(changes["patch"]) if "patch" in changes else self._arrays
        faint = self._faint
        if FAINT in changes:
            faint = None if changes[FAINT] is None else self._check_faint(changes[FAINT])
        # Turning the shortcut off comes before its parts are set, turning it on after: so one call can both
        # set parts and (un)tick the shortcut. Everything is checked before anything changes.
        flags = [k for k in FLAG_CRITERIA if k in changes]
        if SHORTCUT in changes:
            flags.insert(len(flags) if changes[SHORTCUT] else 0, SHORTCUT)
        shortcut_on = self._own[SHORTCUT] and SHORTCUT not in arrays.unavailable
        for name in flags:
            value = bool(changes[name])
            if name in arrays.unavailable and value:
                raise ValueError(f"criterion {name!r} is not available: {arrays.unavailable[name]}")
            if name == SHORTCUT:
                shortcut_on = value and SHORTCUT not in arrays.unavailable
            elif name in PRIMARY_PARTS and shortcut_on:
                raise ValueError(
                    f"{name!r} is implied by the detect_isPrimary shortcut while primary=True; "
                    "set primary=False first (or in the same call)"
                )
        if "patch" in changes:
            self._choice, self._arrays = changes["patch"], arrays
        if "colour" in changes:
            self._colour = changes["colour"]
        if FAINT in changes:
            self._faint = faint
            if record:
                self._last, self._last_on = FAINT, faint is not None
        for name in flags:
            self._own[name] = bool(changes[name])
            if record:
                self._last, self._last_on = name, self._own[name]
        self._sync_checkboxes()
        self._refresh()

    # ---------------------------------------------------------------------------------------------------
    # State
    # ---------------------------------------------------------------------------------------------------
    def _arrays_for(self, choice) -> _Arrays:
        if choice not in self._cache:
            if choice == ALL_PATCHES:
                parts = [self._arrays_for(k) for k in self._tables]
                self._cache[choice] = _concatenate(parts, self.bands)
            else:
                self._cache[choice] = _patch_arrays(
                    self._tables[choice], self._patch_label(choice), self.bands, self.reference_band
                )
        return self._cache[choice]

    def _shortcut_on(self) -> bool:
        return self._own[SHORTCUT] and SHORTCUT not in self._arrays.unavailable

    @property
    def criteria(self) -> tuple[str, ...]:
        """Criteria applied now, in the lesson's order (the shortcut in place of its four parts)."""
        if self._shortcut_on():
            names = [SHORTCUT, *(n for n in FLAG_CRITERIA if n not in PRIMARY_PARTS and self._own[n])]
        else:
            names = [n for n in FLAG_CRITERIA if self._own[n]]
        return tuple(n for n in names if n not in self._arrays.unavailable)

    def _sync_checkboxes(self) -> None:
        """Make the checkboxes show the state: implied parts ticked and disabled, unavailable ones disabled."""
        shortcut = self._shortcut_on()
        self._holding = True
        try:
            for name, box in self._checkboxes.items():
                if name in self._arrays.unavailable:
                    value, disabled = False, True
                    tip = f"Not available: {self._arrays.unavailable[name]}"
                elif shortcut and name in PRIMARY_PARTS:
                    value, disabled = True, True
                    tip = f"Implied by detect_isPrimary (untick it to set this one). {CRITERIA[name].description}"
                else:
                    value, disabled = self._own[name], False
                    tip = CRITERIA[name].description
                if box.value != value:
                    box.value = value
                if box.disabled != disabled:
                    box.disabled = disabled
                if box.tooltip != tip:
                    box.tooltip = tip
            mag_ok = self.reference_band not in self._arrays.missing_bands
            if self._faint is not None and self._slider.value != self._faint:
                self._slider.value = self._faint
            slider_disabled = self._faint is None or not mag_ok
            if self._slider.disabled != slider_disabled:
                self._slider.disabled = slider_disabled
            if self._colour_chooser.value != self._colour:
                self._colour_chooser.value = self._colour
            if self._patch_chooser.value != self._choice:
                self._patch_chooser.value = self._choice
        finally:
            self._holding = False

    def _faint_mask(self) -> np.ndarray | None:
        if self._faint is None or self.reference_band in self._arrays.missing_bands:
            return None
        # NaN (no magnitude: flux <= 0 or unmeasured) compares False and fails the limit.
        return self._arrays.mags[self.reference_band] <= self._faint

    def _steps(self) -> list[tuple[str, np.ndarray]]:
        steps = [(name, self._arrays.masks[name]) for name in self.criteria]
        faint = self._faint_mask()
        if faint is not None:
            steps.append((FAINT, faint))
        return steps

    def _last_mask(self) -> np.ndarray | None:
        if self._last is None:
            return None
        if self._last == FAINT:
            return self._faint_mask()
        if self._last in self._arrays.unavailable:
            return None
        if self._last in PRIMARY_PARTS and self._shortcut_on():
            return None
        return self._arrays.masks[self._last]

    def _refresh(self) -> None:
        """Recompute the selection from the cached masks and update every view in place."""
        arrays = self._arrays
        steps = self._steps()
        last = self._last_mask()
        others = np.ones(arrays.n, dtype=bool)
        funnel = []
        cumulative = np.ones(arrays.n, dtype=bool)
        for name, mask in steps:
            np.logical_and(cumulative, mask, out=cumulative)
            funnel.append((name, int(np.count_nonzero(mask)), int(np.count_nonzero(cumulative))))
            if name != self._last:
                np.logical_and(others, mask, out=others)
        keep = cumulative
        removed = None if last is None else others & ~last
        self._keep = keep
        self._funnel = funnel
        n = int(np.count_nonzero(keep))

        mag = arrays.mags[self.reference_band]
        colour = arrays.colour(self._colour)
        y, x = mag[keep], colour[keep]
        finite = np.isfinite(x) & np.isfinite(y)
        n_nan = int(finite.size - np.count_nonzero(finite))
        extra = None if removed is None else (mag[removed], colour[removed])
        xlabel = f"{_colour_text(self._colour)} [mag]"
        background_changed = self._ax.get_xlabel() != xlabel
        if background_changed:
            self._ax.set_xlabel(xlabel)
        self._update_figure(y, x, extra, background_changed)

        self._truth = self._truth_counts(keep)
        self._messages = self._collect_messages(n, n_nan)
        self._state_text = self._describe(n)
        self._render_html(n, removed)

    # ---------------------------------------------------------------------------------------------------
    # Figure: data replaced in place, then only the data artists redrawn (blitting)
    # ---------------------------------------------------------------------------------------------------
    def _data_artists(self) -> list:
        return [self._points_artist, self._extra_artist]

    def _on_full_draw(self, event) -> None:
        """After a full draw: keep the background, then draw the data artists on top of it."""
        renderer = event.renderer
        try:
            self._background = renderer.copy_from_bbox(self._figure.bbox)
            self._background_renderer = renderer
        except AttributeError:  # a vector backend (savefig to PDF/SVG): nothing to keep
            self._background = self._background_renderer = None
        for artist in self._data_artists():
            artist.draw(renderer)

    def _update_figure(self, y, x, extra, background_changed: bool) -> None:
        canvas = self._canvas
        renderer = canvas.get_renderer() if self._background is not None else None
        blit = (
            not background_changed
            and self._background is not None
            and renderer is self._background_renderer
        )
        canvas._defer_idle = blit  # update_cmd asks for a full redraw; blitting replaces it
        try:
            plots.update_cmd(self._figure, y, x, extra=extra)
        finally:
            canvas._defer_idle = False
        if blit:
            renderer.restore_region(self._background)
            for artist in self._data_artists():
                artist.draw(renderer)
            canvas.blit(self._figure.bbox)
        elif background_changed:
            canvas.draw_idle()

    def _truth_counts(self, keep: np.ndarray) -> dict[str, int] | None:
        arrays = self._arrays
        if arrays.truth_code is None:
            return None
        counts = np.bincount(arrays.truth_code[keep], minlength=_NO_TRUTH + 1)
        out = {name: int(counts[i]) for i, name in enumerate(_TRUTH_CLASSES)}
        out["other"] = int(counts[_UNKNOWN])
        out["no_truth"] = int(counts[_NO_TRUTH])
        out["duplicates"] = _duplicate_rows(keep, arrays.truth_order, arrays.truth_sorted_ids)
        return out

    def _collect_messages(self, n: int, n_nan: int) -> list[str]:
        arrays = self._arrays
        messages = []
        if arrays.n == 0:
            messages.append(f"{self._patch_label(self._choice)} has no rows.")
        elif n == 0:
            messages.append(
                "No rows pass the current selection: untick a criterion or move the faint limit fainter."
            )
        blue, red = COLOURS[self._colour]
        no_data = [b for b in dict.fromkeys((self.reference_band, blue, red)) if b in arrays.missing_bands]
        if no_data:
            messages.append(
                f"No data in band{'s' if len(no_data) > 1 else ''} {', '.join(no_data)} for "
                f"{self._patch_label(self._choice)}: the CMD of {self.reference_band} against "
                f"{_colour_text(self._colour)} cannot be drawn"
                + (" and the faint limit is not applied" if self.reference_band in no_data else "")
                + (". Choose another colour." if self.reference_band not in no_data else ".")
            )
        elif n_nan:
            messages.append(
                f"{_plural(n_nan, 'selected row')} without a finite {self.reference_band} magnitude or "
                f"{_colour_text(self._colour)} colour (flux ≤ 0 in a band where the object is not detected) "
                + ("is" if n_nan == 1 else "are")
                + " not plotted."
            )
        for name, reason in arrays.unavailable.items():
            messages.append(f"{CRITERIA[name].label} is not available: {reason}.")
        if self._notice:
            messages.append(self._notice[:1].upper() + self._notice[1:])
        messages.extend(f"Note: {note}." for note in dict.fromkeys(arrays.notes))
        return messages

    # ---------------------------------------------------------------------------------------------------
    # Text
    # ---------------------------------------------------------------------------------------------------
    def _criteria_text(self) -> str:
        names = list(self.criteria)
        if not names:
            return "none"
        parts = []
        for name in names:
            if name == SHORTCUT:
                parts.append(f"{SHORTCUT} (implies {', '.join(PRIMARY_PARTS)})")
            else:
                parts.append(name)
        return ", ".join(parts)

    def _describe(self, n: int) -> str:
        faint = (
            f"{self.reference_band} <= {self._faint:.1f}" if self._faint_mask() is not None else "none"
        )
        lines = [
            f"SelectionExplorer: {self._patch_label(self._choice)}, CMD {self.reference_band} vs "
            f"{_colour_text(self._colour).replace(_MINUS, '-')}",
            f"  criteria: {self._criteria_text()}; faint limit: {faint}",
            f"  selected: {n:,} of {self._arrays.n:,} rows",
        ]
        if self._truth is not None:
            t = self._truth
            lines.append(
                f"  truth: {_plural(t['star'], 'star')}, {_plural(t['galaxy'], 'galaxy', 'galaxies')}, "
                f"{_plural(t['sky'], 'sky object')}, {_plural(t['blend'], 'blend parent')}, "
                f"{_plural(t['duplicates'], 'duplicate row')}"
            )
        else:
            lines.append("  truth: no truth table")
        if self._messages:
            lines.extend(f"  message: {m}" for m in self._messages)
        return "\n".join(lines)

    def _render_html(self, n: int, removed: np.ndarray | None) -> None:
        total = self._arrays.n
        pct = f" ({100.0 * n / total:.1f}%)" if total else ""
        self._count.value = (
            f'<span style="font-size:1.15em"><b>{n:,}</b> of {total:,} rows selected</span>'
            f'<span style="color:#555">{pct} · {html.escape(self._patch_label(self._choice))}</span>'
        )
        self._explain.value = self._explanation_html(removed)
        self._truth_html.value = self._truth_html_text()
        self._funnel_html.value = self._funnel_html_text(total)
        if self._messages:
            items = "".join(f"<li>{html.escape(m)}</li>" for m in self._messages)
            self._message.value = f'<ul style="color:#D55E00;margin:0.3em 0">{items}</ul>'
        else:
            self._message.value = ""

    def _explanation_html(self, removed: np.ndarray | None) -> str:
        if self._last is None:
            return (
                "Tick or untick a criterion: this line explains it, and the vermillion triangles show the rows "
                "it removes (or would remove) from the others' selection."
            )
        n_removed = int(np.count_nonzero(removed)) if removed is not None else 0
        if self._last == FAINT and self._faint is None:
            text = "<b>No faint limit</b>: every row is kept whatever its magnitude, also rows without one."
        elif self._last == FAINT:
            text = (
                f"<b>Faint limit {self.reference_band} ≤ {self._faint:.1f}</b>: "
                f"{html.escape(CRITERIA['magnitude_limits'].description)}"
            )
        else:
            crit = CRITERIA[self._last]
            state = "on" if self._last_on else "off"
            text = f"<b>{html.escape(crit.label)}</b> ({state}): {html.escape(crit.description)}"
            if self._last == SHORTCUT and self._shortcut_on():
                text += " Its four parts are shown ticked and greyed out while it is on."
        if removed is not None:
            verb = "removes" if self._last_on else "would remove"
            text += f" It {verb} {n_removed:,} of the rows the other criteria keep."
        return text

    def _truth_html_text(self) -> str:
        t = self._truth
        if t is None:
            return "<i>No truth table for these data: true classes cannot be shown.</i>"
        text = (
            f"<b>Truth</b> (truth_match): the selection keeps {_plural(t['star'], 'true star')}, "
            f"{_plural(t['galaxy'], 'galaxy', 'galaxies')}, {_plural(t['sky'], 'sky object')}, "
            f"{_plural(t['blend'], 'blend parent')} and <b>{_plural(t['duplicates'], 'duplicate row')}</b> "
            "(rows whose true object, truth_id, is selected more than once)."
        )
        if t["no_truth"]:
            text += f" {t['no_truth']:,} selected rows have no truth table."
        return text

    def _funnel_html_text(self, total: int) -> str:
        rows = []
        scale = 100.0 / total if total else 0.0
        for name, alone, cumulative in self._funnel:
            if name == FAINT:
                label = f"{self.reference_band} ≤ {self._faint:.1f}"
            else:
                label = CRITERIA[name].label
            width = cumulative * scale
            rows.append(
                f"<tr><td style='padding:0 6px 0 0'>{html.escape(label)}</td>"
                f"<td style='text-align:right;padding:0 6px'>{cumulative:,}</td>"
                f"<td style='width:90px'><div style='background:{plots.COLORS['cumulative']};height:0.7em;"
                f"width:{width:.1f}%'></div></td>"
                f"<td style='text-align:right;color:#555;padding:0 0 0 6px'>alone {alone:,}</td></tr>"
            )
        head = (
            "<tr><th style='text-align:left'>funnel</th><th style='text-align:right;padding:0 6px'>kept</th>"
            f"<th></th><th style='text-align:right;color:#555'>of {total:,}</th></tr>"
        )
        if not rows:
            rows.append("<tr><td colspan=4><i>no criterion ticked: every row is kept</i></td></tr>")
        return f"<table style='font-size:0.85em;margin-top:0.5em'>{head}{''.join(rows)}</table>"

    # ---------------------------------------------------------------------------------------------------
    # Public read-only views (used by the lesson's self-checks and the tests)
    # ---------------------------------------------------------------------------------------------------
    @property
    def widget(self) -> widgets.VBox:
        """The whole explorer as one ``ipywidgets.VBox``."""
        return self._box

    @property
    def figure(self) -> Figure:
        """The live CMD (ipympl canvas: ``figure.canvas``)."""
        return self._figure

    @property
    def checkboxes(self) -> dict[str, widgets.Checkbox]:
        """The checkboxes by criterion name (the shortcut is ``"primary"``)."""
        return dict(self._checkboxes)

    @property
    def count_text(self) -> str:
        """The count as the widget shows it: ``"N of M rows selected"``."""
        return f"{self.n_selected:,} of {self.n_total:,} rows selected"

    @property
    def n_selected(self) -> int:
        return int(np.count_nonzero(self._keep))

    @property
    def n_total(self) -> int:
        return self._arrays.n

    @property
    def mask(self) -> np.ndarray:
        """Which rows of the current patch choice are selected (a copy; patches concatenated in key order)."""
        return self._keep.copy()

    @property
    def patch(self) -> Hashable:
        return self._choice

    @property
    def patches(self) -> tuple[Hashable, ...]:
        return tuple(self._tables)

    @property
    def colour(self) -> str:
        return self._colour

    @property
    def faint(self) -> float | None:
        return self._faint

    @property
    def tables(self) -> dict[Hashable, PatchTables]:
        """The loaded tables by patch."""
        return dict(self._tables)

    @property
    def truth_counts(self) -> dict[str, Any]:
        """Selected rows by true class (``star``, ``galaxy``, ``sky``, ``blend``, ``other``, ``no_truth``) and
        ``duplicates`` (rows whose truth_id is selected more than once).

        Without a truth table (real data) every count is :data:`NO_TRUTH`, which is false and prints as
        ``n/a (no truth table)``; :attr:`has_truth` tells the two cases apart."""
        if self._truth is None:
            return dict.fromkeys(_TRUTH_KEYS, NO_TRUTH)
        return dict(self._truth)

    @property
    def has_truth(self) -> bool:
        """Whether the current patch choice has a truth table (``truth_match``)."""
        return self._truth is not None

    @property
    def messages(self) -> tuple[str, ...]:
        """The messages the widget shows now (empty selection, rows without magnitudes, missing bands...)."""
        return tuple(self._messages)

    @property
    def state(self) -> dict[str, Any]:
        """The checkbox states as the learner set them, and the other settings."""
        return {
            **{name: self._own[name] for name in (SHORTCUT, *FLAG_CRITERIA)},
            FAINT: self._faint,
            "colour": self._colour,
            "patch": self._choice,
        }

    def cmd_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The reference-band magnitude and the chosen colour of every row of the current patch choice
        (copies; NaN without a finite value); ``mag[explorer.mask]`` are the plotted rows."""
        return (
            self._arrays.mags[self.reference_band].copy(),
            self._arrays.colour(self._colour).copy(),
        )

    def funnel(self) -> Table:
        """The funnel of the current selection: ``criterion``, ``n_kept_alone``, ``n_kept_cumulative``,
        ``n_removed`` (as :meth:`tutorial_lib.selection.Selection.funnel`; usable by ``plots.plot_funnel``)."""
        names = [name for name, _, _ in self._funnel]
        alone = [a for _, a, _ in self._funnel]
        cumulative = [c for _, _, c in self._funnel]
        removed = list(np.diff([self.n_total, *cumulative]) * -1)
        out = Table(
            {
                "criterion": np.array(names, dtype=str),
                "n_kept_alone": np.array(alone, dtype=np.int64),
                "n_kept_cumulative": np.array(cumulative, dtype=np.int64),
                "n_removed": np.array(removed, dtype=np.int64),
            }
        )
        out.meta["n_total"] = self.n_total
        return out

    # ---------------------------------------------------------------------------------------------------
    # Display
    # ---------------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return self._state_text

    def _repr_mimebundle_(self, **kwargs):
        return self._box._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Close the widgets (and the figure's canvas)."""
        for w in (*self._checkboxes.values(), self._slider, self._colour_chooser, self._patch_chooser,
                  self._count, self._explain, self._truth_html, self._funnel_html, self._message):
            w.close()
        self._canvas.close()
        self._box.close()


@functools.cache
def _explorer_canvas_class() -> type:
    """The ipympl canvas class whose ``draw_idle`` can be deferred while the explorer blits (made on first use)."""
    from ipympl.backend_nbagg import Canvas

    class _ExplorerCanvas(Canvas):
        _defer_idle = False

        def draw_idle(self, *args, **kwargs):
            if not self._defer_idle:
                super().draw_idle(*args, **kwargs)

    return _ExplorerCanvas


class _ExplorerBox(widgets.VBox):
    """The explorer's VBox, whose text repr is the explorer's state (what nbval compares)."""

    def __init__(self, explorer: SelectionExplorer, children):
        super().__init__(children)
        self._explorer = explorer

    def __repr__(self) -> str:
        return repr(self._explorer)

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = repr(self._explorer)  # whole, not cut at 110 characters
        return data


def _load_patch(butler, data_id: Mapping[str, Any], bands: Sequence[str]) -> PatchTables:
    """Read one patch's tables; a missing forced table, calibration or truth table becomes a note."""
    label = f"patch {data_id['patch']}"
    try:
        ref = butler.get("deepCoadd_ref", data_id)
    except LookupError as err:
        raise LookupError(f"no deepCoadd_ref for {dict(data_id)}: {err}") from None
    forced: dict[str, Table] = {}
    calibs: dict[str, Any] = {}
    notes: list[str] = []
    for band in bands:
        try:
            forced[band] = butler.get("deepCoadd_forced_src", data_id, band=band)
        except LookupError:
            notes.append(f"{label} has no {band}-band deepCoadd_forced_src")
            continue
        try:
            calibs[band] = butler.get("deepCoadd_calexp.photoCalib", data_id, band=band)
        except LookupError:
            pass  # Selection then reads a base_PsfFlux_mag column, or reports the band as missing
    try:
        truth = butler.get("truth_match", data_id)
    except LookupError:
        truth = None
    return PatchTables(ref, forced, calibs or None, truth, notes)
