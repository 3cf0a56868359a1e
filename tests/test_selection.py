"""Tests of tutorial_lib.selection on small hand-made tables whose answers are worked out by hand.

The reference table has ten objects (ids of tract 0, patch 1,1):

====  =======  =====  =====  ===  =======  ==================  =========
row   nChild   patch  tract  sky  primary  i extendedness      i flag
====  =======  =====  =====  ===  =======  ==================  =========
0     0        T      T      F    T        0                   F
1     2        T      T      F    F        1   (a parent)      F
2     0        F      T      F    F        0                   F
3     0        T      F      F    F        0                   F
4     0        T      T      T    F        NaN (sky object)    T
5     0        T      T      F    T        1   (a galaxy)      F
6     0        T      T      F    T        NaN                 F
7     0        T      T      F    T        0                   T
8     0        T      T      F    T        0                   F
9     3        F      F      F    F        1                   F
====  =======  =====  =====  ===  =======  ==================  =========
"""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Column, MaskedColumn, QTable, Table

from tutorial_lib.photocalib import PhotoCalib
from tutorial_lib.selection import (
    CRITERIA,
    LESSON_CRITERIA,
    LESSON_FUNNEL,
    PRIMARY_PARTS,
    MissingColumnError,
    PrimaryCheck,
    RowMismatchError,
    Selection,
    SelectionUnitsError,
    deblended,
    faint_cut,
    funnel_counts,
    good_psf_flux,
    not_sky,
    patch_inner,
    point_source,
    primary,
    tract_inner,
)

T, F = True, False
NAN = np.nan
IDS = 141733920768 + np.arange(1, 11, dtype=np.int64)  # tract 0, patch 1,1, n = 1..10

N_CHILD = [0, 2, 0, 0, 0, 0, 0, 0, 0, 3]
PATCH_INNER = [T, T, F, T, T, T, T, T, T, F]
TRACT_INNER = [T, T, T, F, T, T, T, T, T, F]
SKY = [F, F, F, F, T, F, F, F, F, F]
IS_PRIMARY = [T, F, F, F, F, T, T, T, T, F]

EXTENDEDNESS = {
    "i": [0, 1, 0, 0, NAN, 1, NAN, 0, 0, 1],
    "r": [0, 0, 1, 0, NAN, 1, 0, 0, 1, 1],
    "g": [0, 1, 0, 1, 0, 1, 0, 0, 0, 1],
}
PSF_FLAG = {
    "i": [F, F, F, F, T, F, F, T, F, F],
    "r": [F, F, F, F, F, F, F, F, T, F],
    "g": [F] * 10,
}
# i band, counts; with zero point 27: mag = 27 - 2.5 log10(instFlux)
I_INST_FLUX = [1000.0, -5.0, NAN, 0.0, 100.0, 10**1.6, 10.0, 1e5, 1.0, 10**1.4]
I_MAG = [19.5, NAN, NAN, NAN, 22.0, 23.0, 24.5, 14.5, 27.0, 23.5]
I_INST_FLUX_ERR = [10.0, 5.0, 1.0, 0.0, 10.0, 10.0, 1.0, 100.0, 0.0, NAN]
# S/N:             100   -1    NaN  0/0  10    3.98  10   1000   1/0  NaN


def rows(mask) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask)]


def make_ref() -> Table:
    ref = Table()
    ref["id"] = IDS
    ref["parent"] = np.zeros(10, dtype=np.int64)
    ref["deblend_nChild"] = np.array(N_CHILD, dtype=np.int32)
    ref["detect_isPatchInner"] = PATCH_INNER
    ref["detect_isTractInner"] = TRACT_INNER
    ref["merge_peak_sky"] = SKY
    ref["detect_isPrimary"] = IS_PRIMARY
    return ref


def make_forced(band: str) -> Table:
    forced = Table()
    forced["id"] = IDS
    forced["deblend_nChild"] = np.array(N_CHILD, dtype=np.int32)
    forced["base_ClassificationExtendedness_value"] = np.array(EXTENDEDNESS[band], dtype=float)
    forced["base_PsfFlux_flag"] = PSF_FLAG[band]
    flux = I_INST_FLUX if band == "i" else [100.0] * 10
    err = I_INST_FLUX_ERR if band == "i" else [10.0] * 10
    forced["base_PsfFlux_instFlux"] = np.array(flux) * u.ct
    forced["base_PsfFlux_instFluxErr"] = np.array(err) * u.ct
    return forced


@pytest.fixture
def ref() -> Table:
    return make_ref()


@pytest.fixture
def forced() -> dict[str, Table]:
    return {band: make_forced(band) for band in "gri"}


@pytest.fixture
def photo_calib() -> PhotoCalib:
    return PhotoCalib.from_zero_point(27.0)


@pytest.fixture
def sel(ref, forced, photo_calib) -> Selection:
    return Selection(ref, forced=forced, reference_band="i", photo_calib=photo_calib)


# --- the criteria, one at a time ---------------------------------------------------------------------------
def test_reference_table_criteria(ref):
    assert rows(deblended(ref)) == [0, 2, 3, 4, 5, 6, 7, 8]
    assert rows(patch_inner(ref)) == [0, 1, 3, 4, 5, 6, 7, 8]
    assert rows(tract_inner(ref)) == [0, 1, 2, 4, 5, 6, 7, 8]
    assert rows(not_sky(ref)) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert rows(primary(ref)) == [0, 5, 6, 7, 8]
    assert deblended(ref).dtype == bool and deblended(ref).shape == (10,)


def test_point_source_nan_extendedness_is_not_a_point_source(forced):
    keep = point_source(forced["i"])
    assert rows(keep) == [0, 2, 3, 7, 8]
    assert not keep[4] and not keep[6]  # NaN extendedness
    assert not keep[5]  # extendedness 1


def test_good_psf_flux(forced):
    assert rows(good_psf_flux(forced["i"])) == [0, 1, 2, 3, 5, 6, 8, 9]


def test_forced_criteria_bands(forced):
    assert rows(point_source(forced)) == [0, 2, 3, 7, 8]  # default band i
    assert rows(point_source(forced, band="r")) == [0, 1, 3, 6, 7]
    assert rows(point_source(forced, band="all")) == [0, 7]
    assert rows(point_source(forced, band=["g", "r"])) == [0, 6, 7]
    assert rows(good_psf_flux(forced, band="all")) == [0, 1, 2, 3, 5, 6, 9]


def test_results_are_new_arrays(ref):
    keep = patch_inner(ref)
    keep[:] = False
    assert rows(ref["detect_isPatchInner"]) == [0, 1, 3, 4, 5, 6, 7, 8]


def test_integer_flags_are_accepted_and_float_flags_refused(ref):
    ref["detect_isPatchInner"] = np.array(PATCH_INNER, dtype=np.int16)
    assert rows(patch_inner(ref)) == [0, 1, 3, 4, 5, 6, 7, 8]
    ref["detect_isPatchInner"] = np.array(PATCH_INNER, dtype=float)
    with pytest.raises(TypeError, match="detect_isPatchInner.*must be boolean"):
        patch_inner(ref)


def test_masked_columns_are_filled(ref, forced):
    i = forced["i"]
    i["base_ClassificationExtendedness_value"] = MaskedColumn(EXTENDEDNESS["i"], mask=[T] + [F] * 9)
    i["base_PsfFlux_flag"] = MaskedColumn(PSF_FLAG["i"], mask=[F] * 4 + [T] + [F] * 5)
    ref["deblend_nChild"] = MaskedColumn(N_CHILD, mask=[T] + [F] * 9)
    assert rows(point_source(i)) == [2, 3, 7, 8]  # masked extendedness -> NaN -> not a point source
    # masked failure flag -> unknown -> counts as set: row 4 does not pass (as a null fails the survey's cuts)
    assert rows(good_psf_flux(i)) == [0, 1, 2, 3, 5, 6, 8, 9]
    assert rows(deblended(ref)) == [2, 3, 4, 5, 6, 7, 8]  # masked nChild -> -1 -> not deblended


def test_an_unknown_flag_passes_no_cut(ref, forced):
    """A masked merge_peak_sky or base_PsfFlux_flag passed not_sky and good_psf_flux (a probe's finding); a
    masked positive flag fails its cut as before. The criterion functions and Selection agree."""
    ref["merge_peak_sky"] = MaskedColumn(np.zeros(10, bool), mask=[T] + [F] * 9)
    ref["detect_isPatchInner"] = MaskedColumn(np.ones(10, bool), mask=[F, T] + [F] * 8)
    assert 0 not in rows(not_sky(ref)) and 1 in rows(not_sky(ref))
    assert 1 not in rows(patch_inner(ref)) and 0 in rows(patch_inner(ref))
    selection = Selection(ref, forced)
    assert not selection.mask(["not_sky"])[0] and not selection.mask(["patch_inner"])[1]


# --- the faint cut and the funnel counts -----------------------------------------------------------------
def test_faint_cut_is_inclusive_and_fails_rows_without_a_magnitude():
    assert rows(faint_cut(np.array(I_MAG), 24)) == [0, 4, 5, 7, 9]
    assert rows(faint_cut(np.array([16.0, 24.0, 24.01, np.inf, -np.inf, np.nan]), 24)) == [0, 1, 4]


def test_funnel_counts_by_hand():
    a = np.array([T, T, F, T])
    b = np.array([T, F, F, T])
    counts, keep = funnel_counts([("a", a), ("b", b)], 4)
    assert counts == [("a", 3, 3), ("b", 2, 2)]
    assert rows(keep) == [0, 3]
    counts, keep = funnel_counts([], 3)
    assert counts == [] and rows(keep) == [0, 1, 2]


# --- Selection ---------------------------------------------------------------------------------------------
def test_registry_describes_every_criterion(ref, forced):
    assert list(CRITERIA) == [
        "deblended", "patch_inner", "tract_inner", "not_sky", "primary",
        "point_source", "good_psf_flux",
    ]  # fmt: skip
    assert PRIMARY_PARTS == ("deblended", "patch_inner", "tract_inner", "not_sky")
    assert LESSON_CRITERIA == ("primary", "point_source", "good_psf_flux")
    for name, crit in CRITERIA.items():
        assert crit.name == name and crit.function.__name__ == name
        assert crit.label and "\n" not in crit.description and len(crit.description) < 200
        table = ref if crit.table == "ref" else forced["i"]
        assert crit.table in ("ref", "forced")
        assert all(c in table.colnames for c in crit.columns), name


def test_default_mask_is_the_lesson_selection(sel):
    assert rows(sel.mask()) == [0, 8]  # primary & point source (i) & good PSF flux (i)
    assert rows(sel.mask(LESSON_CRITERIA)) == [0, 8]
    assert rows(sel.mask([])) == list(range(10))
    assert rows(sel.mask("primary")) == [0, 5, 6, 7, 8]
    assert rows(sel.mask(PRIMARY_PARTS)) == [0, 5, 6, 7, 8]


def test_mask_bands(sel):
    assert rows(sel.mask(band="r")) == [0, 6, 7]
    assert rows(sel.mask(band="all")) == [0]
    assert rows(sel.mask(["point_source"], band="all")) == [0, 7]
    assert rows(sel.mask(["point_source"], band=["g", "r"])) == [0, 6, 7]
    assert rows(sel.mask(["good_psf_flux"], band="all")) == [0, 1, 2, 3, 5, 6, 9]


def test_magnitudes_and_the_faint_cut(sel):
    assert rows(sel.mask(["primary"]) & faint_cut(sel.magnitude("i"), 24)) == [0, 5, 7]
    np.testing.assert_allclose(sel.magnitude("i"), I_MAG, rtol=0, atol=1e-12)


def test_mask_magnitudes_from_calibrated_column(ref, forced, photo_calib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        forced["i"] = photo_calib.calibrateCatalog(forced["i"])
    sel = Selection(ref, forced=forced)  # no photo_calib: uses base_PsfFlux_mag
    assert rows(sel.mask(["primary"]) & faint_cut(sel.magnitude("i"), 24)) == [0, 5, 7]
    with pytest.raises(MissingColumnError, match="base_PsfFlux_mag.*band 'r'.*photo_calib"):
        sel.magnitude("r")


def test_masks_are_fresh_arrays(sel):
    first = sel.mask()
    first[:] = True
    assert rows(sel.mask()) == [0, 8]
    column = sel.column("detect_isPrimary")
    column[:] = False
    assert rows(sel.mask(["primary"])) == [0, 5, 6, 7, 8]


def test_qtable_with_units(ref, forced, photo_calib):
    qforced = {band: QTable(t) for band, t in forced.items()}
    sel = Selection(QTable(ref), forced=qforced, photo_calib=photo_calib)
    assert rows(sel.mask() & faint_cut(sel.magnitude("i"), 24)) == [0]


# --- funnel ------------------------------------------------------------------------------------------------
def test_funnel_numbers_in_lesson_order(sel):
    funnel = sel.funnel()
    assert list(funnel["criterion"]) == list(LESSON_FUNNEL)
    assert list(funnel["step"]) == [1, 2, 3, 4, 5, 6, 7]
    assert list(funnel["n_kept_alone"]) == [8, 8, 8, 9, 5, 5, 8]
    assert list(funnel["n_kept_cumulative"]) == [8, 7, 6, 5, 5, 3, 2]
    assert list(funnel["n_removed"]) == [2, 1, 1, 1, 0, 2, 1]
    np.testing.assert_allclose(funnel["fraction_cumulative"], [0.8, 0.7, 0.6, 0.5, 0.5, 0.3, 0.2])
    np.testing.assert_allclose(funnel["fraction_alone"], [0.8, 0.8, 0.8, 0.9, 0.5, 0.5, 0.8])
    assert list(funnel["table"]) == ["ref"] * 5 + ["forced:i"] * 2
    assert funnel.meta["n_total"] == 10
    assert funnel["description"][0] == CRITERIA["deblended"].description


def test_funnel_order(sel):
    registry = sel.funnel(["good_psf_flux", "point_source", "primary"])
    assert list(registry["criterion"]) == ["primary", "point_source", "good_psf_flux"]
    assert list(registry["n_kept_alone"]) == [5, 5, 8]
    assert list(registry["n_kept_cumulative"]) == [5, 3, 2]


def test_funnel_in_all_bands(sel):
    funnel = sel.funnel(LESSON_CRITERIA, band="all")
    assert list(funnel["criterion"]) == list(LESSON_CRITERIA)
    assert list(funnel["n_kept_alone"]) == [5, 2, 7]
    assert list(funnel["n_kept_cumulative"]) == [5, 2, 1]
    assert list(funnel["table"])[1:] == ["forced:g,r,i"] * 2


# --- isPrimary check ---------------------------------------------------------------------------------------
def test_check_primary_consistent(sel):
    check = sel.check_primary()
    assert isinstance(check, PrimaryCheck)
    assert check and check.consistent
    assert check.deblend_column == "deblend_nChild"
    assert (check.n_rows, check.n_primary, check.n_expected) == (10, 5, 5)
    assert len(check.ids) == 0 and len(check.differences) == 0
    assert "consistent on all 10 rows" in str(check)


def test_check_primary_names_the_corrupted_rows(ref):
    ref["detect_isPrimary"][2] = True  # outside the patch inner region
    ref["detect_isPrimary"][5] = False
    check = Selection(ref).check_primary()
    assert not check
    assert list(check.rows) == [2, 5]
    assert list(check.ids) == [IDS[2], IDS[5]]
    assert list(check.differences["id"]) == [IDS[2], IDS[5]]
    assert list(check.differences["detect_isPrimary"]) == [True, False]
    assert list(check.differences["expected"]) == [False, True]
    assert list(check.differences["detect_isPatchInner"]) == [False, True]
    assert (check.n_primary, check.n_expected) == (5, 5)
    assert "2 of 10 rows differ" in str(check) and str(IDS[2]) in str(check)


def test_check_primary_prefers_is_deblended_source(ref):
    # A scarlet-like case: row 1 has children but is flagged as a deblended source, and primary.
    ref["detect_isDeblendedSource"] = np.array(N_CHILD) == 0
    ref["detect_isDeblendedSource"][1] = True
    ref["detect_isPrimary"][1] = True
    check = Selection(ref).check_primary()
    assert check.consistent and check.deblend_column == "detect_isDeblendedSource"
    assert "detect_isDeblendedSource" in check.definition
    assert check.n_expected == 6 and rows(ref["detect_isPrimary"]) == [0, 1, 5, 6, 7, 8]  # row 1 included
    ref.remove_column("detect_isDeblendedSource")  # v16 definition: nChild == 0
    check = Selection(ref).check_primary()
    assert list(check.ids) == [IDS[1]]
    assert "(deblend_nChild == 0)" in check.definition


# --- bad inputs --------------------------------------------------------------------------------------------
def test_missing_column_names_column_table_and_fix(ref, forced):
    ref.remove_column("merge_peak_sky")
    sel = Selection(ref, forced=forced)
    with pytest.raises(KeyError) as info:
        sel.mask(PRIMARY_PARTS)
    assert isinstance(info.value, MissingColumnError)
    assert info.value.column == "merge_peak_sky" and info.value.table == "ref"
    assert "column 'merge_peak_sky' not found in the reference table (deepCoadd_ref)" in str(info.value)
    with pytest.raises(MissingColumnError, match="merge_peak_sky"):
        sel.check_primary()


def test_reference_column_asked_of_forced_table(forced):
    with pytest.raises(MissingColumnError) as info:
        patch_inner(forced["i"])
    message = str(info.value)
    assert "detect_isPatchInner is in the reference table (deepCoadd_ref), not in the forced table" in message


def test_missing_forced_column_names_the_band(ref, forced):
    forced["r"].remove_column("base_PsfFlux_flag")
    sel = Selection(ref, forced=forced)
    assert rows(sel.mask()) == [0, 8]  # the i band is complete
    message = "'base_PsfFlux_flag' not found in the forced table for band 'r'"
    with pytest.raises(MissingColumnError, match=message):
        sel.mask(band="all")


def test_old_flux_names_suggest_the_rename(ref, forced, photo_calib):
    i = forced["i"]
    i.rename_column("base_PsfFlux_instFlux", "base_PsfFlux_flux")
    i.rename_column("base_PsfFlux_instFluxErr", "base_PsfFlux_fluxSigma")
    sel = Selection(ref, forced=forced, photo_calib=photo_calib)
    with pytest.raises(MissingColumnError, match=r"v16 names \(base_PsfFlux_flux\).*rename_column"):
        sel.magnitude("i")


def test_mismatched_lengths_are_refused(ref, forced):
    forced["r"] = forced["r"][:9]
    with pytest.raises(RowMismatchError) as info:
        Selection(ref, forced=forced)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "band 'r' has 9 rows but the reference table has 10" in message
    assert "first differing row is 9" in message and "match_column='objectId'" in message
    assert (info.value.band, info.value.row) == ("r", 9)


def test_mismatched_ids_are_refused(ref, forced):
    g = forced["g"]
    g["id"][3], g["id"][4] = IDS[4], IDS[3]
    message = f"band 'g'.*row 3 has id {IDS[4]} in the forced table but {IDS[3]} in the reference table"
    with pytest.raises(RowMismatchError, match=message):
        Selection(ref, forced=forced)
    with pytest.raises(RowMismatchError, match="band 'r' is not row-for-row with the forced table for band"):
        point_source(forced, band="all")


def test_magnitude_column_in_flux_units_is_refused(ref, forced):
    forced["i"]["base_PsfFlux_mag"] = np.full(10, 1000.0) * u.nJy
    sel = Selection(ref, forced=forced)
    with pytest.raises(u.UnitsError):
        sel.magnitude("i")
    with pytest.raises(SelectionUnitsError, match="not magnitudes"):
        sel.magnitude("i")


def test_calibrated_flux_refused_by_photocalib(ref, forced, photo_calib):
    forced["i"]["base_PsfFlux_instFlux"].unit = u.nJy
    sel = Selection(ref, forced=forced, photo_calib=photo_calib)
    with pytest.raises(SelectionUnitsError, match="unit 'nJy'.*counts"):
        sel.magnitude("i")


def test_other_bad_arguments(ref, forced, sel):
    with pytest.raises(ValueError, match="unknown criterion 'primery'.*Did you mean 'primary'"):
        sel.mask(["primery"])
    with pytest.raises(ValueError, match="no forced table for band\\(s\\) 'z'"):
        sel.mask(band="z")
    with pytest.raises(ValueError, match="reference_band='z' has no forced table"):
        Selection(ref, forced=forced, reference_band="z")
    with pytest.raises(ValueError, match="read the forced tables, but none were given"):
        Selection(ref).mask()
    with pytest.raises(TypeError, match="Table.from_pandas"):
        Selection(ref.to_pandas())


# --- matching through objectId -----------------------------------------------------------------------------
def gen2_forced(band: str, order) -> Table:
    """A forced table with its own ids and the reference id in objectId, rows in the given order."""
    table = make_forced(band)
    table["objectId"] = table["id"]
    table["id"] = 9_000_000 + np.arange(10)
    return table[order]


def test_match_column_reorders(ref, forced, photo_calib):
    expected = Selection(ref, forced=forced, photo_calib=photo_calib)
    permutation = np.random.default_rng(42).permutation(10)
    assert list(permutation) != list(range(10))
    shuffled = {band: gen2_forced(band, permutation) for band in "gri"}
    with pytest.raises(RowMismatchError, match="match_column='objectId'"):
        Selection(ref, forced=shuffled)
    sel = Selection(ref, forced=shuffled, match_column="objectId", photo_calib=photo_calib)
    for kwargs in ({}, {"band": "all"}, {"band": "r"}):
        np.testing.assert_array_equal(sel.mask(**kwargs), expected.mask(**kwargs))
    for column in ("n_kept_alone", "n_kept_cumulative"):
        assert list(sel.funnel(band="all")[column]) == list(expected.funnel(band="all")[column])
    np.testing.assert_allclose(sel.magnitude("i"), I_MAG, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(sel.column("base_ClassificationExtendedness_value", "r"), EXTENDEDNESS["r"])


def test_match_column_missing_rows_fail_forced_criteria(ref):
    # i-band forced table without the objects of rows 0 and 6, plus one object not in the reference table
    i = gen2_forced("i", [9, 8, 7, 5, 4, 3, 2, 1])
    i.add_row(i[0])
    i["objectId"][-1] = 1
    forced = {"i": i, "r": gen2_forced("r", np.arange(10))}
    sel = Selection(ref, forced=forced, match_column="objectId")
    assert rows(sel.matched["i"]) == [1, 2, 3, 4, 5, 7, 8, 9]
    assert sel.n_forced_unmatched == {"i": 1, "r": 0}
    assert rows(sel.mask(["good_psf_flux"])) == [1, 2, 3, 5, 8, 9]  # unflagged but unmatched 0, 6 fail
    assert rows(sel.mask()) == [8]
    assert np.isnan(sel.column("base_ClassificationExtendedness_value", "i")[0])
    assert rows(sel.mask(band="r")) == [0, 6, 7]


def test_match_column_duplicates_refused(ref):
    i = gen2_forced("i", np.arange(10))
    i["objectId"][1] = i["objectId"][0]
    with pytest.raises(ValueError, match=f"several rows with objectId {IDS[0]}"):
        Selection(ref, forced={"i": i}, match_column="objectId")
    with pytest.raises(MissingColumnError, match="'objectId' not found in the forced table for band 'i'"):
        Selection(ref, forced={"i": make_forced("i")}, match_column="objectId")


def test_match_column_auto(ref, forced, photo_calib):
    """'auto': row-for-row tables as they are; Gen2 tables (own ids, objectId) matched, and said so."""
    expected = Selection(ref, forced=forced, photo_calib=photo_calib)
    same = Selection(ref, forced=forced, match_column="auto", photo_calib=photo_calib)
    assert same.match_columns == {"g": "id", "r": "id", "i": "id"}
    assert same.notes == []
    permutation = np.random.default_rng(7).permutation(10)
    mixed = {"g": make_forced("g"), "r": gen2_forced("r", permutation), "i": gen2_forced("i", np.arange(10))}
    sel = Selection(ref, forced=mixed, match_column="auto", photo_calib=photo_calib)
    assert sel.match_columns == {"g": "id", "r": "objectId", "i": "objectId"}
    assert sel.notes == [
        "forced tables of bands r, i: ids of their own (Gen2 tables), matched to deepCoadd_ref through 'objectId'"
    ]
    for kwargs in ({}, {"band": "all"}, {"band": "r"}):
        np.testing.assert_array_equal(sel.mask(**kwargs), expected.mask(**kwargs))
    np.testing.assert_allclose(sel.magnitude("i"), I_MAG, rtol=0, atol=1e-12)
    # The default stays strict, and a mismatch without objectId is still refused under 'auto'.
    with pytest.raises(RowMismatchError, match="match_column='auto'"):
        Selection(ref, forced=mixed)
    shuffled = make_forced("i")[permutation]
    with pytest.raises(RowMismatchError, match="not row-for-row"):
        Selection(ref, forced={"i": shuffled}, match_column="auto")


# --- real LSST-written data --------------------------------------------------------------------------------
def read_afw_fits(path) -> Table:
    """Read an afw SourceCatalog FITS file, unpacking the packed 'flags' column into named columns."""
    from astropy.io import fits

    header = fits.getheader(path, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        table = Table.read(path, hdu=1)
    names = {int(key[5:]): header[key] for key in header if key.startswith("TFLAG")}
    flags = np.asarray(table["flags"])
    for bit, name in names.items():
        table[name] = flags[:, bit - 1]
    table.remove_column("flags")
    return table


@pytest.mark.realdata
def test_real_hsc_coadd_catalog_is_consistent(realdata_dir):
    meas = read_afw_fits(realdata_dir / "lsst-afw-hsc" / "deepCoadd_meas_HSC_v2.fits")
    check = Selection(meas).check_primary()
    assert check.consistent, str(check)
    assert check.deblend_column == "deblend_nChild"  # written before detect_isDeblendedSource existed
    assert (check.n_rows, check.n_primary) == (10, 6)
    assert rows(deblended(meas)) == rows(primary(meas)) == [0, 1, 2, 3, 4, 7]
    with pytest.raises(MissingColumnError, match="v16 names"):
        Selection(meas, {"i": meas}, photo_calib=PhotoCalib.from_zero_point(27.0)).magnitude("i")


@pytest.mark.realdata
def test_real_hsc_multiband_object_table(realdata_dir):
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(realdata_dir / "lsst-pipe_tasks-hsc" / "test_multilevel_parq.csv.gz",
                        header=[0, 1, 2], index_col=0)  # fmt: skip

    def table(dataset, band):
        return Table.from_pandas(frame[dataset][band].copy().reset_index())

    sel = Selection(table("ref", "i"), forced={b: table("forced_src", b) for b in "gri"})
    assert sel.check_primary().consistent
    funnel = sel.funnel()
    # all five objects lie outside the patch inner region; three are blend parents
    assert list(funnel["n_kept_alone"][:5]) == [2, 0, 5, 5, 0]
    assert list(funnel["n_kept_cumulative"]) == [2, 0, 0, 0, 0, 0, 0]


def test_single_band_accessors_refuse_several_bands(sel):
    with pytest.raises(ValueError, match="magnitude\\(\\) takes one band"):
        sel.magnitude("all")
    with pytest.raises(ValueError, match="column\\(\\) takes one band"):
        sel.column("base_PsfFlux_flag", ["g", "r"])
    with pytest.raises(ValueError, match="names no band"):
        sel.mask(band=[])
    assert rows(sel.column("base_PsfFlux_flag", "r")) == [8]
    assert list(sel.column("id")) == list(IDS)


@pytest.mark.parametrize(
    ("mag", "faint", "words"),
    [
        (np.array([20.0, 26.0]), np.nan, "finite number"),
        (np.array([20.0, 26.0]), None, "must be one number"),
        (np.array([20.0, 26.0]), 25.0 * u.nJy, "must be a magnitude"),
        (25.0, np.array([20.0, 26.0]), "one number"),  # the arguments swapped
        (Column([1e3, 2e3], unit="ct"), 25.0, "unit 'ct'"),  # fluxes, not magnitudes
    ],
)
def test_faint_cut_refuses_what_would_select_the_wrong_rows_silently(mag, faint, words):
    with pytest.raises(ValueError, match=words):
        faint_cut(mag, faint)


def test_faint_cut_takes_columns_and_quantities_in_magnitudes():
    mag = np.array([20.0, 25.0, 26.0, np.nan])
    expected = [True, True, False, False]
    assert faint_cut(mag, 25).tolist() == expected
    assert faint_cut(Column(mag, unit="mag"), 25.0 * u.mag).tolist() == expected
    assert faint_cut(MaskedColumn([20.0, 21.0], mask=[False, True]), 25.0).tolist() == [True, False]


def test_mask_takes_a_dict_of_checkboxes_and_applies_only_the_ticked_ones(sel):
    ticked = sel.mask({"primary": True, "point_source": False, "good_psf_flux": True})
    np.testing.assert_array_equal(ticked, sel.mask(["primary", "good_psf_flux"]))
    assert not np.array_equal(ticked, sel.mask(["primary", "point_source", "good_psf_flux"]))
    np.testing.assert_array_equal(sel.mask({"primary": False}), sel.mask([]))
    with pytest.raises(TypeError, match="True or False"):
        sel.mask({"primary": "yes"})


def test_forced_tables_and_calibrations_of_the_wrong_kind_are_refused_with_the_fix(ref, forced):
    with pytest.raises(TypeError, match=r"dict of forced tables by band, e.g. \{'i': forced_i\}, not one Table"):
        Selection(ref, forced["i"])
    with pytest.raises(TypeError, match="got a list"):
        Selection(ref, [forced["i"]])
    with pytest.raises(TypeError, match="photo_calib must be a PhotoCalib .* got the float 27.0"):
        Selection(ref, forced, photo_calib=27.0)
    with pytest.raises(TypeError, match="got the str"):
        Selection(ref, forced, photo_calib={"i": "27"})
