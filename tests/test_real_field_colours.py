"""benchmarks/real_field_colours.py on a small synthetic matched catalogue (the real files stay in lsst/faro)."""

from __future__ import annotations

import runpy

import numpy as np
import pytest
from astropy.table import Table
from conftest import REPO_ROOT

real = type("RealFieldColours", (), runpy.run_path(str(REPO_ROOT / "benchmarks" / "real_field_colours.py")))


def _catalogue(path, ra_deg, dec_deg, mag, extendedness, objects):
    Table(
        {
            "coord_ra": np.radians(ra_deg),
            "coord_dec": np.radians(dec_deg),
            "base_PsfFlux_mag": mag,
            "base_ClassificationExtendedness_value": extendedness,
            "object": objects,
        }
    ).write(path)


def test_per_object_means_skip_nan_and_unmatched_rows(tmp_path):
    # Object 7 seen in two visits (magnitudes 20 and 21, extendedness 0 and 1), object 9 once with a NaN
    # extendedness, and a row of no object (-1) that is left out.
    path = tmp_path / "cat.fits"
    _catalogue(
        path,
        [10.0, 10.0, 11.0, 12.0],
        [0.0, 0.0, 1.0, 2.0],
        [20.0, 21.0, 22.0, 19.0],
        [0.0, 1.0, np.nan, 0.0],
        [7, 7, 9, -1],
    )
    objects = real.per_object(path)
    np.testing.assert_allclose(objects["mag"], [20.5, 22.0])
    np.testing.assert_allclose(objects["ra"], [10.0, 11.0])
    assert objects["extendedness"][0] == pytest.approx(0.5) and np.isnan(objects["extendedness"][1])


def test_covered_area_counts_occupied_cells():
    # Positions filling a 0.05 x 0.03 degree box, one per 0.01-degree cell: 15 cells, 0.0015 deg^2.
    ra, dec = np.meshgrid(np.arange(5) * 0.01 + 0.005, np.arange(3) * 0.01 + 0.005)
    assert real.covered_area_deg2(ra.ravel(), dec.ravel()) == pytest.approx(0.0015)


def test_main_prints_the_histogram_of_matched_point_sources(tmp_path, capsys):
    # Three objects in both bands: a point source with r - i = 0.3, one with r - i = 1.3, and an extended one.
    ra, dec = [10.0, 10.01, 10.02], [0.0, 0.0, 0.0]
    _catalogue(tmp_path / "matchedCatalogTract_0_r.fits.gz", ra, dec, [20.0, 21.0, 20.5], [0.0, 0.0, 1.0], [1, 2, 3])
    _catalogue(tmp_path / "matchedCatalogTract_0_i.fits.gz", ra, dec, [19.7, 19.7, 20.0], [0.0, 0.0, 1.0], [4, 5, 6])
    assert real.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "point sources with 18 < r < 22.5 matched in r and i: 2" in out
    counts = np.zeros(15, int)
    counts[[3, 8]] = 1  # bins 0.2-0.4 and 1.2-1.4
    assert f"{counts.tolist()}" in out
