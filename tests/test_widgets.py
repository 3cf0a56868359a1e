"""Unit tests of tutorial_lib.widgets.SelectionExplorer (no browser) and of lesson 6's self-check.

Expected counts are computed here with numpy from the Butler's tables, independently of the widget's code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from matplotlib.legend import Legend

from tutorial_lib.checks.explorer import check_patch_inner_duplicates, expected_patch_inner_duplicates
from tutorial_lib.photocalib import PhotoCalib
from tutorial_lib.selection import CRITERIA, PRIMARY_PARTS, Selection
from tutorial_lib.widgets import (
    DEFAULT_FAINT,
    FLAG_CRITERIA,
    NO_TRUTH,
    SHORTCUT,
    PatchTables,
    SelectionExplorer,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ID = {"skymap": "discrete", "tract": 0, "patch": 4}
ALL_NAMES = (SHORTCUT, *FLAG_CRITERIA)


# --------------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------------
# ``butler`` (the simulated repository, built if DATA/ is missing or stale) comes from conftest.py.


@pytest.fixture(scope="module")
def tract_tables(butler):
    """The tables of every patch of tract 0, read once."""
    return SelectionExplorer.from_butler(butler, DATA_ID, patches="all").tables


@pytest.fixture
def explorer(tract_tables):
    ex = SelectionExplorer(tract_tables, tract=0, patch=4)
    yield ex
    ex.close()


def _expected(tables_by_patch, state) -> tuple[int, int, np.ndarray]:
    """(selected, total, keep) computed with numpy directly on the tables, for an explorer state."""
    keeps = []
    for tables in tables_by_patch:
        ref, forced = tables.ref, tables.forced["i"]
        cuts = {
            "deblended": np.asarray(ref["deblend_nChild"]) == 0,
            "patch_inner": np.asarray(ref["detect_isPatchInner"], dtype=bool),
            "tract_inner": np.asarray(ref["detect_isTractInner"], dtype=bool),
            "not_sky": ~np.asarray(ref["merge_peak_sky"], dtype=bool),
            "primary": np.asarray(ref["detect_isPrimary"], dtype=bool),
            "point_source": np.asarray(forced["base_ClassificationExtendedness_value"], dtype=float) < 0.5,
            "good_psf_flux": ~np.asarray(forced["base_PsfFlux_flag"], dtype=bool),
        }
        keep = np.ones(len(ref), dtype=bool)
        for name in ("point_source", "good_psf_flux"):
            if state[name]:
                keep &= cuts[name]
        if state["primary"]:
            keep &= cuts["primary"]
        else:
            for name in PRIMARY_PARTS:
                if state[name]:
                    keep &= cuts[name]
        if state["faint"] is not None:
            flux = np.asarray(forced["base_PsfFlux_instFlux"], dtype=float)
            flux = flux * tables.photo_calib["i"].getCalibrationMean()
            with np.errstate(divide="ignore", invalid="ignore"):
                mag = np.where(flux > 0, 31.4 - 2.5 * np.log10(flux), np.nan)
            keep &= mag <= state["faint"]
        keeps.append(keep)
    keep = np.concatenate(keeps)
    return int(keep.sum()), keep.size, keep


def _scope(explorer):
    tables = explorer.tables
    return list(tables.values()) if explorer.patch == "all" else [tables[explorer.patch]]


def _assert_matches(explorer):
    n, total, keep = _expected(_scope(explorer), explorer.state)
    assert (explorer.n_selected, explorer.n_total) == (n, total)
    assert explorer.count_text == f"{n:,} of {total:,} rows selected"
    assert f"selected: {n:,} of {total:,} rows" in repr(explorer)
    np.testing.assert_array_equal(explorer.mask, keep)


# --------------------------------------------------------------------------------------------------------
# Synthetic tables
# --------------------------------------------------------------------------------------------------------
def _synthetic(n=6, bands=("g", "r", "i"), flux=1000.0, **overrides) -> PatchTables:
    ids = np.arange(1, n + 1)
    ref = Table(
        {
            "id": ids,
            "deblend_nChild": np.zeros(n, dtype=np.int32),
            "detect_isPatchInner": np.ones(n, dtype=bool),
            "detect_isTractInner": np.ones(n, dtype=bool),
            "merge_peak_sky": np.zeros(n, dtype=bool),
            "detect_isPrimary": np.ones(n, dtype=bool),
        }
    )
    forced = {}
    for band in bands:
        forced[band] = Table(
            {
                "id": ids,
                "base_PsfFlux_instFlux": np.full(n, flux),
                "base_PsfFlux_instFluxErr": np.full(n, 10.0),
                "base_PsfFlux_flag": np.zeros(n, dtype=bool),
                "base_ClassificationExtendedness_value": np.zeros(n),
            }
        )
    for key, value in overrides.items():
        table, column = key.split("__")
        target = ref if table == "ref" else forced[table]
        target[column] = value
    calib = {b: PhotoCalib.from_zero_point(27.0) for b in bands}
    return PatchTables(ref, forced, calib, None)


# --------------------------------------------------------------------------------------------------------
# Counts against numpy
# --------------------------------------------------------------------------------------------------------
def test_initial_state_is_the_lesson_selection(explorer):
    assert explorer.criteria == ("primary", "point_source", "good_psf_flux")
    assert explorer.faint == DEFAULT_FAINT
    assert explorer.colour == "r-i"
    _assert_matches(explorer)
    text = repr(explorer)
    assert "criteria: primary (implies deblended, patch_inner, tract_inner, not_sky), point_source" in text
    assert "i <= 25.0" in text


@pytest.mark.parametrize("patch", [4, "all"])
def test_every_toggle_matches_numpy(explorer, patch):
    explorer.set(patch=patch)
    _assert_matches(explorer)
    for name in ("point_source", "good_psf_flux", "primary", *PRIMARY_PARTS, "point_source"):
        explorer.set(**{name: not explorer.state[name]})
        _assert_matches(explorer)
    for faint in (18.0, 22.3, 27.0):
        explorer.set(faint=faint)
        _assert_matches(explorer)
    explorer.set(faint=None)
    _assert_matches(explorer)
    assert "faint limit: none" in repr(explorer)


def test_funnel_agrees_with_selection_funnel(explorer, tract_tables):
    tables = tract_tables[4]
    sel = Selection(tables.ref, tables.forced, photo_calib=tables.photo_calib)
    expected = sel.funnel(["primary", "point_source", "good_psf_flux"])
    n_faint = int(np.count_nonzero(sel.mask() & (sel.magnitude("i") <= DEFAULT_FAINT)))
    funnel = explorer.funnel()
    assert list(funnel["criterion"]) == ["primary", "point_source", "good_psf_flux", "faint"]
    assert list(funnel["n_kept_cumulative"]) == [*expected["n_kept_cumulative"], n_faint]
    assert list(funnel["n_kept_alone"][:3]) == list(expected["n_kept_alone"][:3])
    assert funnel["n_kept_cumulative"][-1] == explorer.n_selected
    assert funnel.meta["n_total"] == explorer.n_total


def test_truth_counts_and_duplicates(explorer, tract_tables):
    explorer.set(patch="all", primary=False, patch_inner=False)
    n, _, keep = _expected(list(tract_tables.values()), explorer.state)
    truth = np.concatenate([np.asarray(t.truth["truth_type"]) for t in tract_tables.values()])[keep]
    ids = np.concatenate([np.asarray(t.truth["truth_id"]) for t in tract_tables.values()])[keep]
    counts = explorer.truth_counts
    for name in ("star", "galaxy", "sky", "blend"):
        assert counts[name] == int(np.count_nonzero(truth == name)), name
    uniq, mult = np.unique(ids[ids >= 0], return_counts=True)
    assert counts["duplicates"] == int(mult[mult > 1].sum()) > 0
    assert counts["duplicates"] == expected_patch_inner_duplicates(explorer)[0]
    explorer.set(patch_inner=True)
    assert explorer.truth_counts["duplicates"] == 0  # the patch inner regions tile the tract
    explorer.set(not_sky=False)
    assert explorer.truth_counts["sky"] == 0  # the sky objects are extended or faint: point_source keeps none
    explorer.set(point_source=False, faint=None)
    assert explorer.truth_counts["sky"] > 0
    assert "sky objects" in repr(explorer)


# --------------------------------------------------------------------------------------------------------
# The shortcut and the checkboxes
# --------------------------------------------------------------------------------------------------------
def test_shortcut_implies_its_parts(explorer):
    boxes = explorer.checkboxes
    assert set(boxes) == set(ALL_NAMES)
    for part in PRIMARY_PARTS:
        assert boxes[part].value and boxes[part].disabled
    with pytest.raises(ValueError, match="implied by the detect_isPrimary shortcut"):
        explorer.set(patch_inner=False)
    explorer.set(primary=False, patch_inner=False)  # the shortcut first, in one call
    assert not boxes["primary"].value
    assert not boxes["patch_inner"].value and not boxes["patch_inner"].disabled
    assert explorer.criteria == ("deblended", "tract_inner", "not_sky", "point_source", "good_psf_flux")
    explorer.set(primary=True)
    assert boxes["patch_inner"].value and boxes["patch_inner"].disabled
    explorer.set(primary=False)  # the part remembers the learner's choice
    assert not boxes["patch_inner"].value
    explorer.set(primary=True, patch_inner=True, not_sky=False)  # with primary=True: parts first, then it
    assert boxes["not_sky"].value and boxes["not_sky"].disabled
    assert explorer.criteria == ("primary", "point_source", "good_psf_flux")
    explorer.set(primary=False)
    assert boxes["patch_inner"].value and not boxes["not_sky"].value


def test_setting_a_part_to_its_own_value_under_the_shortcut_changes_nothing_and_is_accepted(explorer):
    """``set(**explorer.state)`` round-trips, whatever the history (a probe found it refused when primary was on)."""
    explorer.reset()
    before = repr(explorer)
    explorer.set(**explorer.state)
    explorer.set(primary=True, deblended=True)
    assert repr(explorer) == before
    explorer.set(primary=False, tract_inner=False)
    explorer.set(primary=True)
    explorer.set(**explorer.state)  # tract_inner=False under the shortcut: the learner's own choice, kept
    with pytest.raises(ValueError, match="implied by the detect_isPrimary shortcut"):
        explorer.set(tract_inner=True)  # a change the boxes could not show
    explorer.reset()


def test_every_enabled_checkbox_does_something(explorer):
    """Clicking (setting .value, as the browser does) any enabled box changes the applied criteria."""
    seen = set()
    for _ in range(3):
        for name, box in explorer.checkboxes.items():
            if box.disabled:
                continue
            before = explorer.criteria
            box.value = not box.value
            assert explorer.criteria != before, name
            assert explorer.state[name] == box.value
            _assert_matches(explorer)
            seen.add(name)
    assert seen == set(ALL_NAMES)


def test_disabled_box_changes_nothing(explorer):
    before = (explorer.criteria, explorer.n_selected)
    explorer.checkboxes["deblended"].value = False  # disabled: a browser could not do this
    assert (explorer.criteria, explorer.n_selected) == before


def test_explanation_of_the_last_toggle(explorer):
    explorer.set(point_source=False)
    assert CRITERIA["point_source"].description[:40] in explorer.view.explain.value
    # The rows the other criteria keep (all of them now) that the unticked criterion would remove.
    _, _, others = _expected(_scope(explorer), explorer.state)
    forced = explorer.tables[explorer.patch].forced["i"]
    extended = ~(np.asarray(forced["base_ClassificationExtendedness_value"], dtype=float) < 0.5)
    n_removed = int(np.count_nonzero(others & extended))
    assert 0 < n_removed < int(np.count_nonzero(extended))  # some extended rows are cut by the others already
    assert f"It would remove {n_removed:,} of the rows the other criteria keep." in explorer.view.explain.value
    explorer.set(faint=23.0)
    assert "Faint limit i ≤ 23.0" in explorer.view.explain.value


def test_colour_and_patch_choosers(explorer):
    explorer.view.colour_chooser.value = "g-r"
    assert explorer.colour == "g-r"
    assert explorer.figure.axes[0].get_xlabel() == "g \N{MINUS SIGN} r [mag]"
    explorer.view.patch_chooser.value = "all"
    assert explorer.patch == "all"
    assert explorer.n_total == sum(len(t.ref) for t in explorer.tables.values())
    _assert_matches(explorer)
    slider = explorer.view.slider
    slider.value = 21.5
    assert explorer.faint == 21.5
    _assert_matches(explorer)


# --------------------------------------------------------------------------------------------------------
# The figure
# --------------------------------------------------------------------------------------------------------
def test_figure_is_updated_in_place(explorer):
    fig = explorer.figure
    ax = fig.axes[0]
    points = explorer.view.points
    legend = [text.get_text() for found in ax.findobj(Legend) for text in found.get_texts()]
    assert legend == ["selected", "removed by the last criterion"]
    artists = (len(fig.axes), len(ax.get_children()))
    for change in ({"point_source": False}, {"patch": "all"}, {"primary": False}, {"colour": "g-r"}):
        explorer.set(**change)
        assert explorer.figure is fig and explorer.view.points is points and points in ax.get_children()
        assert (len(fig.axes), len(ax.get_children())) == artists
        mag, colour = explorer.cmd_data()
        keep = explorer.mask
        finite = np.isfinite(mag[keep]) & np.isfinite(colour[keep])
        offsets = points.get_offsets()
        assert len(offsets) == int(finite.sum())
        np.testing.assert_allclose(offsets[:, 1], mag[keep][finite])
        np.testing.assert_allclose(offsets[:, 0], colour[keep][finite])


def test_blitting_gives_the_same_pixels_as_a_full_draw(explorer):
    canvas = explorer.figure.canvas
    canvas.syncing_data_url = False
    canvas.draw()  # the browser's first draw: the background is saved
    for change in ({"point_source": False}, {"patch": "all"}, {"primary": False}, {"faint": 21.0}):
        explorer.set(**change)
        blitted = np.asarray(canvas.get_renderer().buffer_rgba()).copy()
        canvas.draw()
        full = np.asarray(canvas.get_renderer().buffer_rgba())
        assert np.array_equal(blitted, full), change


# --------------------------------------------------------------------------------------------------------
# Text repr and display
# --------------------------------------------------------------------------------------------------------
def test_repr_is_deterministic_and_is_the_text_plain(explorer, tract_tables):
    other = SelectionExplorer(tract_tables, tract=0, patch=4)
    try:
        assert repr(other) == repr(explorer)
        explorer.set(point_source=False)
        other.set(point_source=False)
        assert repr(other) == repr(explorer)
    finally:
        other.close()
    text = repr(explorer)
    assert "0x" not in text and "/" not in text.replace("r - i", "")
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"] == text
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id
    assert repr(explorer.widget) == text


def test_no_output_capture_widget(explorer):
    import ipywidgets

    def walk(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    assert not any(isinstance(w, ipywidgets.Output) for w in walk(explorer.widget))


# --------------------------------------------------------------------------------------------------------
# Messages instead of tracebacks
# --------------------------------------------------------------------------------------------------------
def test_empty_selection_shows_a_message():
    ex = SelectionExplorer(_synthetic(ref__detect_isPrimary=np.zeros(6, dtype=bool)))
    try:
        assert ex.n_selected == 0
        assert any("No rows pass" in m for m in ex.messages)
        assert "No rows pass" in ex.view.message.value
        assert len(ex.view.points.get_offsets()) == 0
        ex.set(primary=False)
        assert ex.n_selected == 6 and not any("No rows pass" in m for m in ex.messages)
    finally:
        ex.close()


def test_nan_magnitudes_show_a_message():
    flux = np.array([1000.0, -5.0, np.nan, 1000.0, 1000.0, 1000.0])
    ex = SelectionExplorer(_synthetic(r__base_PsfFlux_instFlux=flux), faint=None)
    try:
        assert ex.n_selected == 6
        assert any("2 selected rows without a finite i magnitude or r − i colour" in m for m in ex.messages)
        assert len(ex.view.points.get_offsets()) == 4
        ex.set(faint=25.0)  # NaN i magnitudes would fail the faint limit; here only r is NaN
        assert ex.n_selected == 6
    finally:
        ex.close()


def test_band_without_data_in_one_patch_shows_a_message():
    with_g, without_g = _synthetic(), _synthetic(bands=("r", "i"))
    without_g.notes.append("patch b has no g-band deepCoadd_forced_src")
    ex = SelectionExplorer({"a": with_g, "b": without_g}, bands=("g", "r", "i"), patch="b")
    try:
        assert ex.n_selected == 6
        assert ex.view.colour_chooser.options == (("r − i", "r-i"), ("g − r", "g-r"))  # g is in patch a
        ex.set(colour="g-r")
        assert ex.colour == "g-r"
        assert any("No data in band g" in m for m in ex.messages)
        assert "No data in band g" in ex.view.message.value
        assert len(ex.view.points.get_offsets()) == 0
    finally:
        ex.close()


def test_a_band_without_data_anywhere_is_not_offered_and_asking_for_it_is_a_message():
    """Real HSC data have no g band: the chooser offers r − i only, and g − r asked from Python is a message."""
    tables = _synthetic(bands=("r", "i"))
    tables.notes.append("patch table has no g-band deepCoadd_forced_src")
    ex = SelectionExplorer(tables, bands=("g", "r", "i"), colour="g-r")
    try:
        assert ex.view.colour_chooser.options == (("r − i", "r-i"),)
        assert ex.colour == "r-i" and any("g − r cannot be shown" in m for m in ex.messages)
        ex.set(faint=24.0)  # the notice is about the last call only
        assert not any("cannot be shown" in m for m in ex.messages)
        ex.set(colour="g-r", faint=25.0)  # never a traceback; the rest of the call is applied
        assert ex.colour == "r-i" and ex.faint == 25.0
        assert any("no g-band forced table is loaded; the CMD shows r − i" in m for m in ex.messages)
        assert "cannot be shown" in repr(ex) and "cannot be shown" in ex.view.message.value
        assert len(ex.view.points.get_offsets()) == 6
        with pytest.raises(ValueError, match="colour must be one of"):
            ex.set(colour="u-g")  # not a colour at all: still an error
    finally:
        ex.close()


def test_all_patches_with_one_patch_loaded_is_that_patch():
    ex = SelectionExplorer({7: _synthetic()})
    try:
        ex.set(patch="all", primary=False)
        assert ex.patch == 7 and ex.n_selected == 6
        assert any("Only patch 7 is loaded: patch='all' shows it." in m for m in ex.messages)
    finally:
        ex.close()


def test_gen2_forced_tables_are_matched_and_extendedness_comes_from_ref():
    """The real HSC layout: forced ids of their own, objectId links, extendedness only in deepCoadd_ref."""
    tables = _synthetic(n=6, bands=("r", "i"))
    extendedness = np.array([0.0, 1.0, 0.0, 0.0, np.nan, 0.0])
    tables.ref["base_ClassificationExtendedness_value"] = extendedness
    for table in tables.forced.values():
        table["objectId"] = table["id"]
        table["id"] = table["id"] + 1000
        table.remove_column("base_ClassificationExtendedness_value")
    tables.forced["i"]["base_PsfFlux_flag"][2] = True
    ex = SelectionExplorer(tables, bands=("r", "i"))
    try:
        assert ex.criteria == ("primary", "point_source", "good_psf_flux")
        np.testing.assert_array_equal(ex.mask, [True, False, False, True, False, True])
        assert any("matched to deepCoadd_ref through 'objectId'" in m for m in ex.messages)
        assert any("Point source (extendedness 0) uses deepCoadd_ref's" in m for m in ex.messages)
        assert not ex.has_truth
        assert ex.truth_counts["duplicates"] is NO_TRUTH and f"{ex.truth_counts['sky']}" == "n/a (no truth table)"
        assert not check_patch_inner_duplicates(ex.truth_counts["duplicates"], ex)
        assert "no truth table" in check_patch_inner_duplicates(0, ex).message
    finally:
        ex.close()


def test_reference_band_without_data_disables_its_criteria():
    tables = _synthetic(bands=("g", "r"))
    ex = SelectionExplorer(tables, bands=("g", "r", "i"))
    try:
        for name in ("point_source", "good_psf_flux"):
            assert ex.checkboxes[name].disabled and not ex.checkboxes[name].value
            assert name not in ex.criteria
        assert ex.view.slider.disabled
        assert ex.n_selected == 6  # the faint limit cannot be applied: it is not
        assert any("No data in band i" in m for m in ex.messages)
        with pytest.raises(ValueError, match="not available"):
            ex.set(point_source=True)
    finally:
        ex.close()


def test_missing_column_disables_the_criterion():
    tables = _synthetic()
    tables.ref.remove_column("detect_isPrimary")
    ex = SelectionExplorer(tables)
    try:
        assert ex.checkboxes["primary"].disabled
        assert ex.criteria == (*PRIMARY_PARTS, "point_source", "good_psf_flux")
        assert any("Primary (detect_isPrimary) is not available" in m for m in ex.messages)
    finally:
        ex.close()


def test_from_tables_without_truth():
    tables = _synthetic()
    ex = SelectionExplorer.from_tables(tables.ref, tables.forced, tables.photo_calib)
    try:
        assert not ex.has_truth
        assert set(ex.truth_counts) >= {"star", "galaxy", "sky", "blend", "duplicates"}
        assert all(value is NO_TRUTH and not value for value in ex.truth_counts.values())
        assert "truth: no truth table" in repr(ex)
        assert "No truth table" in ex.view.truth.value
    finally:
        ex.close()


def test_callback_errors_become_a_message_and_a_logged_traceback(explorer, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(explorer.view.state, "apply", boom)
    with caplog.at_level("ERROR", logger="tutorial_lib.explorer"):
        explorer.checkboxes["point_source"].value = False  # no exception escapes the callback
    assert "simulated failure" in explorer.view.message.value
    (record,) = caplog.records
    assert record.exc_info is not None and "simulated failure" in str(record.exc_info[1])
    assert explorer.checkboxes["point_source"].value == explorer.state["point_source"]  # the box shows the state
    monkeypatch.undo()
    explorer.reset()


def test_the_slider_shows_no_number_without_a_faint_limit(explorer):
    """It showed 'i <= 23.0' while the state had no limit (a probe's finding)."""
    slider = explorer.view.slider
    explorer.set(faint=23.0)
    assert (slider.description, slider.readout, slider.value) == ("faint limit: i ≤", True, 23.0)
    explorer.set(faint=None)
    assert (slider.description, slider.readout, slider.disabled) == ("no faint limit", False, True)
    explorer.reset()
    assert slider.description == "faint limit: i ≤" and slider.readout and not slider.disabled


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"pointsource": False}, "unknown setting"),
        ({"colour": "u-g"}, "colour must be one of"),
        ({"patch": 42}, "not loaded"),
        ({"faint": 35.0}, "faint must be between"),
        ({"point_source": "yes"}, "True or False"),
        ({"faint": 20.0, "patch": "all", "patch_inner": False}, "implied by the detect_isPrimary shortcut"),
    ],
)
def test_set_refuses_bad_values(explorer, changes, match):
    before = repr(explorer)
    with pytest.raises(ValueError, match=match):
        explorer.set(**changes)
    assert repr(explorer) == before


def test_reset(explorer):
    before = repr(explorer)
    explorer.set(primary=False, patch_inner=False, point_source=False, faint=20.0, colour="g-r")
    explorer.reset()
    assert repr(explorer).splitlines()[:4] == before.splitlines()[:4]


# --------------------------------------------------------------------------------------------------------
# Lesson 6's self-check
# --------------------------------------------------------------------------------------------------------
def test_check_patch_inner_duplicates(explorer):
    n_rows, n_objects = expected_patch_inner_duplicates(explorer)
    assert n_rows > n_objects > 0
    assert check_patch_inner_duplicates(n_rows, explorer).correct
    result = check_patch_inner_duplicates(n_objects, explorer)
    assert not result.correct and "count every row" in result.message
    assert "0 is what the lesson's selection keeps" in check_patch_inner_duplicates(0, explorer).message
    assert not check_patch_inner_duplicates("many", explorer).correct
    assert not check_patch_inner_duplicates(n_rows + 0.5, explorer).correct
    hint = check_patch_inner_duplicates(n_rows + 1, explorer).message
    assert 'patch="all"' in hint and "primary=False" in hint
    explorer.set(patch="all", primary=False, patch_inner=False)
    assert explorer.truth_counts["duplicates"] == n_rows
    # The two boxes unticked, but on one patch: 0 duplicates, and the hint names the patch, not the boxes.
    explorer.set(patch=explorer.patches[0])
    result = check_patch_inner_duplicates(explorer.truth_counts["duplicates"], explorer)
    assert explorer.truth_counts["duplicates"] == 0 and not result.correct
    assert 'patch="all"' in result.message and "untick" not in result.message, result.message
    explorer.set(patch="all")


def test_a_truth_table_in_another_row_order_is_not_used(tract_tables):
    tables = tract_tables[4]
    reversed_truth = PatchTables(tables.ref, tables.forced, tables.photo_calib, tables.truth[::-1])
    ex = SelectionExplorer({4: reversed_truth}, tract=0, patch=4)
    try:
        assert not ex.has_truth
        assert any("not row-for-row with deepCoadd_ref" in message for message in ex.messages)
    finally:
        ex.close()
    right = SelectionExplorer({4: tables}, tract=0, patch=4)
    try:
        assert right.has_truth and right.truth_counts["star"] > 0
    finally:
        right.close()


def test_from_tables_wants_the_forced_tables_by_band(tract_tables):
    tables = tract_tables[4]
    with pytest.raises(TypeError, match="not one Table"):
        SelectionExplorer.from_tables(tables.ref, tables.forced["i"], tables.photo_calib)


def test_from_butler_takes_one_patch_id(butler):
    ex = SelectionExplorer.from_butler(butler, {"skymap": "discrete", "tract": 0}, patches=5)
    try:
        assert list(ex.tables) == [5]
    finally:
        ex.close()


def test_faint_limit_as_a_quantity_in_mag(explorer):
    import astropy.units as u

    explorer.set(faint=23.0 * u.mag)
    assert explorer.state["faint"] == 23.0
    with pytest.raises(ValueError, match="faint must be a magnitude, got unit 'nJy'"):
        explorer.set(faint=23.0 * u.nJy)


def test_check_needs_every_patch():
    tables = _synthetic()
    tables.truth = Table({"truth_type": ["star"] * 6, "truth_id": np.arange(6)})
    ex = SelectionExplorer(tables)
    try:
        assert "every patch" in check_patch_inner_duplicates(3, ex).message
    finally:
        ex.close()


def test_importing_tutorial_lib_does_not_switch_matplotlib_to_widget_figures():
    """Importing ipympl's backend turns every figure of an IPython kernel into a widget (and changes the stored
    outputs of the inline lessons), so only building an explorer may import it."""
    import subprocess
    import sys

    code = (
        "import sys, tutorial_lib.checks, tutorial_lib.widgets, tutorial_lib.plots\n"
        "assert 'ipympl' not in sys.modules, sorted(m for m in sys.modules if 'ipympl' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_explorers_png_encoder_round_trips():
    """The canvas's own PNG writer (unfiltered rows) gives back the pixels it was given."""
    import io

    from PIL import Image

    from tutorial_lib.explorer.view import _png

    rgba = np.random.default_rng(3).integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    rgba[2:4] = 0
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(_png(rgba)))), rgba)


def test_pixel_points_paint_their_footprint_where_the_points_are():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from tutorial_lib.explorer.raster import FOOTPRINTS, PixelPoints

    fig = Figure(figsize=(1.0, 1.0), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_axis_off()
    points = PixelPoints(ax, "black", alpha=1.0, marker="o", label="p")
    ax.add_artist(points)
    points.set_offsets(np.array([[50.5, 50.5], [10.5, 80.5], [500.0, 50.0]]))  # the last is outside
    canvas.draw()
    dark = np.asarray(canvas.buffer_rgba())[::-1, :, 0] < 128  # rows from the bottom, as the data
    assert np.count_nonzero(dark) == 2 * np.count_nonzero(FOOTPRINTS["o"])
    assert dark[50, 50] and dark[80, 10] and dark[51, 50] and not dark[52, 52] and not dark[20, 80]


def test_one_criterion_as_a_string_is_that_criterion():
    tables = _synthetic()
    ex = SelectionExplorer(tables, criteria="point_source")
    try:
        assert ex.criteria == ("point_source",)
    finally:
        ex.close()
