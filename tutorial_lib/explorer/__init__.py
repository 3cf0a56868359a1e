"""The selection explorer of lesson 6, in three parts: data, state and view.

* :mod:`.loading`: reads each patch's tables from a Butler into :class:`PatchTables` (``from_butler``);
* :mod:`.state`: :class:`ExplorerState`, headless: criteria, the boxes the ``detect_isPrimary`` shortcut
  implies, masks, counts, truth counts, funnel; testable without widgets;
* :mod:`.view`: :class:`ExplorerView`, the ipywidgets layout, the ipympl figure (blitted) and the HTML texts;
* :mod:`.selection_explorer`: :class:`SelectionExplorer`, a state and its view behind the lesson's API
  (``set``, ``reset``, ``count_text``, ``truth_counts``...).

The state protocol
------------------
The view draws any object that provides the following (a histogram-backed survey state can sit under the same
view by providing them):

``reference_band: str``
    Band of the magnitude axis and of the faint limit.
``checkbox_names: tuple[str, ...]``, ``implied_by_shortcut: tuple[str, ...]``
    The checkboxes in display order; the ones drawn indented under the shortcut.
``criterion_text(name) -> (label, description)``
    A checkbox's label and explanation.
``boxes() -> dict[str, BoxState]``
    What each checkbox shows now: ``BoxState(value, disabled, tooltip)``.
``faint: float | None``, ``faint_range: (float, float)``, ``faint_enabled: bool``
    The faint limit (AB mag), the slider's range, whether the slider can move.
``colour: str``, ``colours: tuple[str, ...]``
    The colour shown and the colours offered (keys of :data:`COLOURS`).
``patch: Hashable``, ``patch_options: list[(label, value)]``
    The patch choice and the chooser's options.
``validate(changes) -> dict``, ``apply(changes) -> None``
    Check a ``{setting: value}`` dict (raising `ValueError` with a message for the learner), then apply it
    all at once; a refused change leaves the state unchanged.
``frame: Frame``
    The result of the current state: counts, points (or a density image, ``Frame.image``), the rows the last
    change removes, the funnel, the truth counts, the explanation and the messages.
``describe() -> str``
    The state as deterministic text (the widget's ``text/plain``; what nbval compares).

Speed: a change only ANDs cached masks (:class:`ExplorerState`) and redraws the data artists over the saved
background (:class:`ExplorerView`); ``benchmarks/widget_latency.py`` measures it against drawing from
scratch, and ``benchmarks/explorer_browser.py`` the click-to-count time in JupyterLab.

Real 2016 HSC data (lesson 8's collection ``validation``) work too, each adaptation said in a message: forced
tables whose ``id`` differs from the reference ``id`` are matched through ``objectId``; without extendedness in
the forced table, the point-source cut uses the reference table's; only the colours whose bands have data are
offered (r − i without a g band); and without ``truth_match`` every truth count is :data:`NO_TRUTH`.

Examples
--------
>>> explorer = SelectionExplorer.from_butler(butler, {"skymap": "discrete", "tract": 0, "patch": 4})
... # doctest: +SKIP
>>> explorer.set(point_source=False)  # doctest: +SKIP
>>> print(explorer)  # doctest: +SKIP
"""

from __future__ import annotations

from .loading import ALL_PATCHES, PatchTables, load_patch, load_patches
from .selection_explorer import SelectionExplorer
from .state import COLOURS, FAINT, FLAG_CRITERIA, NO_TRUTH, SHORTCUT, BoxState, ExplorerState, Frame
from .view import ExplorerView

__all__ = [
    "ALL_PATCHES",
    "COLOURS",
    "FAINT",
    "FLAG_CRITERIA",
    "NO_TRUTH",
    "SHORTCUT",
    "BoxState",
    "ExplorerState",
    "ExplorerView",
    "Frame",
    "PatchTables",
    "SelectionExplorer",
    "load_patch",
    "load_patches",
]
