"""The lesson's sky map: tract 0 corners, patch boxes and ids, tract ownership in the overlap."""

from __future__ import annotations

import numpy as np
import pytest

from tutorial_lib.skymap import SkyMap, make_lesson_skymap


@pytest.fixture(scope="module")
def skymap():
    return make_lesson_skymap()


def test_tract0_has_the_lessons_corners_and_size(skymap):
    tract = skymap[0]
    corners = tract.getVertexList()
    expected = [(321.161, -0.605), (320.601, -0.605), (320.601, -0.045), (321.161, -0.045)]
    np.testing.assert_allclose(corners, expected, atol=2e-5)
    assert tract.getBBox().getDimensions() == (12000, 12000)
    assert tract.getWcs().proj_plane_pixel_scales()[0].to_value("arcsec") == pytest.approx(0.168)
    assert "TAN" in tract.getWcs().wcs.ctype[0]


def test_patch_1_1_is_gen3_patch_4_with_inner_and_outer_boxes(skymap):
    patch = skymap[0].getPatchInfo("1,1")
    assert patch.getSequentialIndex() == 4
    assert skymap[0].getPatchInfo(4) == patch == skymap[0].getPatchInfo((1, 1))
    assert patch.getInnerBBox().getMin() == (4000, 4000) and patch.getInnerBBox().getMax() == (7999, 7999)
    assert patch.getOuterBBox().getMin() == (3900, 3900) and patch.getOuterBBox().getMax() == (8099, 8099)
    corner = skymap[0].getPatchInfo(0)
    assert corner.getOuterBBox().getMin() == (0, 0)  # clipped to the tract
    assert corner.getOuterBBox().getMax() == (4099, 4099)
    with pytest.raises(IndexError, match="no patch 9"):
        skymap[0].getPatchInfo(9)


def test_box_contains_uses_afw_box2d_edges(skymap):
    inner = skymap[0].getPatchInfo(4).getInnerBBox()
    inside = inner.contains([3999.5, 7999.49, 7999.5, np.nan], [5000, 5000, 5000, 5000])
    assert inside.tolist() == [True, True, False, False]


def test_find_tract_picks_the_nearest_centre_in_the_overlap(skymap):
    # Tract centres are 0.5 deg apart in RA; the ownership line is halfway, at RA 320.631.
    assert skymap.findTract([320.64, 320.62, 321.0, 320.2], [-0.3] * 4).tolist() == [0, 1, 0, 1]
    overlap_x, _ = skymap[0].sky_to_pixel(320.62, -0.3)
    assert skymap[0].getBBox().contains(overlap_x, 5000)  # inside tract 0 but owned by tract 1


def test_round_trip_through_json(skymap):
    again = SkyMap.from_json(skymap.to_json())
    assert again == skymap
    np.testing.assert_allclose(again[1].getVertexList(), skymap[1].getVertexList())


def test_find_tract_converts_angle_units_and_gives_no_tract_for_nan(skymap):
    """A probe found the tables' coord_ra (unit rad) taken as degrees: every row fell in tract 0."""
    import astropy.units as u
    from astropy.table import Column

    ra_deg, dec_deg = np.array([320.9, 320.3]), np.array([-0.3, -0.3])
    expected = skymap.findTract(ra_deg, dec_deg)
    assert len(set(expected)) == 2  # the two positions lie in different tracts
    radians = Column(np.radians(ra_deg), unit="rad"), Column(np.radians(dec_deg), unit="rad")
    np.testing.assert_array_equal(skymap.findTract(*radians), expected)
    np.testing.assert_array_equal(skymap.findTract(ra_deg * u.deg, np.radians(dec_deg) * u.rad), expected)
    assert skymap.findTract(np.nan, -0.3) == -1
    with pytest.raises(u.UnitsError, match="an angle"):
        skymap.findTract(ra_deg * u.m, dec_deg)
