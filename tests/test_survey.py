"""The simulated survey (data_fetch.survey), its HATS catalog, and the histogram-backed survey explorer."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import astropy.units as u
import dask
import lsdb
import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_SURVEY_AREA
from matplotlib.legend import Legend

from data_fetch import survey as builder
from data_fetch.dp1_layout import dp1_columns
from tutorial_lib.explorer.view import density_rgba
from tutorial_lib.photometry import AB_MAGNITUDE_OF_ONE_NANOJANSKY
from tutorial_lib.survey import (
    SURVEY_CRITERIA,
    SurveyExplorerState,
    compute_survey_histograms,
    count_rows,
    pack_bitmask,
    passing_bitmasks,
    select,
    selection_expression,
)
from tutorial_lib.survey.histograms import _groups_by_rows, map_and_sum, partition_file_rows
from tutorial_lib.survey.jit_cache import HATS_JIT_MODULES

AREA = SMALL_SURVEY_AREA  # the small survey of conftest: four tracts of 0.01 deg^2


pytestmark = pytest.mark.usefixtures("quiet_lsdb_warnings")


@pytest.fixture(scope="session")
def survey_path(small_survey):
    """The session's small survey (conftest), with its margin."""
    return small_survey


@pytest.fixture(scope="session")
def catalog(survey_path):
    return lsdb.open_catalog(survey_path, columns="all")


@pytest.fixture(scope="session")
def rows(catalog):
    return catalog.compute().sort_values("objectId").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------
# The rows
# --------------------------------------------------------------------------------------------------------
def _strip(seed=3):
    box = builder.tract_boxes(AREA)[1]
    return builder._strip_rows(seed, 1, 4, box)


def test_strip_is_deterministic_per_seed():
    a, b, c = _strip(3), _strip(3), _strip(4)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) != len(c) or not np.array_equal(a["coord_ra"], c["coord_ra"])


def test_rows_follow_the_dp1_layout_plus_primary_and_truth():
    frame = _strip()
    layout = [c.name for c in dp1_columns(builder.BANDS)]
    assert list(frame.columns[: len(layout)]) == layout
    assert list(frame.columns[len(layout) :]) == [
        "detect_isPrimary",
        "truth_id",
        "truth_type",
        "truth_mag_g",
        "truth_mag_r",
        "truth_mag_i",
    ]
    for column in dp1_columns(builder.BANDS):
        if column.dtype != "str":
            assert frame[column.name].dtype == np.dtype(column.dtype), column.name
    schema = builder.survey_schema()
    assert schema.field("i_psfFlux").metadata[b"unit"] == b"nJy"
    assert b"DP0.2" in schema.field("detect_isPrimary").metadata[b"description"]


def test_primary_parents_and_truth_are_consistent():
    frame = _strip()
    parents = frame["deblend_nChild"] > 0
    assert parents.sum() > 0
    np.testing.assert_array_equal(frame["detect_isPrimary"], ~parents)
    assert (frame.loc[parents, "truth_type"] == builder.PARENT).all()
    assert (frame.loc[parents, "truth_id"] == -1).all()
    assert (frame.loc[~parents, "truth_type"].isin([builder.STAR, builder.GALAXY])).all()
    # Every child names an existing parent, and each parent has exactly two children.
    children = frame.loc[frame["detect_fromBlend"], "parentObjectId"]
    assert set(children) == set(frame.loc[parents, "objectId"])
    assert (children.value_counts() == 2).all()
    assert frame["objectId"].is_unique


def test_magnitudes_are_the_ab_magnitudes_of_the_nJy_fluxes():
    frame = _strip()
    flux = frame["i_psfFlux"].to_numpy(float)
    good = flux > 0
    expected = AB_MAGNITUDE_OF_ONE_NANOJANSKY - 2.5 * np.log10(flux[good])
    np.testing.assert_allclose(frame["i_psfMag"].to_numpy(float)[good], expected, atol=1e-4)
    # Detected at 5 sigma in some band.
    snr = np.nanmax(
        [frame[f"{b}_psfFlux"].to_numpy(float) / frame[f"{b}_psfFluxErr"].to_numpy(float) for b in builder.BANDS],
        axis=0,
    )
    children = frame["deblend_nChild"] == 0
    assert np.nanmin(snr[children & np.isfinite(snr)]) >= 5.0


def test_stars_brighter_than_23_are_point_sources_far_more_often_than_galaxies():
    # Ten strips (about 50 true stars with i < 23; one strip holds too few for a fraction): 86 % of them and no
    # galaxy of that brightness are point sources.
    frame = pd.concat([_strip(seed) for seed in range(3, 13)])
    bright = frame["i_psfMag"].to_numpy(float) < 23
    point = (frame["refExtendedness"] < 0.5).to_numpy() & bright
    stars = (frame["truth_type"] == builder.STAR).to_numpy()
    assert np.count_nonzero(stars & bright) >= 40
    assert point[stars & bright].mean() > 0.8 > 0.05 > point[~stars & bright].mean()


def test_tract_layout_covers_the_area():
    boxes = builder.tract_boxes(20.0)
    assert len(boxes) == 9
    assert sum(builder._box_area(b) for b in boxes) == pytest.approx(20.25)
    assert len(builder.tract_boxes(0.04)) == 4
    with pytest.raises(builder.SurveyError, match="positive"):
        builder.tract_boxes(0)


def test_the_largest_area_allowed_stays_on_the_sky_without_overlap():
    boxes = builder.tract_boxes(builder.MAX_AREA_DEG2)
    assert sum(builder._box_area(b) for b in boxes) >= builder.MAX_AREA_DEG2
    ra = np.array([b[0] for b in boxes])
    dec = np.array([b[1] for b in boxes])
    assert ra.min() >= 0 and ra.max() < 360 and dec.min() >= -90 and dec.max() <= 85
    for row in np.unique(dec[:, 0]):  # tracts of one row of Dec touch end to end, never overlap
        edges = np.sort(ra[dec[:, 0] == row], axis=0)
        assert (edges[1:, 0] >= edges[:-1, 1] - 1e-9).all()


@pytest.mark.parametrize("area", [float("inf"), float("nan"), -1.0, builder.MAX_AREA_DEG2 * 1.01, 1e9])
def test_an_area_off_the_layout_is_refused_at_once(area):
    with pytest.raises(builder.SurveyError, match="at most 10,000"):
        builder.tract_boxes(area)


# --------------------------------------------------------------------------------------------------------
# Criteria and bitmasks
# --------------------------------------------------------------------------------------------------------
def test_bitmask_packs_one_bit_per_criterion():
    frame = pd.DataFrame(
        {
            "detect_isPrimary": [True, True, False, True],
            "refExtendedness": [0.0, 1.0, 0.0, np.nan],
            "i_psfFlux_flag": [False, False, True, False],
            "i_pixelFlags_saturatedCenter": [False, True, False, False],
        }
    )
    names = list(SURVEY_CRITERIA)
    np.testing.assert_array_equal(pack_bitmask(frame, names), [0b1111, 0b0101, 0b1010, 0b1101])
    np.testing.assert_array_equal(passing_bitmasks(["primary", "good_psf_flux"], names), [5, 7, 13, 15])
    assert len(passing_bitmasks([], names)) == 16
    with pytest.raises(ValueError, match="not one of the packed"):
        passing_bitmasks(["faint"], names)
    assert selection_expression(["primary"], 24.5) == "(detect_isPrimary) and (i_psfMag <= 24.5)"


@pytest.mark.parametrize("ticked, faint", [(("primary", "point_source", "good_psf_flux"), 24.0), ((), 21.5)])
def test_select_keeps_the_rows_of_lsdb_query(catalog, ticked, faint):
    expression = selection_expression(ticked, faint)
    by_query = catalog.query(expression).compute(progress_bar=False)
    by_select = select(catalog, ticked, faint).compute(progress_bar=False)
    assert 0 < len(by_select) < count_rows(catalog)
    pd.testing.assert_frame_equal(pd.DataFrame(by_select), pd.DataFrame(by_query))


def test_one_criterion_given_as_a_string_is_that_criterion(catalog):
    assert selection_expression("primary") == selection_expression(["primary"]) == "(detect_isPrimary)"
    assert count_rows(select(catalog, "primary")) == count_rows(catalog.query("detect_isPrimary")) > 0


@pytest.mark.parametrize(
    "faint, band, message",
    [(float("nan"), "i", "finite AB magnitude"), ("faint", "i", "AB magnitude such as"), (24.0, "q", "Rubin's bands")],
)
def test_a_bad_faint_limit_or_band_is_refused_when_the_selection_is_written(catalog, faint, band, message):
    with pytest.raises(ValueError, match=message):
        select(catalog, ["primary"], faint, band=band)


def test_a_catalog_opened_without_the_selection_columns_gets_the_call_that_opens_it_right(survey_path):
    narrow = lsdb.open_catalog(survey_path, columns=["i_psfMag"])
    with pytest.raises(ValueError, match=r"opened without detect_isPrimary, refExtendedness\b") as error:
        select(narrow, ["primary", "point_source"], 24.0)
    columns = ast.literal_eval(str(error.value).split("columns=")[1][:-1])  # the list the message gives
    reopened = lsdb.open_catalog(survey_path, columns=columns)
    assert count_rows(select(reopened, ["primary", "point_source"], 24.0)) == count_rows(
        reopened.query(selection_expression(["primary", "point_source"], 24.0))
    )
    with pytest.raises(ValueError, match="has no column z_psfMag"):
        select(narrow, [], 24.0, band="z")


def test_the_explorer_histograms_refuse_unknown_repeated_or_unread_criteria(survey_path, catalog):
    with pytest.raises(ValueError, match="unknown survey criterion 'bright'"):
        compute_survey_histograms(catalog, ["bright"])
    with pytest.raises(ValueError, match="primary is listed twice"):
        compute_survey_histograms(catalog, ["primary", "point_source", "primary"])
    narrow = lsdb.open_catalog(survey_path, columns=["i_psfMag", "r_psfMag"])
    with pytest.raises(ValueError, match="opened without detect_isPrimary, g_psfMag, truth_type, which the explorer"):
        compute_survey_histograms(narrow, ["primary"])


def test_map_and_sum_adds_every_partition(catalog):
    (total,) = dask.compute(map_and_sum(catalog, lambda frame: np.array([len(frame), 1])))
    assert total.tolist() == [len(catalog.compute(progress_bar=False)), catalog.npartitions]


def test_map_and_sum_gives_each_task_of_the_cluster_a_batch_of_partitions(catalog):
    # Each task reads, selects, maps and adds `split_every` partitions itself: the cluster's graph has one task
    # per batch (with no dependency: the reads are inside it) and a tree of sums, not a task per partition.
    selected = select(catalog, ["primary"])
    assert catalog.npartitions == 2
    expected = len(selected.compute(progress_bar=False))
    for split_every, n_batches, n_tasks in ((2, 1, 1), (1, 2, 3)):
        result = map_and_sum(selected, len, split_every=split_every)
        graph = dict(result.__dask_graph__())
        assert len([key for key, task in graph.items() if not task.dependencies]) == n_batches
        assert len(graph) == n_tasks
        (total,) = dask.compute(result)
        assert int(np.sum(total)) == expected
    with pytest.raises(ValueError, match="split_every must be .* not 0"):
        map_and_sum(selected, len, split_every=0)


def test_map_and_sum_groups_partitions_into_tasks_of_about_equal_rows(catalog):
    rows = partition_file_rows(catalog)  # from the catalog's _metadata, without reading a partition
    assert rows == [len(catalog.get_partition(p.order, p.pixel).compute()) for p in catalog.get_healpix_pixels()]
    assert partition_file_rows(select(catalog, ["primary"])) == rows  # the files a selection reads
    expected = len(catalog.compute(progress_bar=False))
    for rows_per_task, n_batches in ((1, 2), (10**9, 1)):
        result = map_and_sum(catalog, len, rows_per_task=rows_per_task)
        graph = dict(result.__dask_graph__())
        assert len([key for key, task in graph.items() if not task.dependencies]) == n_batches
        assert int(np.sum(dask.compute(result)[0])) == expected
    # consecutive partitions, cut where the rows before are nearest to equal shares
    assert _groups_by_rows([300, 10, 10, 300, 300, 10], 500) == [[0, 1, 2], [3, 4, 5]]
    assert _groups_by_rows([100] * 10, 250) == [[0, 1, 2], [3, 4], [5, 6, 7], [8, 9]]  # 4 tasks of 250 rows, about
    assert _groups_by_rows([5, 5], 1) == [[0], [1]]  # never more tasks than partitions
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValueError, match="rows_per_task must be a whole number of rows, 1 or more"):
            map_and_sum(catalog, len, rows_per_task=bad)


def test_a_damaged_metadata_file_only_loses_the_grouping_by_rows(tmp_path, survey_path):
    """_metadata is optional in HATS: missing, empty or cut short, the rows per task fall back to 8 partitions."""
    copy = tmp_path / "S"
    shutil.copytree(survey_path, copy)
    metadata = copy / "survey" / "dataset" / "_metadata"
    expected = None
    for damage in ("cut", "empty", "missing"):
        if damage == "cut":
            metadata.write_bytes(metadata.read_bytes()[:1000])
        elif damage == "empty":
            metadata.write_bytes(b"")
        else:
            metadata.unlink()
        catalog = lsdb.open_catalog(copy, columns=["i_psfMag"])
        assert partition_file_rows(catalog) is None
        total = count_rows(catalog)
        assert expected is None or total == expected
        expected = total
    assert expected == builder.read_marker(survey_path)["n_rows"]


# --------------------------------------------------------------------------------------------------------
# The explorer's state
# --------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def state(catalog):
    return SurveyExplorerState.from_catalog(catalog)


SELECTIONS = [
    ({"primary": True, "point_source": True, "good_psf_flux": True, "not_saturated": False}, 25.0),
    ({"primary": True, "point_source": True, "good_psf_flux": True, "not_saturated": True}, 23.7),
    ({"primary": False, "point_source": False, "good_psf_flux": False, "not_saturated": False}, None),
    ({"primary": False, "point_source": True, "good_psf_flux": False, "not_saturated": True}, 18.4),
    ({"primary": True, "point_source": False, "good_psf_flux": False, "not_saturated": False}, 26.9),
]


@pytest.mark.parametrize("ticked, faint", SELECTIONS)
def test_explorer_counts_equal_a_direct_lsdb_computation(state, catalog, rows, ticked, faint):
    state.set(**ticked, faint=faint)
    expression = state.expression
    direct = count_rows(catalog.query(expression)) if expression else count_rows(catalog)
    assert state.n_selected == direct
    selected = rows.query(expression) if expression else rows
    assert len(selected) == direct
    expected_truth = selected["truth_type"].value_counts()
    assert state.truth_counts == {
        "star": int(expected_truth.get(0, 0)),
        "galaxy": int(expected_truth.get(1, 0)),
        "blend parent": int(expected_truth.get(2, 0)),
    }
    assert state.sky_counts().sum() == direct
    # The CMD image holds the selected rows with a finite magnitude and colour inside its bins.
    colour = selected["r_psfMag"].astype(float) - selected["i_psfMag"].astype(float)
    mag = selected["i_psfMag"].astype(float)
    inside = colour.between(state.spec.colour_edges[0], state.spec.colour_edges[-1], inclusive="left") & mag.between(
        state.spec.mag_edges[0], state.spec.mag_edges[-1], inclusive="right"
    )
    assert state.cmd_image().sum() == inside.sum()


@pytest.mark.parametrize("primary", [True, False])  # without primary nor point_source, blend parents are selected
def test_purity_and_completeness_by_magnitude_equal_a_count_of_the_rows(state, rows, primary):
    state.set(primary=primary, point_source=primary, good_psf_flux=True, not_saturated=False, faint=24.0)
    table = state.purity_completeness(step=0.5)
    assert table["bright"].unit == u.mag and table["faint"].unit == u.mag
    assert table["bright"][0] == state.spec.faint_edges[0] and table["faint"][-1] == 24.0
    mag = rows["i_psfMag"].astype(float)
    is_star = rows["truth_type"] == 0
    selected = rows.eval(state.expression).to_numpy(dtype=bool, na_value=False)
    is_star = is_star.to_numpy(dtype=bool, na_value=False)
    mag = mag.to_numpy(dtype=float, na_value=np.nan)
    for row in table:
        in_bin = (mag > row["bright"]) & (mag <= row["faint"])
        assert row["true_stars"] == np.count_nonzero(in_bin & is_star)
        assert row["selected"] == np.count_nonzero(in_bin & selected)
        assert row["selected_stars"] == np.count_nonzero(in_bin & selected & is_star)
    usable = table["selected"] > 0
    assert usable.sum() >= 5
    parents = rows["truth_type"].to_numpy(dtype=float, na_value=np.nan) == 2
    assert np.count_nonzero(selected & parents & (mag <= 24.0)) > 0 or primary
    np.testing.assert_allclose(table["purity"][usable], table["selected_stars"][usable] / table["selected"][usable])
    with pytest.raises(ValueError, match="multiple of 0.1 mag"):
        state.purity_completeness(step=0.25)
    state.reset()


def test_a_toggle_reads_no_row(state, monkeypatch):
    def no_compute(*args, **kwargs):
        raise AssertionError("a toggle must not compute anything on the cluster")

    monkeypatch.setattr(dask, "compute", no_compute)
    before = state.n_selected
    state.set(point_source="point_source" not in state.criteria)
    assert state.n_selected != before
    state.set(faint=21.0, colour="g-r")
    assert state.cmd_image().shape == (len(state.spec.colour_edges) - 1, len(state.spec.mag_edges) - 1)
    state.reset()


def test_state_refuses_bad_settings_and_changes_nothing(state):
    state.reset()
    before = repr(state)
    with pytest.raises(ValueError, match="unknown setting 'extended'"):
        state.set(primary=False, extended=True)
    with pytest.raises(ValueError, match="between 18.0 and 27.0"):
        state.set(faint=30)
    with pytest.raises(ValueError, match="colour"):
        state.set(colour="u-g")
    assert repr(state) == before
    assert "criteria: primary, point_source, good_psf_flux; faint limit: i <= 25.0" in before


def test_a_row_exactly_at_the_faint_limit_is_drawn_as_well_as_counted(state, rows):
    """CMD magnitude bins hold (lo, hi], as the faint bins do: a probe found such rows counted but not drawn."""
    from tutorial_lib.survey.histograms import SurveyHistograms, _cumulate, partition_histograms

    frame = rows.copy()
    frame.loc[frame.index[:25], "i_psfMag"] = np.float32(24.0)
    frame.loc[frame.index[:25], "r_psfMag"] = np.float32(24.5)
    histograms = SurveyHistograms(state.spec, _cumulate(partition_histograms(frame, state.spec)), 1)
    edge = SurveyExplorerState(histograms, criteria=(), faint=24.0)
    selected = frame[frame["i_psfMag"].astype(float) <= 24.0]
    colour = selected["r_psfMag"].astype(float) - selected["i_psfMag"].astype(float)
    drawable = colour.between(state.spec.colour_edges[0], state.spec.colour_edges[-1], inclusive="left")
    assert edge.n_selected == len(selected)
    assert edge.cmd_image().sum() == drawable.sum() > 25


def test_unknown_truth_codes_are_their_own_class_not_stars(state, rows):
    from tutorial_lib.survey.histograms import SurveyHistograms, _cumulate, partition_histograms

    frame = rows.copy()
    frame["truth_type"] = frame["truth_type"].astype("Int64")
    frame.loc[frame.index[:3], "truth_type"] = [-1, 7, None]
    histograms = SurveyHistograms(state.spec, _cumulate(partition_histograms(frame, state.spec)), 1)
    counts = SurveyExplorerState(histograms, criteria=(), faint=None).truth_counts
    expected = frame["truth_type"].iloc[3:].value_counts()
    assert counts == {"star": expected[0], "galaxy": expected[1], "blend parent": expected[2], "other": 3}


def test_reset_gives_the_state_of_a_new_explorer(state):
    fresh = SurveyExplorerState(state.histograms)
    state.set(point_source=False, faint=21.0, colour="g-r")
    state.reset()
    assert state.frame.explanation == fresh.frame.explanation
    assert repr(state) == repr(fresh)


@pytest.mark.parametrize("faint, edge", [(18.05, 18.1), (18.55, 18.6), (20.75, 20.8), (24.04, 24.0)])
def test_the_faint_limit_is_rounded_as_the_patch_explorer_rounds_it(state, faint, edge):
    from tutorial_lib.explorer.state import check_faint

    state.set(faint=faint)
    assert state.faint == edge == check_faint(faint)
    state.reset()


def test_a_search_outside_the_survey_counts_no_row_and_the_explorer_says_why(catalog):
    outside = catalog.cone_search(ra=200.0, dec=40.0, radius_arcsec=300)
    assert outside.npartitions == 0
    assert count_rows(outside) == 0
    with pytest.raises(ValueError, match="no partitions, so there is nothing to explore"):
        SurveyExplorerState.from_catalog(outside)


def test_the_galaxy_self_check_counts_the_rows_as_the_exercise_asks(catalog, rows):
    """The exercise's answer, counted on the rows with numpy, not with the check's own helpers; off by one is wrong."""
    from tutorial_lib.checks.survey import check_survey_galaxies

    def column(name, fill):
        return rows[name].to_numpy(dtype=float if fill is np.nan else bool, na_value=fill)

    with np.errstate(invalid="ignore"):
        kept = column("detect_isPrimary", False) & (column("refExtendedness", np.nan) < 0.5)
        kept &= ~column("i_psfFlux_flag", True) & (column("i_psfMag", np.nan) <= 24.0)
    galaxies = int(np.count_nonzero(kept & (column("truth_type", np.nan) == 1)))
    assert 0 < galaxies < int(np.count_nonzero(kept))
    assert check_survey_galaxies(galaxies, catalog, faint=24.0)
    for wrong in (galaxies - 1, galaxies + 1):
        assert not check_survey_galaxies(wrong, catalog, faint=24.0)


@pytest.mark.parametrize("offset", [0.9, -0.1])
def test_the_galaxy_self_check_wants_a_whole_number(catalog, offset):
    """336.9 was cut to 336 and judged right (a probe's finding)."""
    from tutorial_lib.checks.survey import check_survey_galaxies, expected_survey_galaxies

    galaxies, _ = expected_survey_galaxies(catalog, 24.0)
    assert check_survey_galaxies(galaxies, catalog, faint=24.0)
    result = check_survey_galaxies(galaxies + offset, catalog, faint=24.0)
    assert not result and "whole number" in result.message
    assert not check_survey_galaxies(str(galaxies), catalog, faint=24.0)


def test_one_criterion_as_a_string_and_color_are_taken_as_the_patch_explorer_takes_them(state):
    """criteria="primary" was read letter by letter ("unknown criterion 'p'"), color= was unknown (a probe)."""
    one = SurveyExplorerState(state.histograms, criteria="primary")
    assert one.criteria == ("primary",)
    one.set(color="g-r")
    assert one.colour == "g-r"


def test_funnel_counts_fall_cut_by_cut(state, catalog):
    state.reset()
    funnel = state.funnel()
    counts = [n for _, n in funnel]
    assert counts == sorted(counts, reverse=True)
    assert funnel[1] == ("primary", count_rows(catalog.query("detect_isPrimary")))
    assert funnel[-1][1] == state.n_selected


def test_density_colours_are_logarithmic_and_empty_bins_transparent():
    from matplotlib import colormaps

    from tutorial_lib.plots import DENSITY_CMAP

    lut = colormaps[DENSITY_CMAP](np.linspace(0, 1, 256), bytes=True)
    rgba = density_rgba(np.array([[0, 1, 10, 100]]))
    assert rgba.dtype == np.uint8 and rgba.shape == (1, 4, 4)
    assert rgba[0, 0, 3] == 0 and (rgba[0, 1:, 3] == 255).all()
    np.testing.assert_array_equal(rgba[0, 1], lut[0])  # 1 count: the bottom of the scale
    np.testing.assert_array_equal(rgba[0, 2], lut[127])  # 10 of 100: half way on a log scale
    np.testing.assert_array_equal(rgba[0, 3], lut[255])


def test_the_lesson_explorer_view_draws_the_survey_state_as_a_density_image(state):
    from tutorial_lib.survey import SurveyExplorer

    state.reset()
    explorer = SurveyExplorer(state)
    try:
        explorer.set(point_source=False)
        view = explorer._view
        assert f"<b>{state.n_selected:,}</b> of {state.n_total:,} rows selected" in view.count.value
        assert not view.checkboxes["point_source"].value and view.checkboxes["primary"].value
        assert view._image is not None
        np.testing.assert_array_equal(view._image.get_array(), density_rgba(state.cmd_image().T))
        assert "Point source (refExtendedness 0) off" in view.explain.value
        assert repr(explorer) == repr(state)
        assert view.ax.get_legend() is None and not view.ax.findobj(Legend)  # no points, so no points' legend
        # The funnel names the cuts as the checkboxes and the slider do, as lesson 6's does.
        labels = [label for label, _, _ in state.frame.funnel]
        assert labels == [SURVEY_CRITERIA[name].label for name in state.criteria] + [f"i ≤ {state.faint:.1f}"]
        assert all(label in view.funnel.value for label in labels[:-1])
    finally:
        explorer.close()
        state.reset()


def test_every_hats_module_that_numba_compiles_is_cached():
    """keep_compiled_code covers every module of the installed hats that uses numba's JIT."""
    import hats

    root = Path(hats.__file__).parent
    jitted = {
        ".".join(("hats", *path.relative_to(root).with_suffix("").parts))
        for path in root.rglob("*.py")
        if re.search(r"^\s*@(numba\.)?n?jit\b", path.read_text(encoding="utf-8"), re.MULTILINE)
    }
    assert jitted == set(HATS_JIT_MODULES)


_FILTER_ONCE = """
import json
import numpy as np
from tutorial_lib.survey.jit_cache import keep_compiled_code
cached = keep_compiled_code()
from hats.pixel_tree.moc_filter import perform_filter_by_moc as f
mask = f(np.array([[0, 4], [8, 12]], dtype=np.int64), np.array([[2, 3]], dtype=np.uint64))
print(json.dumps([cached, mask.tolist(), sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values())]))
"""


def test_a_second_process_loads_the_compiled_code_instead_of_compiling(tmp_path):
    """The first process compiles hats' function and saves it (a cache miss); the next one loads it (a hit)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def run() -> list:
        done = subprocess.run([sys.executable, "-c", _FILTER_ONCE], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.splitlines()[-1])

    n_functions = len(HATS_JIT_MODULES)
    first = run()
    assert first[0] >= n_functions and first[1:] == [[True, False], 0, 1]
    assert any(tmp_path.rglob("*perform_filter_by_moc*.nbi"))
    assert run()[1:] == [[True, False], 1, 0]
