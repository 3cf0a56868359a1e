"""Both eras on the same sky: the scarlet-era reference tables, the DP1-style object table, and the definitions."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table, vstack

from data_fetch.dp1_layout import dp1_columns
from tutorial_lib import eras

LESSON = {"skymap": "discrete", "tract": 0, "patch": 4}


@pytest.fixture(scope="module")
def both_eras(butler):
    out = {}
    for ref in butler.query_datasets("deepCoadd_ref"):
        data_id = dict(ref.dataId.required)
        out[(data_id["tract"], data_id["patch"])] = {
            "2018": butler.get(ref),
            "truth_2018": butler.get("truth_match", data_id),
            "scarlet": butler.get("deepCoadd_ref", data_id, collections="tutorial_scarlet"),
            "truth_scarlet": butler.get("truth_match", data_id, collections="tutorial_scarlet"),
        }
    return out


def _toy(**columns):
    return Table({k: np.asarray(v) for k, v in columns.items()})


def test_2016_2018_definition_keeps_the_sky_term():
    toy = _toy(
        detect_isPatchInner=[True, True, True, False],
        detect_isTractInner=[True, True, True, True],
        merge_peak_sky=[False, True, False, False],
        deblend_nChild=[0, 0, 2, 0],
    )
    np.testing.assert_array_equal(eras.is_primary_2016_2018(toy), [True, False, False, False])


def test_scarlet_v22_reproduces_the_operator_precedence_as_written():
    # A child of a 3-child blend: (0 | 3) == 1 is False, so not isolated; fromBlend and deblended.
    # An isolated parent (parentNChild 0): (1 | 0) == 1 is True.
    toy = _toy(parent=[5, 0, 5], deblend_nPeaks=[1, 1, 1], deblend_parentNChild=[3, 0, 1])
    flags = eras.deblend_flags_scarlet_v22(toy)
    np.testing.assert_array_equal(flags["detect_isIsolated"], [False, True, True])
    np.testing.assert_array_equal(flags["detect_fromBlend"], [True, False, False])
    np.testing.assert_array_equal(flags["detect_isDeblendedSource"], [True, True, False])
    np.testing.assert_array_equal(flags["detect_isDeblendedModelSource"], [True, False, True])


def test_scarlet_v22_model_source_needs_a_single_peak():
    # meas_algorithms python/lsst/meas/algorithms/setPrimaryFlags.py @ 29.2.0 (pipe_tasks b38cab11):
    # isDeblendedModelSource = (parent != 0) & isLeaf, isLeaf = nPeaks == 1. A child with two peaks is not one.
    toy = _toy(parent=[5, 5, 0], deblend_nPeaks=[2, 1, 1], deblend_parentNChild=[3, 3, 0])
    flags = eras.deblend_flags_scarlet_v22(toy)
    np.testing.assert_array_equal(flags["detect_isDeblendedModelSource"], [False, True, False])


def test_scarlet_v30_on_todays_layout():
    # Today: an isolated source (parent 0, blendNChild 0), two children of one blend, a lone child of a parent.
    toy = _toy(parent=[0, 7, 7, 9], deblend_parentNChild=[0, 2, 2, 1], deblend_blendNChild=[0, 2, 2, 1])
    flags = eras.deblend_flags_scarlet_v30(toy)
    np.testing.assert_array_equal(flags["detect_isDeblendedSource"], [True, True, True, False])
    np.testing.assert_array_equal(flags["detect_isIsolated"], [True, False, False, True])


def test_missing_column_names_the_column():
    with pytest.raises(KeyError, match="deblend_parentNChild"):
        eras.deblend_flags_scarlet_v22(_toy(parent=[0], deblend_nPeaks=[1]))


def test_scarlet_flags_are_todays_code_on_every_row(both_eras):
    for tables in both_eras.values():
        ref = tables["scarlet"]
        flags = eras.deblend_flags_scarlet_v22(ref)
        for name, values in flags.items():
            np.testing.assert_array_equal(ref[name], values, err_msg=name)
        np.testing.assert_array_equal(ref["detect_isPrimary"], eras.is_primary(ref, flags))
        # The unreleased pull-request definition agrees on these simple blends.
        pr405 = eras.deblend_flags_scarlet_pr405(ref)
        np.testing.assert_array_equal(pr405["detect_isDeblendedSource"], flags["detect_isDeblendedSource"])


def test_both_eras_select_the_same_true_objects_from_different_rows(both_eras):
    tables = both_eras[(0, 4)]
    old, new = tables["2018"], tables["scarlet"]
    primary_old = tables["truth_2018"]["truth_id"][old["detect_isPrimary"]]
    primary_new = tables["truth_scarlet"]["truth_id"][new["detect_isPrimary"]]
    assert sorted(primary_old) == sorted(primary_new)
    assert len(primary_old) == len(set(primary_old)) == 5569
    # Every isolated source gets a model row in the scarlet era: that is where the extra rows come from.
    isolated_2018 = (old["parent"] == 0) & (old["deblend_nChild"] == 0) & ~old["merge_peak_sky"]
    assert (
        len(new) - len(old)
        == np.count_nonzero(isolated_2018)
        == np.count_nonzero(new["detect_isDeblendedModelSource"] & (new["deblend_parentNChild"] == 1))
    )
    # In the scarlet era, deblend_nChild == 0 picks the models of isolated sources, not the primary rows.
    n_child_zero = (new["deblend_nChild"] == 0) & ~new["merge_peak_sky"]
    children_of_blends = new["detect_isPrimary"] & new["detect_fromBlend"]
    assert np.count_nonzero(n_child_zero & new["detect_isPrimary"]) == np.count_nonzero(children_of_blends) == 1021
    # meas_deblender-era isDeblendedSource holds for sky objects too; the 2018 lesson's rule is unchanged.
    np.testing.assert_array_equal(eras.is_primary_2016_2018(old), old["detect_isPrimary"])


def test_object_table_has_dp1_layout_and_only_primary_rows(butler, both_eras):
    objects = butler.get("object", skymap="discrete", tract=0, collections="tutorial_dp1")
    truth = butler.get("object_truth", skymap="discrete", tract=0, collections="tutorial_dp1")
    layout = dp1_columns(("g", "r", "i"))
    assert objects.colnames == [c.name for c in layout]
    for column in layout:
        expected = u.Unit(column.unit) if column.unit else None
        assert objects[column.name].unit == expected, column.name
    primary = vstack([t["2018"][t["2018"]["detect_isPrimary"]] for k, t in sorted(both_eras.items()) if k[0] == 0])
    assert len(objects) == len(primary) == len(truth)
    assert sorted(objects["objectId"]) == sorted(primary["id"])
    np.testing.assert_array_equal(truth["objectId"], objects["objectId"])
    assert np.all(truth["truth_id"] >= 0)
    # Fluxes in nJy: the coadd's zero point 27 is 57.544 nJy per count.
    row = np.flatnonzero(objects["patch"] == 4)[0]
    ref_row = np.flatnonzero(both_eras[(0, 4)]["2018"]["id"] == objects["objectId"][row])[0]
    forced_i = butler.get("deepCoadd_forced_src", LESSON, band="i")
    assert objects["i_psfFlux"][row] == pytest.approx(forced_i["base_PsfFlux_instFlux"][ref_row] * 57.5440, rel=1e-5)
    assert objects["coord_ra"][row] == pytest.approx(np.degrees(forced_i["coord_ra"][ref_row]))


def test_name_map_rows_each_cite_a_source():
    assert len(eras.NAME_MAP) >= 12
    assert all(len(row.source) > 10 for row in eras.NAME_MAP)
    assert {"base_PsfFlux_instFlux (count), from v17 (meas_base DM-10302)"} <= {row.gen3 for row in eras.NAME_MAP}


def test_scarlet_pr405_a_grandchild_is_from_a_blend_without_siblings():
    # lsst/meas_algorithms#405 (41c4a60c) setPrimaryFlags.py: fromBlend = model & (isSibling | (depth > 1)),
    # model = (nChild == 0) & (depth > 0). A model at depth 2 is from a blend even with parentNPeaks == 1.
    toy = _toy(
        deblend_nChild=[0, 0, 0],
        deblend_depth=[2, 1, 3],
        deblend_nPeaks=[1, 1, 1],
        deblend_parentNPeaks=[1, 1, 1],
    )
    flags = eras.deblend_flags_scarlet_pr405(toy)
    np.testing.assert_array_equal(flags["detect_fromBlend"], [True, False, True])
    np.testing.assert_array_equal(flags["detect_isDeblendedSource"], [True, False, True])
