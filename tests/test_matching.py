"""Matching rows by id: :func:`tutorial_lib.matching.match_rows`."""

from __future__ import annotations

import numpy as np
import pytest

from tutorial_lib.matching import MatchError, match_rows


@pytest.mark.parametrize("ref_ids", [[1, 1, 2], [2, 3, 3], [5, 5]])
def test_repeated_reference_ids_in_increasing_order_are_refused(ref_ids):
    with pytest.raises(MatchError, match="duplicate ids"):
        match_rows(ref_ids, [1, 2])


def test_strictly_increasing_reference_ids_match():
    match = match_rows([1, 2, 3], [3, 1])
    np.testing.assert_array_equal(match.matched, [True, False, True])
    np.testing.assert_array_equal(match.index[match.matched], [1, 0])
