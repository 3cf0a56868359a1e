"""Tests of tutorial_lib.plots: figure regressions (pytest-mpl) and properties of the drawn artists.

The image comparisons run only with ``--mpl``: ``pytest tests/test_plots.py --mpl``. Without it they still run
the plotting code (and the unit tests below check what was drawn). Regenerate the baselines after an
intended change of the figures with ``pytest tests/test_plots.py --mpl-generate-path=tests/baseline`` and look
at the new PNGs before committing them.
"""

from __future__ import annotations

import math
import re

import astropy.units as u
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from astropy.table import Column, MaskedColumn, Table
from matplotlib.collections import PathCollection
from matplotlib.image import AxesImage

from tutorial_lib import plots
from tutorial_lib.skymap import make_lesson_skymap

mpl.use("Agg")

SEED = 20_260_401
IMAGE = {"baseline_dir": "baseline", "tolerance": 3, "style": "default", "savefig_kwargs": {"dpi": 70}}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- synthetic data -----------------------------------------------------------------------------------------
def lesson_stars(n: int = 1500, seed: int = SEED):
    """i magnitudes and r - i, g - r colours shaped like the lesson's stellar CMD: most at 21 < i < 25."""
    rng = np.random.default_rng(seed)
    i_mag = 25.3 - rng.gamma(2.0, 1.1, n)
    r_i = np.where(rng.random(n) < 0.75, rng.normal(0.35, 0.15, n), rng.uniform(0.6, 2.6, n))
    g_r = plots.stellar_locus_g_r(r_i) + rng.normal(0.0, 0.06, n)
    return i_mag, r_i, g_r


def lesson_sky(n_per_tract: int = 400, seed: int = SEED):
    """Uniform positions (deg) over the two tracts of the lesson's sky map, and the sky map."""
    rng = np.random.default_rng(seed)
    skymap = make_lesson_skymap()
    ra, dec = [], []
    for tract in skymap:
        corners = tract.getVertexList()
        ra.append(rng.uniform(corners[:, 0].min(), corners[:, 0].max(), n_per_tract))
        dec.append(rng.uniform(corners[:, 1].min(), corners[:, 1].max(), n_per_tract))
    return np.concatenate(ra), np.concatenate(dec), skymap


def funnel_table() -> Table:
    table = Table(
        {
            "criterion": ["detect_isPrimary", "PSF flux not flagged", "extendedness == 0", "i < 25"],
            "n_kept_alone": [15_000, 19_000, 6_000, 12_000],
            "n_kept_cumulative": [15_000, 14_500, 4_200, 2_100],
        }
    )
    table.meta["n_total"] = 20_000
    return table


def points_of(ax) -> np.ndarray:
    return np.asarray(plots._find_gid(ax, plots.GID_POINTS).get_offsets())


def patches_with_gid(ax, gid: str) -> list:
    return [p for p in ax.patches if p.get_gid() == gid]


# --- figure regressions -------------------------------------------------------------------------------------
@pytest.mark.mpl_image_compare(**IMAGE)
def test_cmd_scatter_image():
    i_mag, r_i, _ = lesson_stars()
    i_mag[:20] = np.nan
    removed = slice(0, 120)
    return plots.plot_cmd(
        i_mag[120:], r_i[120:], extra=(i_mag[removed], r_i[removed]), title="point sources", figsize=(4, 4)
    )


@pytest.mark.mpl_image_compare(**IMAGE)
def test_cmd_density_image():
    i_mag, r_i, _ = lesson_stars(30_000)
    return plots.plot_cmd(i_mag, r_i, figsize=(4, 4))


@pytest.mark.mpl_image_compare(**IMAGE)
def test_color_color_image():
    _, r_i, g_r = lesson_stars(800)
    return plots.plot_color_color(g_r, r_i, figsize=(4, 4))


@pytest.mark.mpl_image_compare(**IMAGE)
def test_sky_image():
    ra, dec, skymap = lesson_sky()
    in_overlap = np.ones(ra.size, bool)
    for tract in skymap:  # inside both tracts: measured twice, once per tract
        in_overlap &= tract.getBBox().contains(*tract.sky_to_pixel(ra, dec))
    assert 0 < in_overlap.sum() < ra.size
    return plots.plot_sky(
        np.radians(ra) * u.rad,
        np.radians(dec) * u.rad,
        skymap=skymap,
        highlight=in_overlap,
        highlight_label="in the tract overlap",
        figsize=(5, 4),
    )


@pytest.mark.mpl_image_compare(**IMAGE)
def test_funnel_image():
    return plots.plot_funnel(funnel_table(), title="star selection", figsize=(5, 3))


@pytest.mark.mpl_image_compare(**IMAGE)
def test_existing_axes_image():
    i_mag, r_i, g_r = lesson_stars(600)
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3.5), layout="constrained")
    assert plots.plot_cmd(i_mag, r_i, ax=left, legend=False) is fig
    assert plots.plot_color_color(g_r, r_i, ax=right, legend=False) is fig
    return fig


def test_baseline_images_are_small():
    from pathlib import Path

    for png in (Path(__file__).parent / "baseline").glob("*.png"):
        assert png.stat().st_size < 50_000, png


# --- colour-magnitude diagram -------------------------------------------------------------------------------
def test_cmd_faint_at_bottom_and_default_limits():
    i_mag, r_i, _ = lesson_stars(200)
    ax = plots.plot_cmd(i_mag, r_i).axes[0]
    bottom, top = ax.get_ylim()
    assert bottom > top
    assert (bottom, top) == (26.0, 16.0)
    assert ax.get_xlim() == (-0.5, 3.0)


@pytest.mark.parametrize("mag_range", [(26, 16), (16, 26), None])
def test_cmd_y_axis_inverted_for_any_range(mag_range):
    i_mag, r_i, _ = lesson_stars(200)
    ax = plots.plot_cmd(i_mag, r_i, mag_range=mag_range, color_range=None).axes[0]
    ylim = ax.get_ylim()
    assert ylim[0] > ylim[1]


def test_cmd_axis_labels_name_bands_and_units():
    i_mag, r_i, _ = lesson_stars(50)
    ax = plots.plot_cmd(i_mag, r_i).axes[0]
    assert ax.get_ylabel() == "i [AB mag]"
    assert ax.get_xlabel() == "r \N{MINUS SIGN} i [mag]"
    ax = plots.plot_cmd(i_mag, r_i, y_label="r", color_label="g - r").axes[0]
    assert "r" in ax.get_ylabel() and "[AB mag]" in ax.get_ylabel()
    assert ax.get_xlabel().startswith("g \N{MINUS SIGN} r") and "[mag]" in ax.get_xlabel()


def test_cmd_drops_nan_and_counts_them():
    i_mag, r_i, _ = lesson_stars(300)
    i_mag[:7] = np.nan
    r_i[5:12] = np.nan  # rows 5 and 6 are NaN in both
    r_i[20] = np.inf
    fig = plots.plot_cmd(i_mag, r_i)
    ax = fig.axes[0]
    n_bad = 13
    assert ax.collections[0] is plots._find_gid(ax, plots.GID_POINTS)
    assert len(points_of(ax)) == 300 - n_bad
    legend = ax.get_legend()
    assert legend.get_title().get_text() == f"{n_bad} rows with NaN not shown"
    assert legend.get_texts()[0].get_text() == f"sources (N = {300 - n_bad})"


def test_cmd_extra_subset_is_drawn_and_counted():
    i_mag, r_i, _ = lesson_stars(300)
    removed = np.zeros(300, bool)
    removed[::10] = True
    i_mag[0] = np.nan
    fig = plots.plot_cmd(i_mag[~removed], r_i[~removed], extra=(i_mag[removed], r_i[removed]))
    ax = fig.axes[0]
    extra = plots._find_gid(ax, plots.GID_EXTRA)
    assert len(extra.get_offsets()) == 29
    assert extra.get_facecolor()[0][:3] == pytest.approx(mpl.colors.to_rgb(plots.OKABE_ITO["vermillion"]))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["sources (N = 270)", "removed by the last cut (N = 29)"]
    assert ax.get_legend().get_title().get_text() == "1 row with NaN not shown"


def test_cmd_legend_counts_rows_outside_the_ranges_as_not_shown():
    """The legend's N counted rows outside mag_range and color_range that the figure did not show (a probe)."""
    i_mag, r_i, _ = lesson_stars(300)
    i_mag[0] = np.nan
    outside = int(np.count_nonzero(np.isfinite(i_mag) & ((i_mag > 23.0) | (r_i < 0.0) | (r_i > 2.5) | (i_mag < 16.0))))
    assert outside > 0
    ax = plots.plot_cmd(i_mag, r_i, mag_range=(16.0, 23.0), color_range=(0.0, 2.5)).axes[0]
    (text,) = [t.get_text() for t in ax.get_legend().get_texts()]
    assert text == f"sources (N = {300 - 1 - outside:,})"
    assert ax.get_legend().get_title().get_text() == f"1 row with NaN and {outside:,} outside the axes not shown"


def test_cmd_extra_subset_outside_the_axes_is_counted_as_not_shown():
    """Lesson 5 printed "true galaxies (N = 473)" with 7 of them off the axes, and left them out of the title."""
    i_mag, r_i, _ = lesson_stars(300)
    galaxies = (np.array([20.0, 21.0, 27.5, 22.0]), np.array([0.5, 3.4, 0.5, np.nan]))  # 2 off the axes, 1 NaN
    ax = plots.plot_cmd(i_mag, r_i, extra=galaxies, extra_label="galaxies").axes[0]
    assert len(plots._find_gid(ax, plots.GID_EXTRA).get_offsets()) == 1
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[1] == "galaxies (N = 1)"
    outside = int(np.count_nonzero((i_mag > 26.0) | (i_mag < 16.0) | (r_i < -0.5) | (r_i > 3.0)))
    assert ax.get_legend().get_title().get_text() == f"1 row with NaN and {outside + 2:,} outside the axes not shown"


def test_color_color_legend_is_below_the_axes():
    """No corner of the g - r against r - i plane is free of galaxies: the legend hid lesson 5's points."""
    _, r_i, g_r = lesson_stars(300)
    fig = plots.plot_color_color(g_r, r_i)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.y1 < ax.get_window_extent().y0


def test_density_mode_switches_on_above_threshold():
    rng = np.random.default_rng(SEED)
    n = plots.DENSITY_THRESHOLD
    mag = rng.uniform(17, 25, n + 1)
    col = rng.uniform(0, 2, n + 1)
    ax = plots.plot_cmd(mag, col).axes[0]
    assert isinstance(plots._find_gid(ax, plots.GID_DENSITY), AxesImage)
    assert plots._find_gid(ax, plots.GID_POINTS) is None
    # NaN rows do not count towards the threshold: N finite points exactly at the threshold stay a scatter.
    mag[0] = np.nan
    ax = plots.plot_cmd(mag, col).axes[0]
    assert plots._find_gid(ax, plots.GID_DENSITY) is None
    assert isinstance(ax.collections[0], PathCollection)
    assert len(ax.collections[0].get_offsets()) == n


def test_density_mode_can_be_forced_and_bins_every_point():
    i_mag, r_i, _ = lesson_stars(500)
    ax = plots.plot_cmd(i_mag, r_i, density=True).axes[0]
    image = plots._find_gid(ax, plots.GID_DENSITY)
    inside = (r_i >= -0.5) & (r_i <= 3.0) & (i_mag >= 16) & (i_mag <= 26)
    assert image.get_array().sum() == inside.sum()
    assert image.get_cmap().name == plots.DENSITY_CMAP
    assert ax.get_ylim()[0] > ax.get_ylim()[1]
    rng = np.random.default_rng(SEED)
    ax = plots.plot_cmd(rng.uniform(17, 25, 30_000), rng.uniform(0, 2, 30_000), density=False).axes[0]
    assert plots._find_gid(ax, plots.GID_DENSITY) is None
    assert len(points_of(ax)) == 30_000


def test_cmd_accepts_quantities_and_columns():
    i_mag, r_i, _ = lesson_stars(100)
    ax = plots.plot_cmd(i_mag * u.ABmag, r_i * u.mag).axes[0]
    np.testing.assert_allclose(points_of(ax), np.column_stack([r_i, i_mag]))
    masked = MaskedColumn(i_mag, unit="mag", mask=np.arange(100) < 4)
    ax = plots.plot_cmd(masked, Column(r_i, unit="mag")).axes[0]
    assert len(points_of(ax)) == 96
    with pytest.raises(u.UnitsError, match="magnitude"):
        plots.plot_cmd(np.ones(100) * u.nJy, r_i)


def test_cmd_mismatched_lengths_raise_value_error():
    with pytest.raises(ValueError, match="same length"):
        plots.plot_cmd(np.ones(10), np.ones(9))
    with pytest.raises(ValueError, match="same length"):
        plots.plot_cmd(np.ones(10), np.ones(10), extra=(np.ones(3), np.ones(4)))
    with pytest.raises(ValueError, match="one-dimensional"):
        plots.plot_cmd(np.ones((2, 5)), np.ones((2, 5)))


def test_cmd_uses_given_axes_without_new_figure():
    i_mag, r_i, _ = lesson_stars(50)
    fig, ax = plt.subplots()
    before = plt.get_fignums()
    assert plots.plot_cmd(i_mag, r_i, ax=ax) is fig
    assert plt.get_fignums() == before
    assert ax.get_ylim()[0] > ax.get_ylim()[1]


# --- colour-colour diagram and the stellar locus ------------------------------------------------------------
def test_stellar_locus_values():
    # g - r = 1.39 (1 - exp(-4.9 x^3 - 2.45 x^2 - 1.68 x - 0.050)), expanded by hand:
    # x = 0:   exponent = -0.050
    # x = 0.5: exponent = -4.9 * 0.125 - 2.45 * 0.25 - 1.68 * 0.5 - 0.050
    #                   = -0.6125 - 0.6125 - 0.84 - 0.05 = -2.115
    # x = 1:   exponent = -4.9 - 2.45 - 1.68 - 0.050 = -9.08
    expected = {
        0.0: 1.39 * (1 - math.exp(-0.050)),
        0.5: 1.39 * (1 - math.exp(-2.115)),
        1.0: 1.39 * (1 - math.exp(-9.08)),
    }
    assert expected[0.0] == pytest.approx(0.06779, abs=1e-5)
    assert expected[0.5] == pytest.approx(1.22232, abs=1e-5)
    assert expected[1.0] == pytest.approx(1.38984, abs=1e-5)
    for x, value in expected.items():
        assert plots.stellar_locus_g_r(x) == pytest.approx(value, rel=1e-12)
    array = plots.stellar_locus_g_r(np.array(list(expected)))
    np.testing.assert_allclose(array, list(expected.values()), rtol=1e-12)
    np.testing.assert_allclose(plots.stellar_locus_g_r([0.0, 0.5, 1.0] * u.mag), list(expected.values()))
    assert isinstance(plots.stellar_locus_g_r(0.5 * u.mag), float)


def test_ranges_take_quantities_in_mag_and_refuse_other_units_or_shapes():
    _, r_i, g_r = lesson_stars(50)
    fig = plots.plot_cmd(g_r + 20, r_i, mag_range=(16 * u.mag, 26 * u.mag))
    assert sorted(fig.axes[0].get_ylim()) == [16.0, 26.0]
    with pytest.raises(ValueError, match="mag_range must be a magnitude, got unit 'nJy'"):
        plots.plot_cmd(g_r + 20, r_i, mag_range=(16 * u.nJy, 26 * u.nJy))
    with pytest.raises(ValueError, match="must be a pair"):
        plots.plot_cmd(g_r + 20, r_i, mag_range=(16, 20, 26))


def test_color_color_locus_options_are_checked():
    _, r_i, g_r = lesson_stars(50)
    with pytest.raises(ValueError, match="locus_range must be the"):
        plots.plot_color_color(g_r, r_i, locus_range=None)
    with pytest.raises(ValueError, match="'sdss' or 'hsc'"):
        plots.plot_color_color(g_r, r_i, locus_system="johnson")
    ax = plots.plot_color_color(g_r, r_i, locus_system="HSC").axes[0]
    x, y = plots._find_gid(ax, plots.GID_LOCUS).get_data()
    np.testing.assert_allclose(y, plots.stellar_locus_g_r_hsc(x))


def test_color_color_labels_and_locus():
    _, r_i, g_r = lesson_stars(200)
    ax = plots.plot_color_color(g_r, r_i).axes[0]
    assert ax.get_xlabel() == "r \N{MINUS SIGN} i [mag]"
    assert ax.get_ylabel() == "g \N{MINUS SIGN} r [mag]"
    locus = plots._find_gid(ax, plots.GID_LOCUS)
    x, y = locus.get_data()
    np.testing.assert_allclose(y, plots.stellar_locus_g_r(x))
    assert "Juri" in locus.get_label()
    np.testing.assert_allclose(points_of(ax), np.column_stack([r_i, g_r]))
    ax = plots.plot_color_color(g_r, r_i, show_locus=False).axes[0]
    assert plots._find_gid(ax, plots.GID_LOCUS) is None
    assert ax.get_ylim()[0] < ax.get_ylim()[1]


def test_color_color_mismatched_lengths_raise_value_error():
    with pytest.raises(ValueError, match="g_r and r_i must have the same length"):
        plots.plot_color_color(np.ones(5), np.ones(6))


# --- sky ----------------------------------------------------------------------------------------------------
def test_sky_ra_increases_to_the_left_and_labels():
    ra, dec, skymap = lesson_sky(50)
    ax = plots.plot_sky(ra, dec, skymap=skymap).axes[0]
    left, right = ax.get_xlim()
    assert left > right
    assert ax.get_xlabel() == "RA [deg]"
    assert ax.get_ylabel() == "Dec [deg]"
    ax = plots.plot_sky(ra, dec).axes[0]  # without a sky map too
    assert ax.get_xlim()[0] > ax.get_xlim()[1]


def test_sky_refuses_declinations_beyond_the_poles():
    """RA and Dec swapped drew Dec up to 333 deg without a word (a probe's finding)."""
    ra, dec, skymap = lesson_sky(50)
    with pytest.raises(ValueError, match="beyond \\+-90 deg .*swapped"):
        plots.plot_sky(dec, ra, skymap=skymap)
    with pytest.raises(ValueError, match="1 value"):
        plots.plot_sky([10.0, 11.0], [45.0, 95.0])


def test_sky_patch_as_an_index_tuple_is_that_one_patch():
    """patch=(1, 1) drew patch 1, not getPatchInfo((1, 1)), which is patch 4 (a probe's finding)."""
    ra, dec, skymap = lesson_sky(50)
    by_tuple = plots.plot_sky(ra, dec, skymap=skymap, patch=(1, 1)).axes[0]
    by_id = plots.plot_sky(ra, dec, skymap=skymap, patch=skymap[0].getPatchInfo((1, 1)).getSequentialIndex()).axes[0]
    assert [t.get_text() for t in by_tuple.texts] == [t.get_text() for t in by_id.texts]
    assert len(by_tuple.patches) == len(by_id.patches)


def test_sky_draws_every_patch_box_of_the_lesson_skymap():
    ra, dec, skymap = lesson_sky(50)
    ax = plots.plot_sky(ra, dec, skymap=skymap).axes[0]
    inner = patches_with_gid(ax, plots.GID_PATCH_INNER)
    outer = patches_with_gid(ax, plots.GID_PATCH_OUTER)
    assert len(inner) == 2 * 9 and len(outer) == 2 * 9
    assert len(inner) + len(outer) == 36
    assert len(patches_with_gid(ax, plots.GID_TRACT)) == 2
    assert all(p.get_linestyle() == "-" for p in inner)
    assert all(p.get_linestyle() != "-" for p in outer)
    tract = skymap[0]
    expected = tract.box_vertices(tract.getPatchInfo(4).getOuterBBox())
    assert any(np.allclose(p.get_xy()[:4], expected) for p in outer)


@pytest.mark.parametrize(
    ("kwargs", "n_boxes"),
    [({"tract": 0}, 18), ({"tract": [1]}, 18), ({"patch": 4}, 4), ({"patch": ["1,1", 0], "tract": 1}, 4)],
)
def test_sky_restricts_tracts_and_patches(kwargs, n_boxes):
    ra, dec, skymap = lesson_sky(20)
    ax = plots.plot_sky(ra, dec, skymap=skymap, **kwargs).axes[0]
    boxes = patches_with_gid(ax, plots.GID_PATCH_INNER) + patches_with_gid(ax, plots.GID_PATCH_OUTER)
    assert len(boxes) == n_boxes


def test_sky_unknown_tract_raises():
    ra, dec, skymap = lesson_sky(5)
    with pytest.raises(ValueError, match="tracts"):
        plots.plot_sky(ra, dec, skymap=skymap, tract=7)


@pytest.mark.parametrize("patch", ["4", 99, "1, 1"])
def test_sky_unknown_patch_raises_instead_of_drawing_no_box(patch):
    ra, dec, skymap = lesson_sky(5)
    with pytest.raises(ValueError, match=rf"no patch {re.escape(repr(patch))} .* Gen3 ids 0 to 8"):
        plots.plot_sky(ra, dec, skymap=skymap, tract=0, patch=patch)


def test_sky_wants_the_sky_map_not_its_name_nor_one_tract():
    ra, dec, skymap = lesson_sky(5)
    with pytest.raises(TypeError, match="butler.get\\('skyMap'"):
        plots.plot_sky(ra, dec, skymap="discrete")
    with pytest.raises(TypeError, match="one tract"):
        plots.plot_sky(ra, dec, skymap=skymap[0])


def test_sky_converts_radians_and_highlights():
    ra, dec, skymap = lesson_sky(100)
    highlight = np.zeros(ra.size, bool)
    highlight[:25] = True
    ra_col = Column(np.radians(ra), name="coord_ra", unit="rad")
    dec_col = Column(np.radians(dec), name="coord_dec", unit="rad")
    ax = plots.plot_sky(ra_col, dec_col, skymap=skymap, highlight=highlight).axes[0]
    sources = plots._find_gid(ax, plots.GID_SKY_SOURCES)
    assert ax.collections[0] is sources
    np.testing.assert_allclose(sources.get_offsets(), np.column_stack([ra, dec]), rtol=0, atol=1e-9)
    shown = plots._find_gid(ax, plots.GID_SKY_HIGHLIGHT)
    np.testing.assert_allclose(shown.get_offsets(), np.column_stack([ra[:25], dec[:25]]), atol=1e-9)
    assert shown.get_facecolor()[0][:3] != pytest.approx(sources.get_facecolor()[0][:3])


def test_sky_drops_nan_positions_and_counts_them():
    ra, dec, _ = lesson_sky(30)
    ra[:4] = np.nan
    ax = plots.plot_sky(ra, dec).axes[0]
    assert len(ax.collections[0].get_offsets()) == 56
    assert ax.get_legend().get_title().get_text() == "4 rows with NaN not shown"


def test_sky_warns_about_unitless_radians():
    ra, dec, skymap = lesson_sky(10)
    with pytest.warns(UserWarning, match="radians"):
        plots.plot_sky(np.radians(ra), np.radians(dec), skymap=skymap)


def test_sky_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="same length"):
        plots.plot_sky(np.ones(5), np.ones(4))
    with pytest.raises(ValueError, match="same length"):
        plots.plot_sky(np.ones(5), np.ones(5), highlight=np.ones(4, bool))
    with pytest.raises(ValueError, match="boolean"):
        plots.plot_sky(np.ones(5), np.ones(5), highlight=np.arange(5))
    with pytest.raises(u.UnitsError, match="angle"):
        plots.plot_sky(np.ones(5) * u.m, np.ones(5) * u.deg)


# --- funnel -------------------------------------------------------------------------------------------------
def test_funnel_bars_labels_and_counts():
    table = funnel_table()
    ax = plots.plot_funnel(table).axes[0]
    cumulative = patches_with_gid(ax, plots.GID_FUNNEL_CUMULATIVE)
    alone = patches_with_gid(ax, plots.GID_FUNNEL_ALONE)
    assert [bar.get_width() for bar in cumulative] == list(table["n_kept_cumulative"])
    assert [bar.get_width() for bar in alone] == list(table["n_kept_alone"])
    assert ax.get_xlabel() == "rows kept"
    assert [t.get_text() for t in ax.get_yticklabels()] == list(table["criterion"])
    ylim = ax.get_ylim()
    assert ylim[0] > ylim[1]  # first criterion at the top
    texts = [t.get_text() for t in ax.texts]
    assert texts[-1] == "2,100 (10%); alone 12,000"
    assert any(line.get_xdata()[0] == 20_000 for line in ax.lines)  # n_total from the table's meta


def test_funnel_accepts_a_dict_and_checks_columns():
    data = {"criterion": ["a", "b"], "n_kept_alone": [10, 8], "n_kept_cumulative": [10, 6]}
    ax = plots.plot_funnel(data, show_alone=False).axes[0]
    assert len(patches_with_gid(ax, plots.GID_FUNNEL_CUMULATIVE)) == 2
    assert not patches_with_gid(ax, plots.GID_FUNNEL_ALONE)
    with pytest.raises(ValueError, match="n_kept_alone"):
        plots.plot_funnel({"criterion": ["a"], "n_kept_cumulative": [1]})
    with pytest.raises(ValueError, match="same length"):
        plots.plot_funnel({"criterion": ["a"], "n_kept_alone": [1, 2], "n_kept_cumulative": [1]})
    data["label"] = ["first cut", "second cut"]
    ax = plots.plot_funnel(data, label_column="label").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["first cut", "second cut"]


# --- module-wide conventions --------------------------------------------------------------------------------
def test_no_global_style_change_and_no_show(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() called"))
    keys = ("font.size", "axes.prop_cycle", "image.cmap", "legend.fontsize", "axes.formatter.useoffset")
    before = {key: mpl.rcParams[key] for key in keys}
    i_mag, r_i, g_r = lesson_stars(100)
    ra, dec, skymap = lesson_sky(10)
    plots.plot_cmd(i_mag, r_i)
    plots.plot_color_color(g_r, r_i)
    plots.plot_sky(ra, dec, skymap=skymap)
    plots.plot_funnel(funnel_table())
    after = {key: mpl.rcParams[key] for key in before}
    assert after == before


def test_palette_is_okabe_ito():
    assert plots.OKABE_ITO == {
        "black": "#000000",
        "orange": "#E69F00",
        "sky_blue": "#56B4E9",
        "bluish_green": "#009E73",
        "yellow": "#F0E442",
        "blue": "#0072B2",
        "vermillion": "#D55E00",
        "reddish_purple": "#CC79A7",
    }
    assert plots.COLORS["points"] == plots.OKABE_ITO["blue"]
    assert plots.COLORS["extra"] == plots.OKABE_ITO["vermillion"]
