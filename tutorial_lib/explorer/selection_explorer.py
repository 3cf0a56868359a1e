""":class:`SelectionExplorer`: a state (:mod:`.state`), its view (:mod:`.view`) and its loader (:mod:`.loading`).

This is the object lesson 6 uses. It adds nothing of its own: every setting goes to the state, every display
to the view.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from astropy.table import Table
from matplotlib.figure import Figure

from ..lesson import BANDS
from ..selection import check_photo_calib, forced_tables_by_band
from .loading import ALL_PATCHES, PatchTables, load_patches
from .state import FAINT, ExplorerState
from .view import ExplorerView

__all__ = ["SelectionExplorer"]


class SelectionExplorer:
    """Interactive explorer of the lesson's selection over one patch or every patch of a tract.

    Parameters
    ----------
    patches : dict of {key: PatchTables} or PatchTables
        The tables of each patch the chooser offers (keys are patch ids or names); a single
        :class:`PatchTables` is one patch named ``"table"``. Tables are processed when a patch is first chosen.
    **settings
        ``tract``, ``patch``, ``bands``, ``reference_band``, ``faint``, ``colour``, ``criteria``: as for
        :class:`tutorial_lib.explorer.state.ExplorerState`.

    Notes
    -----
    The count, the figure's data, the funnel and the truth counts are updated in place on every change; the
    widget (an ``ipywidgets.VBox``) is :attr:`widget` and is shown when the explorer is the last expression of
    a cell. ``repr(explorer)`` is its state as deterministic text.
    """

    def __init__(self, patches: Mapping[Hashable, PatchTables] | PatchTables, **settings: Any) -> None:
        self._state = ExplorerState(patches, **settings)
        self._view = ExplorerView(self._state)

    @classmethod
    def from_butler(
        cls,
        butler: Any,
        data_id: Mapping[str, Any],
        *,
        bands: Sequence[str] = BANDS,
        patches: str | Iterable[int] | None = ALL_PATCHES,
        **settings: Any,
    ) -> SelectionExplorer:
        """Load ``deepCoadd_ref``, ``deepCoadd_forced_src``, ``deepCoadd_calexp.photoCalib`` and, if the
        repository has it, ``truth_match`` for each patch, and build the explorer.

        Parameters
        ----------
        butler : lsst.daf.butler.Butler
            A Butler with default collections.
        data_id : dict
            ``{"skymap": ..., "tract": ..., "patch": ...}``; its patch is the initial choice (``patch`` may be
            omitted when ``patches`` lists them).
        bands : sequence of str
            Bands of the forced tables and calibrations.
        patches : "all", list of int or None
            ``"all"``: every patch of the tract with a ``deepCoadd_ref``; a list: those patches; None: only the
            data ID's patch.
        **settings
            Passed to the constructor (``faint``, ``colour``, ``criteria``, ``patch``...).

        Returns
        -------
        SelectionExplorer
            The explorer, on the data ID's patch.
        """
        tables = load_patches(butler, data_id, bands, patches)
        settings.setdefault("patch", data_id.get("patch", next(iter(tables))))
        settings.setdefault("tract", data_id.get("tract"))
        return cls(tables, bands=bands, **settings)

    @classmethod
    def from_tables(
        cls,
        ref: Table,
        forced: Mapping[str, Table],
        photo_calib: Any = None,
        truth: Table | None = None,
        *,
        name: Hashable = "table",
        **settings: Any,
    ) -> SelectionExplorer:
        """An explorer over one set of tables (for example real data without a truth table).

        Parameters
        ----------
        ref, forced, photo_calib, truth
            As in :class:`PatchTables`.
        name : hashable
            Name of this "patch" in the chooser.
        **settings
            Passed to the constructor; ``bands`` defaults to the forced tables' bands.

        Returns
        -------
        SelectionExplorer
            The explorer.
        """
        forced = forced_tables_by_band(forced)
        check_photo_calib(photo_calib)
        settings.setdefault("bands", tuple(forced))
        return cls({name: PatchTables(ref, forced, photo_calib, truth)}, **settings)

    # --- changes -----------------------------------------------------------------------------------------
    def set(self, **changes: Any) -> None:
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
            For an unknown name, an unavailable criterion, a part under the shortcut, or a bad value; the
            explorer is then unchanged.
        """
        self._state.apply(self._state.validate(changes))
        self._view.render()

    def reset(self) -> None:
        """Back to the lesson's selection: primary, point source and good PSF flux, faint limit
        :data:`tutorial_lib.lesson.DEFAULT_FAINT`, colour r - i (patch unchanged)."""
        self._state.reset()
        self._view.render()

    # --- read-only views (used by the lesson's self-checks and the tests) ----------------------------------
    @property
    def widget(self) -> widgets.VBox:
        """The whole explorer as one ``ipywidgets.VBox``."""
        return self._view.box

    @property
    def figure(self) -> Figure:
        """The live CMD (ipympl canvas: ``figure.canvas``)."""
        return self._view.figure

    @property
    def checkboxes(self) -> dict[str, widgets.Checkbox]:
        """The checkboxes by criterion name (the shortcut is ``"primary"``)."""
        return dict(self._view.checkboxes)

    @property
    def view(self) -> ExplorerView:
        """The widgets and the figure (``view.count``, ``view.slider``, ``view.message``...)."""
        return self._view

    @property
    def count_text(self) -> str:
        """The count as the widget shows it: ``"N of M rows selected"``."""
        return f"{self.n_selected:,} of {self.n_total:,} rows selected"

    @property
    def n_selected(self) -> int:
        """Rows selected now."""
        return self._state.frame.n_selected

    @property
    def n_total(self) -> int:
        """Rows of the patch choice."""
        return self._state.n_total

    @property
    def mask(self) -> np.ndarray:
        """Which rows of the current patch choice are selected (a copy; patches concatenated in key order)."""
        return self._state.keep.copy()

    @property
    def criteria(self) -> tuple[str, ...]:
        """Criteria applied now, in the lesson's order (the shortcut in place of its four parts)."""
        return self._state.criteria

    @property
    def patch(self) -> Hashable:
        """The patch choice: a patch key or ``"all"``."""
        return self._state.patch

    @property
    def patches(self) -> tuple[Hashable, ...]:
        """Keys of the loaded patches."""
        return self._state.patches

    @property
    def colour(self) -> str:
        """The CMD's colour, ``"r-i"`` or ``"g-r"``."""
        return self._state.colour

    @property
    def faint(self) -> float | None:
        """The faint limit in AB mag (None: no limit)."""
        return self._state.faint

    @property
    def reference_band(self) -> str:
        """Band of the magnitude axis, the faint limit and the per-band criteria."""
        return self._state.reference_band

    @property
    def bands(self) -> tuple[str, ...]:
        """Bands of the forced tables."""
        return self._state.bands

    @property
    def tract(self) -> int | None:
        """Tract id, for labels (None if not given)."""
        return self._state.tract

    @property
    def tables(self) -> dict[Hashable, PatchTables]:
        """The loaded tables by patch."""
        return self._state.tables

    @property
    def truth_counts(self) -> dict[str, Any]:
        """Selected rows by true class (``star``, ``galaxy``, ``sky``, ``blend``, ``other``, ``no_truth``) and
        ``duplicates`` (rows whose truth_id is selected more than once).

        Without a truth table (real data) every count is :data:`tutorial_lib.explorer.NO_TRUTH`, which is false
        and prints as ``n/a (no truth table)``; :attr:`has_truth` tells the two cases apart."""
        return self._state.truth_counts

    @property
    def has_truth(self) -> bool:
        """Whether the current patch choice has a truth table (``truth_match``)."""
        return self._state.frame.truth is not None

    @property
    def messages(self) -> tuple[str, ...]:
        """The messages the widget shows now (empty selection, rows without magnitudes, missing bands...)."""
        return self._state.frame.messages

    @property
    def state(self) -> dict[str, Any]:
        """The checkbox states as the learner set them, and the other settings."""
        return {**self._state.own, FAINT: self.faint, "colour": self.colour, "patch": self.patch}

    def cmd_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The reference-band magnitude and the chosen colour of every row of the current patch choice
        (copies; NaN without a finite value); ``mag[explorer.mask]`` are the plotted rows."""
        mag, colour = self._state.cmd_data()
        return mag.copy(), colour.copy()

    def funnel(self) -> Table:
        """The funnel of the current selection: ``criterion``, ``n_kept_alone``, ``n_kept_cumulative``,
        ``n_removed`` (as :meth:`tutorial_lib.selection.Selection.funnel`; usable by ``plots.plot_funnel``)."""
        return self._state.funnel()

    # --- display -----------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return self._state.describe()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        return self._view.box._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Close the widgets (and the figure's canvas)."""
        self._view.close()
