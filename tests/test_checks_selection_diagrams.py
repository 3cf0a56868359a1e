"""The self-checks of lessons 3, 4, 5 and 7: a right answer passes, and the usual wrong answers fail with a
reason that names the mistake. The data are small hand-made tables whose answers are worked out here."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import MaskedColumn, Table

from tutorial_lib.checks import CheckResult
from tutorial_lib.checks import diagrams as checks_diagrams
from tutorial_lib.checks import selection as checks_selection
from tutorial_lib.plots import stellar_locus_g_r

T, F = True, False


def assert_right(result: CheckResult) -> None:
    assert isinstance(result, CheckResult)
    assert result.correct, result.message
    assert repr(result).startswith("Correct: ")
    assert "\n" not in result.message


def assert_wrong(result: CheckResult, *words: str) -> None:
    assert isinstance(result, CheckResult)
    assert not result.correct, f"accepted a wrong answer: {result.message}"
    assert repr(result).startswith("Not yet: ")
    assert "\n" not in result.message
    for word in words:
        assert word.lower() in result.message.lower(), f"{word!r} not in {result.message!r}"


# --- check_primary_parts ----------------------------------------------------------------------------------
# row:        0  1  2  3  4  5  6  7
N_CHILD = [0, 2, 0, 0, 0, 0, 0, 3]
PATCH_INNER = [T, T, F, T, T, T, T, F]
TRACT_INNER = [T, T, T, F, T, T, T, T]
SKY = [F, F, F, F, T, F, F, F]
EXPECTED_PRIMARY = np.array([T, F, F, F, F, T, T, F])


@pytest.fixture
def ref() -> Table:
    table = Table()
    table["id"] = np.arange(1, 9, dtype=np.int64)
    table["deblend_nChild"] = np.array(N_CHILD, dtype=np.int32)
    table["detect_isPatchInner"] = PATCH_INNER
    table["detect_isTractInner"] = TRACT_INNER
    table["merge_peak_sky"] = SKY
    table["detect_isPrimary"] = EXPECTED_PRIMARY
    return table


def test_primary_parts_right(ref):
    mask = (
        (ref["deblend_nChild"] == 0) & ref["detect_isPatchInner"] & ref["detect_isTractInner"] & ~ref["merge_peak_sky"]
    )
    result = checks_selection.check_primary_parts(mask, ref)
    assert_right(result)
    assert "3 of 8 rows" in result.message


@pytest.mark.parametrize("inverted", ["deblended", "patch_inner", "tract_inner", "not_sky"])
def test_primary_parts_names_a_part_written_the_wrong_way_round(ref, inverted):
    """Not inverting merge_peak_sky was told 'Add the missing part(s): not_sky' (a probe's finding)."""
    parts = {
        "deblended": np.asarray(ref["deblend_nChild"]) == 0,
        "patch_inner": np.asarray(ref["detect_isPatchInner"]),
        "tract_inner": np.asarray(ref["detect_isTractInner"]),
        "not_sky": ~np.asarray(ref["merge_peak_sky"]),
    }
    mask = np.logical_and.reduce([~v if k == inverted else v for k, v in parts.items()])
    assert_wrong(checks_selection.check_primary_parts(mask, ref), f"your {inverted} part is the wrong way round")


def test_primary_parts_accepts_lists_and_zero_one(ref):
    assert_right(checks_selection.check_primary_parts(EXPECTED_PRIMARY.tolist(), ref))
    assert_right(checks_selection.check_primary_parts(EXPECTED_PRIMARY.astype(int), ref))


@pytest.mark.parametrize(
    ("left_out", "words"),
    [
        ("merge_peak_sky", ["1 sky objects", "not_sky"]),
        ("deblend_nChild", ["1 blend parents", "deblended"]),
        ("detect_isPatchInner", ["1 outside the patch inner region", "patch_inner"]),
        ("detect_isTractInner", ["1 outside the tract inner region", "tract_inner"]),
    ],
)
def test_primary_parts_names_the_forgotten_part(ref, left_out, words):
    parts = {
        "deblend_nChild": np.asarray(ref["deblend_nChild"]) == 0,
        "detect_isPatchInner": np.asarray(ref["detect_isPatchInner"]),
        "detect_isTractInner": np.asarray(ref["detect_isTractInner"]),
        "merge_peak_sky": ~np.asarray(ref["merge_peak_sky"]),
    }
    mask = np.ones(len(ref), dtype=bool)
    for name, part in parts.items():
        if name != left_out:
            mask &= part
    assert_wrong(checks_selection.check_primary_parts(mask, ref), "it keeps", *words)


def test_primary_parts_refuses_a_parent_with_one_child(ref):
    """``deblend_nChild <= 1`` keeps a parent whose one child is also in the table: wrong, whatever its count."""
    ref.add_row({"id": 9, "deblend_nChild": 1, "detect_isPatchInner": True, "detect_isTractInner": True})
    inner = np.asarray(ref["detect_isPatchInner"]) & np.asarray(ref["detect_isTractInner"])
    loose = (np.asarray(ref["deblend_nChild"]) <= 1) & inner & ~np.asarray(ref["merge_peak_sky"])
    assert_wrong(checks_selection.check_primary_parts(loose, ref), "it keeps", "1 blend parents", "deblended")
    assert_right(checks_selection.check_primary_parts(np.append(EXPECTED_PRIMARY, False), ref))


def test_primary_parts_too_strict_and_empty(ref):
    too_strict = EXPECTED_PRIMARY.copy()
    too_strict[0] = False
    assert_wrong(checks_selection.check_primary_parts(too_strict, ref), "drops 1 row", "stricter")
    assert_wrong(checks_selection.check_primary_parts(np.zeros(8, bool), ref), "keeps no row")


def test_primary_parts_bad_shapes_and_types(ref):
    assert_wrong(checks_selection.check_primary_parts(EXPECTED_PRIMARY[:5], ref), "5 entries", "8 rows")
    assert_wrong(checks_selection.check_primary_parts(np.arange(8.0), ref), "true/false")
    assert_wrong(checks_selection.check_primary_parts(..., ref), "replace the ...")
    assert_wrong(checks_selection.check_primary_parts(None, ref), "replace the ...")


# --- check_duplicate_objects -------------------------------------------------------------------------------
# Objects 10 and 11 are seen twice, 12 four times (a patch corner), 13 once; -1 rows are sky objects and
# parents. Distinct objects: 4; duplicated: 3; their rows: 8; surplus rows: 5.
TRUTH_IDS = np.array([10, 10, 11, 11, 12, 12, 12, 12, 13, -1, -1, -1])


def test_duplicates_right():
    result = checks_selection.check_duplicate_objects(3, TRUTH_IDS)
    assert_right(result)
    assert "3 of the 4 true objects" in result.message
    assert_right(checks_selection.check_duplicate_objects(np.int64(3), MaskedColumn(TRUTH_IDS)))
    assert_right(checks_selection.check_duplicate_objects(3.0, TRUTH_IDS.tolist()))


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (4, ["truth_id = -1"]),
        (5, ["surplus rows"]),
        (8, ["counts the rows"]),
        (2, ["exactly twice", "four"]),
        (7, ["np.unique"]),
    ],
)
def test_duplicates_name_the_mistake(answer, words):
    assert_wrong(checks_selection.check_duplicate_objects(answer, TRUTH_IDS), *words)


def test_duplicates_distinct_objects_when_no_minus_one():
    ids = np.array([10, 10, 11, 12, 13])  # 4 distinct, 1 duplicated
    assert_wrong(checks_selection.check_duplicate_objects(4, ids), "distinct true objects")


def test_duplicates_not_a_count():
    assert_wrong(checks_selection.check_duplicate_objects(2.5, TRUTH_IDS), "whole number")
    assert_wrong(checks_selection.check_duplicate_objects("three", TRUTH_IDS), "a number")
    assert_wrong(checks_selection.check_duplicate_objects([3, 4], TRUTH_IDS), "single number")
    assert_wrong(checks_selection.check_duplicate_objects(float("nan"), TRUTH_IDS), "nan")
    assert_wrong(checks_selection.check_duplicate_objects(True, TRUTH_IDS), "a number")
    assert_wrong(checks_selection.check_duplicate_objects(..., TRUTH_IDS), "replace the ...")


# --- check_extendedness ------------------------------------------------------------------------------------
# HSC rule: 0 where 0.985 * CModel < PSF. Row 2 is between the ratio-1 and ratio-0.985 rules (CModel = 1.01 PSF);
# row 4 has a NaN CModel; row 5 is flagged.
PSF = [100.0, 100.0, 100.0, 50.0, 80.0, 60.0]
CMODEL = [100.5, 150.0, 101.0, 49.0, np.nan, 60.0]
EXT_FLAG = [F, F, F, F, T, T]
EXPECTED_EXT = np.array([0.0, 1.0, 0.0, 0.0, np.nan, np.nan])


@pytest.fixture
def forced() -> Table:
    table = Table()
    table["base_PsfFlux_instFlux"] = PSF
    table["modelfit_CModel_instFlux"] = CMODEL
    table["base_ClassificationExtendedness_flag"] = EXT_FLAG
    return table


def test_extendedness_right_with_nan_on_flagged_rows(forced):
    result = checks_selection.check_extendedness(EXPECTED_EXT, forced)
    assert_right(result)
    assert "NaN on the 2 flagged rows" in result.message


def test_extendedness_without_nan_on_flagged_rows_is_not_yet_right(forced):
    answer = np.where(0.985 * np.array(CMODEL) < np.array(PSF), 0.0, 1.0)  # 1 on the NaN row, 0 on row 5
    assert_wrong(checks_selection.check_extendedness(answer, forced), "right on all 4 measured rows", "must be NaN")


def test_extendedness_booleans_cannot_hold_nan(forced):
    is_extended = np.array([F, T, F, F, T, F])
    assert_wrong(checks_selection.check_extendedness(is_extended, forced), "True/False", "NaN")
    table = Table({"base_PsfFlux_instFlux": [100.0, 100.0], "modelfit_CModel_instFlux": [99.0, 150.0]})
    assert_right(checks_selection.check_extendedness(np.array([F, T]), table))  # nothing flagged: booleans do


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ([1.0, 0.0, 1.0, 1.0, np.nan, np.nan], ["swapped 0 and 1"]),
        ([1.0, 1.0, 1.0, 0.0, np.nan, np.nan], ["left out fluxratio"]),
    ],
)
def test_extendedness_names_the_mistake(forced, answer, words):
    assert_wrong(checks_selection.check_extendedness(np.array(answer), forced), *words)


def test_extendedness_fluxratio_on_the_wrong_side():
    table = Table({"base_PsfFlux_instFlux": [100.0, 100.0, 100.0], "modelfit_CModel_instFlux": [99.0, 98.0, 120.0]})
    assert_right(checks_selection.check_extendedness(np.array([0.0, 0.0, 1.0]), table))
    # cmodel < 0.985 * psf puts the ratio on the PSF side: 99 < 98.5 is False, so row 0 becomes 1
    assert_wrong(checks_selection.check_extendedness(np.array([1.0, 0.0, 1.0]), table), "psf side")


def test_extendedness_bad_answers(forced):
    assert_wrong(checks_selection.check_extendedness(EXPECTED_EXT[:3], forced), "6 rows")
    assert_wrong(checks_selection.check_extendedness(np.full(6, np.nan), forced), "nan on 4")
    assert_wrong(checks_selection.check_extendedness(np.array([0.0, 2.0, 0.0, 0.0, 0.0, 0.0]), forced), "other values")
    assert_wrong(checks_selection.check_extendedness(np.array(list("abcdef")), forced), "dtype")
    assert_wrong(checks_selection.check_extendedness(..., forced), "replace the ...")
    other = np.array([0.0, 0.0, 0.0, 1.0, np.nan, np.nan])  # two rows wrong, no recognised mistake
    assert_wrong(checks_selection.check_extendedness(other, forced), "differ from the rule on 2 of 4")


# --- check_purity_completeness -----------------------------------------------------------------------------
# 10 objects: 4 true stars, 5 point sources, 3 of them stars -> purity 3/5 = 0.6, completeness 3/4 = 0.75.
IS_POINT = np.array([T, T, T, T, T, F, F, F, F, F])
IS_STAR = np.array([T, T, T, F, F, T, F, F, F, F])


def test_purity_completeness_right():
    result = checks_selection.check_purity_completeness((0.6, 0.75), IS_POINT, IS_STAR)
    assert_right(result)
    assert "purity 0.600" in result.message and "completeness 0.750" in result.message
    assert_right(checks_selection.check_purity_completeness(np.array([0.6004, 0.7496]), IS_POINT, IS_STAR))
    # Three decimals off by more than rounding: another sample's values (lesson 4 without detect_isPrimary).
    assert not checks_selection.check_purity_completeness((0.603, 0.748), IS_POINT, IS_STAR).correct


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ((0.75, 0.6), ["swapped"]),
        ((60.0, 75.0), ["percentages"]),
        ((60.4, 74.6), ["percentages"]),
        ((0.4, 0.75), ["contamination"]),
        ((0.6, 0.25), ["lost"]),
        ((0.5, 0.75), ["purity = n(point source and true star) / n(point source)"]),
        ((0.6, 0.5), ["completeness = n(point source and true star) / n(true star)"]),
    ],
)
def test_purity_completeness_names_the_mistake(answer, words):
    assert_wrong(checks_selection.check_purity_completeness(answer, IS_POINT, IS_STAR), *words)


def test_purity_completeness_bad_answers():
    assert_wrong(checks_selection.check_purity_completeness(0.6, IS_POINT, IS_STAR), "pair")
    assert_wrong(checks_selection.check_purity_completeness((0.6, 0.7, 0.8), IS_POINT, IS_STAR), "pair")
    assert_wrong(checks_selection.check_purity_completeness(..., IS_POINT, IS_STAR), "replace the ...")
    assert_wrong(checks_selection.check_purity_completeness((0.6, ...), IS_POINT, IS_STAR), "replace the ...")
    assert_wrong(checks_selection.check_purity_completeness((np.nan, 0.75), IS_POINT, IS_STAR), "nan")
    with pytest.raises(ValueError, match="differ in length"):
        checks_selection.check_purity_completeness((0.6, 0.75), IS_POINT, IS_STAR[:5])


# --- check_tract_catalog -----------------------------------------------------------------------------------
def _ids(tract: int, x: int, y: int, n: int) -> np.ndarray:
    return ((((tract << 5) + x) << 5) + y) << 32 | np.arange(1, n + 1, dtype=np.int64)


def _tract_catalog(tract: int = 0, skip=(), extra_rows=0) -> Table:
    ids = [_ids(tract, x, y, 3) for y in range(3) for x in range(3) if (x, y) not in skip]
    table = Table({"id": np.concatenate(ids)})
    table["detect_isPrimary"] = np.ones(len(table), dtype=bool)
    table["truth_id"] = np.arange(len(table))
    return table


def test_tract_catalog_right():
    assert _ids(0, 1, 1, 1)[0] == 141733920768 + 1  # the lesson's patch "1,1" of tract 0 (HSC mapper)
    result = checks_selection.check_tract_catalog(_tract_catalog())
    assert_right(result)
    assert "27 rows from all 9 patches of tract 0" in result.message
    assert_right(checks_selection.check_tract_catalog(_tract_catalog(tract=1), tract=1))
    assert_right(checks_selection.check_tract_catalog(Table({"id": _tract_catalog()["id"]})))


def test_tract_catalog_missing_patch_and_wrong_tract():
    assert_wrong(checks_selection.check_tract_catalog(_tract_catalog(skip=[(2, 1)])), "1 patch", "2,1 (patch 5)")
    assert_wrong(checks_selection.check_tract_catalog(_tract_catalog(tract=1)), "tract(s) [1]")


def test_tract_catalog_duplicates_and_not_primary():
    from astropy.table import vstack

    catalog = _tract_catalog()
    assert_wrong(checks_selection.check_tract_catalog(vstack([catalog, catalog[:3]])), "3 ids", "twice")
    catalog["detect_isPrimary"][4] = False
    assert_wrong(checks_selection.check_tract_catalog(catalog), "1 of your 27 rows are not primary")
    catalog = _tract_catalog()
    catalog["truth_id"][5] = catalog["truth_id"][6]
    assert_wrong(checks_selection.check_tract_catalog(catalog), "true objects appear more than once")


def test_tract_catalog_bad_answers():
    assert_wrong(checks_selection.check_tract_catalog(np.arange(5)), "astropy table")
    assert_wrong(checks_selection.check_tract_catalog(Table({"id": np.array([], dtype=np.int64)})), "empty")
    assert_wrong(checks_selection.check_tract_catalog(...), "replace the ...")


# --- check_galaxy_fraction ---------------------------------------------------------------------------------
# Faint (> 23): rows 3-7 (5 objects), galaxies 4, 5, 6 -> 0.6. Bright: rows 0-2, galaxy row 2 -> 1/3.
# All finite: 4 galaxies of 8 -> 0.5; faint galaxies / all galaxies = 3/4. Row 8 has no magnitude.
MAG = np.array([18.0, 20.0, 22.5, 23.5, 24.0, 24.5, 25.0, 23.1, np.nan])
IS_GALAXY = np.array([F, F, T, F, T, T, T, F, T])


def test_galaxy_fraction_right():
    result = checks_diagrams.check_galaxy_fraction(0.6, MAG, IS_GALAXY, fainter_than=23)
    assert_right(result)
    assert "3 of the 5 objects fainter than 23" in result.message
    assert_right(checks_diagrams.check_galaxy_fraction(np.float32(0.6), MaskedColumn(MAG), IS_GALAXY))


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (60.0, ["percentage"]),
        (1 / 3, ["brighter than 23"]),
        (0.4, ["fraction of stars"]),
        (0.5, ["whole sample"]),
        (0.75, ["fraction of all galaxies"]),
        (0.9, ["mag > 23"]),
    ],
)
def test_galaxy_fraction_names_the_mistake(answer, words):
    assert_wrong(checks_diagrams.check_galaxy_fraction(answer, MAG, IS_GALAXY, fainter_than=23), *words)


def test_galaxy_fraction_does_not_count_an_object_at_the_limit():
    """'Fainter than 23' is mag > 23: a galaxy at exactly 23.0 is not in it (0.6 stays right, 4/6 is wrong)."""
    mag, is_galaxy = np.append(MAG, 23.0), np.append(IS_GALAXY, T)
    assert_right(checks_diagrams.check_galaxy_fraction(0.6, mag, is_galaxy, fainter_than=23))
    assert_wrong(checks_diagrams.check_galaxy_fraction(4 / 6, mag, is_galaxy, fainter_than=23))


def test_galaxy_fraction_bad_inputs():
    assert_wrong(checks_diagrams.check_galaxy_fraction(..., MAG, IS_GALAXY), "replace the ...")
    assert_wrong(checks_diagrams.check_galaxy_fraction("0.6", MAG, IS_GALAXY), "a number")
    with pytest.raises(ValueError, match="differ in length"):
        checks_diagrams.check_galaxy_fraction(0.6, MAG, IS_GALAXY[:3])
    with pytest.raises(ValueError, match="fainter than 30"):
        checks_diagrams.check_galaxy_fraction(0.6, MAG, IS_GALAXY, fainter_than=30)


# --- check_locus_offset ------------------------------------------------------------------------------------
R_I = np.array([0.1, 0.3, 0.6, 1.2, np.nan, 0.4])
G_R = np.array([0.3, 0.8, 1.5, 1.2, 0.5, np.nan])


def test_locus_offset_right():
    answer = G_R - stellar_locus_g_r(R_I)
    result = checks_diagrams.check_locus_offset(answer, G_R, R_I)
    assert_right(result)
    assert "all 4 objects" in result.message
    # NaN or anything where a colour is missing is not compared
    answer[4] = 0.0
    assert_right(checks_diagrams.check_locus_offset(answer, G_R, R_I))


def test_locus_offset_system_is_read_in_any_case_and_an_unknown_one_is_refused():
    from tutorial_lib.photometry import stellar_locus_g_r_hsc

    answer = G_R - stellar_locus_g_r_hsc(R_I)
    assert_right(checks_diagrams.check_locus_offset(answer, G_R, R_I, system="HSC"))
    with pytest.raises(ValueError, match="'sdss' or 'hsc', got 'vega'"):
        checks_diagrams.check_locus_offset(answer, G_R, R_I, system="vega")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: stellar_locus_g_r(R_I) - G_R, ["sign is flipped"]),
        (lambda: np.abs(G_R - stellar_locus_g_r(R_I)), ["absolute value"]),
        (lambda: R_I - stellar_locus_g_r(G_R), ["swapped"]),
        (lambda: G_R - R_I, ["offsets differ"]),
    ],
)
def test_locus_offset_names_the_mistake(make, words):
    assert_wrong(checks_diagrams.check_locus_offset(make(), G_R, R_I), *words)


def test_locus_offset_bad_answers():
    assert_wrong(checks_diagrams.check_locus_offset(np.zeros(3), G_R, R_I), "6 objects")
    assert_wrong(checks_diagrams.check_locus_offset(np.full(6, np.nan), G_R, R_I), "nan")
    assert_wrong(checks_diagrams.check_locus_offset(np.array(list("abcdef")), G_R, R_I), "dtype")
    assert_wrong(checks_diagrams.check_locus_offset(..., G_R, R_I), "replace the ...")


# --- check_median_offset -----------------------------------------------------------------------------------
# Differences: 0.00, 0.01, 0.02, 0.03, 0.50 (an outlier), NaN -> median 0.02, mean 0.112.
MEASURED = np.array([20.0, 20.01, 20.02, 20.03, 20.5, np.nan])
REFERENCE = np.full(6, 20.0)


def test_median_offset_right():
    result = checks_diagrams.check_median_offset(0.02, MEASURED, REFERENCE)
    assert_right(result)
    assert "median of 5 differences is +0.020 mag" in result.message
    assert_right(checks_diagrams.check_median_offset(np.float64(0.0215), MEASURED, REFERENCE))


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (-0.02, ["sign is flipped"]),
        (0.112, ["mean"]),
        (float("nan"), ["nanmedian"]),
        (0.3, ["not the median"]),
    ],
)
def test_median_offset_names_the_mistake(answer, words):
    assert_wrong(checks_diagrams.check_median_offset(answer, MEASURED, REFERENCE), *words)


def test_median_offset_bad_inputs():
    assert_wrong(checks_diagrams.check_median_offset(..., MEASURED, REFERENCE), "replace the ...")
    assert_wrong(checks_diagrams.check_median_offset(np.array([0.02, 0.03]), MEASURED, REFERENCE), "single")
    with pytest.raises(ValueError, match="differ in length"):
        checks_diagrams.check_median_offset(0.02, MEASURED, REFERENCE[:2])
    with pytest.raises(ValueError, match="no object"):
        checks_diagrams.check_median_offset(0.0, np.full(2, np.nan), np.zeros(2))
