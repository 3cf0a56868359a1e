"""Edges of two self-checks that a mutation probe found untested.

* Lesson 9's ``check_scarlet_deblended``: ``detect_isDeblendedSource`` of the scarlet era (pipelines v22 to v29,
  DP0.2 and DP1; :func:`tutorial_lib.eras.deblend_flags_scarlet_v22`), on a hand-made ``deepCoadd_ref`` with
  one row of each kind the lesson counts, so every verdict and every "rows differ" count is known by hand.
* Lesson 10's ``check_survey_galaxies``: its faint limit is inclusive (``i_psfMag <= faint``, as
  :func:`tutorial_lib.survey.criteria.faint_expression` writes it), so rows exactly at the limit count; the
  small survey of the other tests has no such row.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from tutorial_lib.checks._result import NO_ANSWER
from tutorial_lib.checks.todays_catalogs import check_scarlet_deblended

# --------------------------------------------------------------------------------------------------------
# Lesson 9: detect_isDeblendedSource of the scarlet era (v22 to v29)
# --------------------------------------------------------------------------------------------------------

#: One row of each kind, as data_fetch.measure.scarlet_era_patch books them (scarlet, processSingles=True):
#: (id, parent, deblend_nPeaks, deblend_nChild, deblend_parentNChild, merge_peak_sky, deblended source?)
SCARLET_ROWS = [
    (1, 0, 1, 1, 0, False, True),  # isolated source: an unmodelled parent with one child, its model
    (2, 0, 2, 2, 0, False, False),  # parent of a blend of two peaks
    (3, 0, 1, 0, 0, True, True),  # sky object: never deblended, but isolated with parent == 0
    (4, 1, 1, 0, 1, False, False),  # the model of the isolated source 1
    (5, 2, 1, 0, 2, False, True),  # the children of the blend 2
    (6, 2, 1, 0, 2, False, True),
]
EXPECTED = np.array([row[-1] for row in SCARLET_ROWS])


@pytest.fixture
def scarlet_ref() -> Table:
    columns = ("id", "parent", "deblend_nPeaks", "deblend_nChild", "deblend_parentNChild", "merge_peak_sky")
    table = Table(rows=[row[:-1] for row in SCARLET_ROWS], names=columns)
    for name in columns[:-1]:
        table[name] = table[name].astype(np.int64 if name in ("id", "parent") else np.int32)
    return table


def _columns(table: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.asarray(table["parent"]),
        np.asarray(table["deblend_nPeaks"]),
        np.asarray(table["deblend_parentNChild"]),
    )


def test_the_hand_made_table_is_what_the_era_definition_says(scarlet_ref):
    """The expected column above is the v22 to v29 definition itself, not a copy of the check's own result."""
    from tutorial_lib import eras

    flags = eras.deblend_flags_scarlet_v22(scarlet_ref)
    np.testing.assert_array_equal(flags["detect_isDeblendedSource"], EXPECTED)


def test_the_lessons_answer_is_right_and_counted(scarlet_ref):
    parent, n_peaks, parent_n_child = _columns(scarlet_ref)
    answer = ((parent == 0) & (n_peaks == 1)) | ((parent_n_child > 1) & (n_peaks == 1))  # the notebook's answer
    np.testing.assert_array_equal(answer, EXPECTED)
    result = check_scarlet_deblended(answer, scarlet_ref)
    assert result.correct
    assert result.message.startswith("4 rows: ")
    assert "unmodelled isolated parents" in result.message and "children of real blends" in result.message
    assert "getDeblendPrimaryFlags (v22 to v29)" in result.message


@pytest.mark.parametrize("kind", [list, lambda mask: mask.astype(np.int8), lambda mask: Table({"m": mask})["m"]])
def test_the_right_mask_is_right_as_a_list_as_zeros_and_ones_and_as_a_column(scarlet_ref, kind):
    result = check_scarlet_deblended(kind(EXPECTED.copy()), scarlet_ref)
    assert result.correct, result.message


def test_the_meas_deblender_rule_is_named(scarlet_ref):
    """deblend_nChild == 0 keeps the sky object, the isolated source's model and the blend's children."""
    result = check_scarlet_deblended(np.asarray(scarlet_ref["deblend_nChild"]) == 0, scarlet_ref)
    assert not result.correct
    assert "deblend_nChild == 0 is the meas_deblender rule" in result.message
    assert "keeps the models instead of the parents" in result.message
    assert "Use deblend_nPeaks, deblend_parentNChild and parent." in result.message
    assert "rows differ" not in result.message


#: Typical wrong masks, each from the columns (parent, nPeaks, parentNChild), and the rows each gets wrong.
WRONG_ANSWERS = {
    "isolated parents only": (lambda p, n, c: (p == 0) & (n == 1), 2),
    "blend children only": (lambda p, n, c: (c > 1) & (n == 1), 2),
    "parentNChild >= 1 keeps the isolated model": (lambda p, n, c: ((p == 0) & (n == 1)) | ((c >= 1) & (n == 1)), 1),
    "every top-level row, blend parents too": (lambda p, n, c: (p == 0) | ((c > 1) & (n == 1)), 1),
    "every child (isDeblendedModelSource)": (lambda p, n, c: (p != 0) & (n == 1), 3),
    "& instead of | between the two kinds": (lambda p, n, c: ((p == 0) & (n == 1)) & ((c > 1) & (n == 1)), 4),
    "every row": (lambda p, n, c: np.ones(len(p), bool), 2),
    "no row": (lambda p, n, c: np.zeros(len(p), bool), 4),
}


@pytest.mark.parametrize("name", WRONG_ANSWERS)
def test_typical_wrong_masks_are_refused_with_the_definition(scarlet_ref, name):
    rule, n_diff = WRONG_ANSWERS[name]
    answer = rule(*_columns(scarlet_ref))
    assert np.count_nonzero(answer != EXPECTED) == n_diff  # the table really tells this answer apart
    result = check_scarlet_deblended(answer, scarlet_ref)
    assert not result.correct
    assert result.message.startswith(f"{n_diff} rows differ. ")
    assert "isolated parent (parent == 0 and deblend_nPeaks == 1)" in result.message
    assert "(deblend_parentNChild > 1 and deblend_nPeaks == 1)" in result.message
    assert "meas_deblender" not in result.message


def test_each_single_flipped_row_is_refused(scarlet_ref):
    for row in range(len(EXPECTED)):
        flipped = EXPECTED.copy()
        flipped[row] = ~flipped[row]
        result = check_scarlet_deblended(flipped, scarlet_ref)
        assert not result.correct, row
        assert result.message.startswith("1 rows differ. "), row


@pytest.mark.parametrize(
    "answer, words",
    [
        (EXPECTED[:-1], ("answer_deblended has 5 entries", "the table has 6 rows")),
        (np.r_[EXPECTED, True], ("answer_deblended has 7 entries", "the table has 6 rows")),
        (EXPECTED[None, :], ("answer_deblended has 6 entries (shape (1, 6))",)),
        (EXPECTED * 0.5, ("answer_deblended should hold True/False values", "float64")),
        (..., (NO_ANSWER,)),
        (None, (NO_ANSWER,)),
    ],
    ids=["short", "long", "2-d", "floats", "ellipsis", "none"],
)
def test_answers_that_are_not_a_mask_of_the_table_say_why(scarlet_ref, answer, words):
    result = check_scarlet_deblended(answer, scarlet_ref)
    assert not result.correct
    for word in words:
        assert word in result.message


def test_the_check_reads_the_scarlet_columns_not_the_meas_deblender_ones(scarlet_ref):
    """Without deblend_parentNChild the check cannot work (it is no meas_deblender rule in disguise)."""
    with pytest.raises(KeyError, match="deblend_parentNChild"):
        check_scarlet_deblended(EXPECTED, scarlet_ref[["id", "parent", "deblend_nPeaks", "deblend_nChild"]])


# --------------------------------------------------------------------------------------------------------
# Lesson 10: the galaxies kept at i_psfMag <= faint, with rows exactly at the limit
# --------------------------------------------------------------------------------------------------------


def _survey(faint: float):
    """A one-partition LSDB catalog of eight rows; two selected ones sit exactly at ``faint`` (float32).

    With ``i <= faint`` 5 rows are selected, 2 of them galaxies; with ``i < faint`` 3, 1 of them a galaxy.
    """
    import lsdb
    import pandas as pd

    mags = [faint, faint, faint - 0.5, faint - 1.0, faint - 1.5, faint + 0.001, faint + 0.001, faint - 2.0]
    frame = pd.DataFrame(
        {
            "objectId": np.arange(8, dtype=np.int64),
            "coord_ra": 62.0 + 0.001 * np.arange(8),
            "coord_dec": np.full(8, -37.0),
            "detect_isPrimary": [True, True, True, True, True, True, True, False],
            "refExtendedness": np.zeros(8, dtype=np.float32),
            "i_psfFlux_flag": np.zeros(8, dtype=bool),
            "i_psfMag": np.array(mags, dtype=np.float32),
            "truth_type": np.array([1, 0, 1, 0, 0, 1, 0, 1], dtype=np.int8),  # 1 galaxy, 0 star
        }
    )
    assert np.count_nonzero(frame["i_psfMag"] == np.float32(faint)) == 2  # exactly at the limit, in float32
    return lsdb.from_dataframe(frame, ra_column="coord_ra", dec_column="coord_dec")


@pytest.mark.usefixtures("quiet_lsdb_warnings")
@pytest.mark.parametrize("faint", [24.0, 23.5])
def test_rows_exactly_at_the_faint_limit_are_counted(faint):
    """Inclusive, as the lesson's query: the galaxy at the limit counts; an answer from i < faint is refused."""
    from tutorial_lib.checks.survey import check_survey_galaxies, expected_survey_galaxies
    from tutorial_lib.survey import count_rows
    from tutorial_lib.survey.criteria import LESSON_SURVEY_CRITERIA, faint_expression, selection_expression

    assert faint_expression(faint) == f"i_psfMag <= {faint!r}"
    catalog = _survey(faint)
    assert expected_survey_galaxies(catalog, faint) == (2, 5)

    lesson = count_rows(
        catalog.query(f"({selection_expression(LESSON_SURVEY_CRITERIA, faint=faint)}) and truth_type == 1")
    )
    assert lesson == 2
    result = check_survey_galaxies(lesson, catalog, faint=faint)
    assert result.correct
    assert f"2 of the 5 selected point sources with i <= {faint:g} are true galaxies (40%)" in result.message

    strict = count_rows(  # the same query with the faint limit exclusive
        catalog.query(
            f"detect_isPrimary and refExtendedness < 0.5 and ~i_psfFlux_flag and i_psfMag < {faint!r} "
            "and truth_type == 1"
        )
    )
    assert strict == 1
    refused = check_survey_galaxies(strict, catalog, faint=faint)
    assert not refused.correct
    assert "is not the count" in refused.message

    every = check_survey_galaxies(5, catalog, faint=faint)  # every selected row, at the limit included
    assert not every.correct and "is every selected row" in every.message
    strict_every = check_survey_galaxies(3, catalog, faint=faint)  # every row of the strict selection
    assert not strict_every.correct and "is not the count" in strict_every.message


@pytest.mark.usefixtures("quiet_lsdb_warnings")
def test_the_default_faint_limit_is_24_and_inclusive():
    from tutorial_lib.checks.survey import check_survey_galaxies

    catalog = _survey(24.0)
    result = check_survey_galaxies(2, catalog)
    assert result.correct and "with i <= 24 are" in result.message
    assert not check_survey_galaxies(1, catalog)
