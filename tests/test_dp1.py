"""The lesson on a DP1-style Object table: its cuts, the adapter to the 2018 layout, and lesson 9's self-checks."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from tutorial_lib import dp1, selection
from tutorial_lib.checks import todays_catalogs as checks_today
from tutorial_lib.widgets import SelectionExplorer

LESSON = {"skymap": "discrete", "tract": 0, "patch": 4}


@pytest.fixture(scope="module")
def objects(butler):
    return butler.get("object", skymap="discrete", tract=0, collections="tutorial_dp1")


@pytest.fixture(scope="module")
def object_truth(butler):
    return butler.get("object_truth", skymap="discrete", tract=0, collections="tutorial_dp1")


@pytest.fixture(scope="module")
def patch4(objects):
    return objects[objects["patch"] == 4]


def test_dp1_selection_equals_the_2018_recipe_on_the_same_patch(butler, patch4):
    ref = butler.get("deepCoadd_ref", LESSON)
    forced = {b: butler.get("deepCoadd_forced_src", LESSON, band=b) for b in "gri"}
    calib = {b: butler.get("deepCoadd_calexp.photoCalib", LESSON, band=b) for b in "gri"}
    sel = selection.Selection(ref, forced, photo_calib=calib)
    keep_2018 = sel.mask() & selection.faint_cut(sel.magnitude("i"), 25.0)
    keep_dp1 = dp1.lesson_selection(patch4)
    assert np.count_nonzero(keep_dp1) == np.count_nonzero(keep_2018) == 1518
    assert set(np.asarray(ref["id"])[keep_2018]) == set(np.asarray(patch4["objectId"])[keep_dp1])


def test_psf_flag_in_every_band_removes_the_r_flagged_rows(patch4):
    counts = [np.count_nonzero(dp1.lesson_selection(patch4, flag_bands=b)) for b in ("i", ["r", "i"], ["g", "r", "i"])]
    assert counts == [1518, 1506, 1491]


def test_adapter_drives_selection_magnitudes_and_the_explorer(patch4, objects, object_truth):
    ref, forced, calib = dp1.as_lesson_tables(patch4)
    sel = selection.Selection(ref, forced, photo_calib=calib)
    assert sel.check_primary().consistent
    mags = sel.magnitude("i")
    finite = np.isfinite(mags)
    np.testing.assert_allclose(mags[finite], np.asarray(patch4["i_psfMag"], dtype=float)[finite], atol=2e-5)
    explorer = SelectionExplorer(dp1.tables_by_patch(objects, object_truth), tract=0, patch=4)
    assert "selected: 1,518 of 5,569 rows" in str(explorer)
    assert "0 sky objects, 0 blend parents, 0 duplicate rows" in str(explorer)


def test_masked_values_fail_the_cuts_as_they_would_as_nan(patch4):
    from astropy.table import Table

    masked = Table(patch4, masked=True, copy=True)
    hidden = np.flatnonzero(np.asarray(patch4["refExtendedness"]) == 0.0)[:40]  # point sources
    masked["refExtendedness"].mask[hidden] = True
    masked["i_psfMag"].mask[hidden[:10]] = True
    as_nan = patch4.copy()
    as_nan["refExtendedness"][hidden] = np.nan
    as_nan["i_psfMag"][hidden[:10]] = np.nan
    assert np.count_nonzero(dp1.point_source(masked)) == np.count_nonzero(dp1.point_source(patch4)) - 40
    np.testing.assert_array_equal(dp1.lesson_selection(masked), dp1.lesson_selection(as_nan))


def test_missing_columns_say_what_table_is_expected(patch4):
    with pytest.raises(KeyError, match="DP1 Object table"):
        dp1.point_source(patch4["objectId", "coord_ra"])


def test_checks_accept_the_answer_and_name_the_usual_mistakes(butler, patch4):
    scarlet = butler.get("deepCoadd_ref", LESSON, collections="tutorial_scarlet")
    right = ((np.asarray(scarlet["parent"]) == 0) & (np.asarray(scarlet["deblend_nPeaks"]) == 1)) | (
        (np.asarray(scarlet["deblend_parentNChild"]) > 1) & (np.asarray(scarlet["deblend_nPeaks"]) == 1)
    )
    assert checks_today.check_scarlet_deblended(right, scarlet)
    old_rule = checks_today.check_scarlet_deblended(np.asarray(scarlet["deblend_nChild"]) == 0, scarlet)
    assert not old_rule and "meas_deblender" in old_rule.message
    assert not checks_today.check_scarlet_deblended(..., scarlet)
    assert checks_today.check_dp1_selection(dp1.lesson_selection(patch4), patch4)
    no_limit = checks_today.check_dp1_selection(dp1.lesson_selection(patch4, faint=None), patch4)
    assert not no_limit and "faint limit" in no_limit.message
    all_bands = checks_today.check_dp1_selection(dp1.lesson_selection(patch4, flag_bands=["g", "r", "i"]), patch4)
    assert not all_bands and "every band" in all_bands.message
    assert not checks_today.check_dp1_selection(np.ones(3, dtype=bool), patch4)


def test_the_adapter_reads_coordinates_in_their_own_unit(objects):
    """DP1 gives degrees; a table in radians (a probe's) was taken as degrees and came out near RA 5.6 deg."""
    import astropy.units as u

    ref, _, _ = dp1.as_lesson_tables(objects)
    in_radians = objects.copy()
    in_radians["coord_ra"] = (np.asarray(objects["coord_ra"]) * u.deg).to(u.rad)
    in_radians["coord_dec"] = (np.asarray(objects["coord_dec"]) * u.deg).to(u.rad)
    again, _, _ = dp1.as_lesson_tables(in_radians)
    np.testing.assert_allclose(again["coord_ra"], ref["coord_ra"], rtol=1e-12)
    np.testing.assert_allclose(again["coord_dec"], ref["coord_dec"], rtol=1e-12)


@pytest.mark.parametrize("faint", [float("nan"), [24.0, 25.0]])
def test_the_dp1_selection_refuses_a_faint_limit_that_is_not_one_magnitude(objects, faint):
    with pytest.raises(ValueError, match="faint"):
        dp1.lesson_selection(objects, faint=faint)


def test_the_dp1_selection_takes_a_faint_limit_in_mag(objects):
    import astropy.units as u

    assert np.array_equal(dp1.lesson_selection(objects, faint=25 * u.mag), dp1.lesson_selection(objects, faint=25.0))


def test_a_masked_psf_flux_flag_counts_as_set_and_drops_the_row(patch4):
    kept = np.flatnonzero(dp1.lesson_selection(patch4))[:5]
    assert kept.size == 5
    masked = Table(patch4, masked=True, copy=True)
    masked["i_psfFlux_flag"].mask[kept] = True
    assert not np.any(dp1.good_psf_flux(masked)[kept])
    assert not np.any(dp1.lesson_selection(masked)[kept])
    _, forced, _ = dp1.as_lesson_tables(masked)
    assert np.all(np.asarray(forced["i"]["base_PsfFlux_flag"])[kept])


def test_the_adapter_fills_the_cmodel_error_from_the_error_column(patch4):
    _, forced, _ = dp1.as_lesson_tables(patch4)
    for band in "gri":
        flux = np.asarray(patch4[f"{band}_cModelFlux"], dtype=float)
        err = np.asarray(patch4[f"{band}_cModelFluxErr"], dtype=float)
        assert np.count_nonzero(np.isfinite(err) & (err != flux)) > 0
        np.testing.assert_array_equal(np.asarray(forced[band]["modelfit_CModel_instFluxErr"], dtype=float), err)
        np.testing.assert_array_equal(np.asarray(forced[band]["modelfit_CModel_instFlux"], dtype=float), flux)


def test_the_dp1_check_says_wrong_when_one_row_is_flipped(patch4):
    right = dp1.lesson_selection(patch4)
    assert checks_today.check_dp1_selection(right, patch4)
    for row in (0, int(np.flatnonzero(right)[0]), len(right) - 1):
        flipped = right.copy()
        flipped[row] = ~flipped[row]
        result = checks_today.check_dp1_selection(flipped, patch4)
        assert not result
        assert "1 rows differ" in result.message
