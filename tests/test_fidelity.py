"""The fidelity benchmark's stable goals, on the default simulated repository, and the SDSS -> HSC colour terms."""

from __future__ import annotations

import runpy

import numpy as np
import pytest
from conftest import REPO_ROOT

from data_fetch import population
from tutorial_lib.photometry import sdss_to_hsc, stellar_locus_g_r, stellar_locus_g_r_hsc

#: The benchmark script, run as a module namespace (benchmarks/ is a folder of scripts, not an installed package).
fidelity = type("Fidelity", (), runpy.run_path(str(REPO_ROOT / "benchmarks" / "fidelity.py")))


@pytest.fixture(scope="module")
def metrics(simulated_repo):
    return {m.name: m for m in fidelity.compute(simulated_repo)}


def test_every_stable_goal_is_met(metrics):
    stable = [m for m in metrics.values() if m.stable]
    assert len(stable) == 7
    assert [m.name for m in stable if not m.ok] == []


def test_stable_numbers_with_their_tolerances(metrics):
    assert metrics["galaxy counts at i = 22, log10(N/deg2/mag)"].value == pytest.approx(4.05, abs=0.1)
    assert metrics["galaxy count slope, 21 < i < 23"].value == pytest.approx(0.33, abs=0.05)
    assert abs(metrics["stars: median g - r offset from the HSC-system locus"].value) < 0.03
    assert metrics["galaxies i < 23 with g - r > 1.4: fraction with r - i < 0.4"].value < 0.02
    assert metrics["5-sigma point-source depth in i (median S/N = 5)"].value == pytest.approx(25.0, abs=0.15)


def test_informational_rows_have_sources(metrics):
    for m in metrics.values():
        assert len(m.source) > 20
    blend = metrics["primary objects that are deblended children, fraction"]
    # Real, one 30-s visit of this field (lsst/faro test data): 8.0% parents, 20% of the other rows children.
    assert blend.target == pytest.approx(144 / 709)
    assert 0.15 < blend.value < 0.35
    parents = metrics["rows that are blend parents, fraction (all rows)"]
    assert parents.target == pytest.approx(62 / 771) and parents.ok


def test_galaxy_colours_follow_their_tracks_jointly():
    rng = np.random.default_rng(3)
    redshift = np.full(4000, 0.5)
    is_red = np.arange(4000) < 2000
    g_r, r_i = population.galaxy_colours(rng, redshift, is_red)
    # Red sequence at z = 0.5: SDSS (1.80, 0.90), moved to HSC: (1.645, 0.940) with the obs_subaru terms.
    assert np.median(g_r[is_red]) == pytest.approx(1.645, abs=0.01)
    assert np.median(r_i[is_red]) == pytest.approx(0.940, abs=0.01)
    assert np.std(g_r[is_red]) < 0.08
    # The blue cloud's two colours move together (correlation 0.7 before the colour terms).
    assert np.corrcoef(g_r[~is_red], r_i[~is_red])[0, 1] > 0.5
    assert np.median(g_r[~is_red]) < 0.8


def test_galaxy_redshifts_rise_with_magnitude():
    rng = np.random.default_rng(4)
    assert np.median(population.galaxy_redshifts(rng, np.full(20000, 22.5))) == pytest.approx(0.6, abs=0.02)
    assert np.median(population.galaxy_redshifts(rng, np.full(20000, 25.0))) == pytest.approx(0.9, abs=0.03)


def test_quasars_at_the_published_counts_and_colours():
    box = ((0.0, 20.0), (-10.0, 10.0))  # 400 deg^2 of sky, so that Poisson noise is small
    area = np.degrees(np.degrees(population._solid_angle_sr(*box)))
    ra, dec, r, g_r, r_i = population._make_quasars(np.random.default_rng(5), *box, 27.5)
    g = r + g_r
    # Palanque-Delabrouille et al. 2013 (abstract): 30 + 99 + 47 = 176 quasars per deg^2 to g = 22.5.
    assert np.count_nonzero(g < 22.5) / area == pytest.approx(176, rel=0.05)
    assert np.count_nonzero(g < 20.85) / area == pytest.approx(36.3, rel=0.05)
    assert np.median(g_r) == pytest.approx(0.15, abs=0.01) and np.median(r_i) == pytest.approx(0.12, abs=0.01)
    assert (ra >= 0).all() and (ra <= 20).all() and (np.abs(dec) <= 10).all()


def test_white_dwarfs_have_harris_density_and_blue_colours():
    # Harris et al. (2006) Fig. 4: 4.55e-3 white dwarfs per pc^3 over 19 half-magnitude bins, peak at M_bol = 15.25.
    assert population.WD_DENSITY_PER_MAG.sum() * 0.5 == pytest.approx(4.55e-3, rel=0.01)
    assert population.WD_MBOL[np.argmax(population.WD_DENSITY_PER_MAG)] == 15.25
    # On the log g = 8 DA sequence a 10,000 K white dwarf (M_bol ~ 11.6) has M_r ~ 12.1 and g - r ~ -0.1.
    assert np.interp(11.6, population.WD_TRACK_MBOL, population.WD_TRACK_ABS_MAG_R) == pytest.approx(12.1, abs=0.05)
    _, _, r, g_r, r_i = population._make_white_dwarfs(np.random.default_rng(6), (0.0, 20.0), (-10.0, 10.0), 27.5)
    # Hot white dwarfs are bluer than any main-sequence star of the halo (turn-off g - r ~ 0.2).
    hot = g_r < -0.2
    assert hot.sum() > 100 and np.all(r_i[hot] < 0.0)
    # White dwarfs of the discs to g = 21 at b ~ -60: of order 10 per deg^2 (cf. Gaia's ~9 per deg^2 to G = 20).
    area = np.degrees(np.degrees(population._solid_angle_sr((0.0, 20.0), (-10.0, 10.0))))
    assert 4 < np.count_nonzero(r + g_r < 21) / area < 20


def test_bhb_absolute_magnitude_is_deasons():
    assert population.bhb_abs_mag_g(-0.1) == pytest.approx(0.434 + 0.0169 + 0.02319 - 0.020449 + 0.0094517)
    _, _, r, g_r, _ = population._make_bhb_stars(np.random.default_rng(7), (0.0, 20.0), (-10.0, 10.0), 27.5)
    assert np.all((g_r >= -0.25) & (g_r <= 0.0)) and len(r) > 100


def test_main_sequence_density_is_the_galfast_j08_luminosity_function():
    edges = np.linspace(0.0, 2.1, 211)
    per_bin = population.main_sequence_density_per_bin(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    abs_mag = population.stellar_locus_abs_mag_r(mid)
    # galfast tests/demo/MrLF.MSandRGB_v1.0.dat: 1.968e-3 stars/pc^3/mag at M_r = 7.5, 8.023e-3 at M_r = 11.
    for m, phi in ((7.5, 1.968e-3), (11.0, 8.023e-3)):
        k = np.argmin(np.abs(abs_mag - m))
        per_mag = per_bin[k] / (np.gradient(abs_mag, mid)[k] * 0.01)
        assert per_mag == pytest.approx(phi, rel=0.05)
    assert np.all(per_bin > 0)


def test_point_source_r_i_histogram_against_the_real_field(metrics):
    # Real data of this field (ci_hsc visits matched in r and i, lsst/faro test data; derived by
    # benchmarks/real_field_colours.py): 524 point sources at 18 < r < 22.5, 171 with r - i > 1, two peaks.
    assert fidelity.REAL_R_I_COUNTS.sum() == 524
    assert fidelity.REAL_R_I_COUNTS[fidelity.R_I_BINS[:-1] >= 0.99].sum() == 171
    red = metrics["point sources 18 < r < 22.5 with r - i > 1, fraction"]
    assert red.target == pytest.approx(171 / 524) and red.tolerance == pytest.approx(0.041)
    # Simulator 1.6 had 0.267; 1.7's unresolved binaries (J08's 35%) bring it within two sigma of the real data.
    assert red.value == pytest.approx(0.292, abs=0.01) and red.ok
    main_peak = metrics["r - i histogram: main peak (bin centre)"]
    assert main_peak.target == pytest.approx(0.3) and main_peak.value == pytest.approx(0.3)
    # The second peak, the M dwarfs, is there since 1.6, at 1.1 against the real 1.3.
    second = metrics["r - i histogram: peak at 1-2 (bin centre; nan if none)"]
    assert second.target == pytest.approx(1.3) and second.value == pytest.approx(1.1)
    blue = metrics["point sources 18 < r < 22.5 with r - i < 0.4, fraction"]
    assert blue.target == pytest.approx(200 / 524) and blue.value == pytest.approx(blue.target, abs=0.03)
    shares = [m for name, m in metrics.items() if name.startswith("point sources 18 < r < 22.5: share")]
    assert len(shares) == 15 and sum(m.value for m in shares) == pytest.approx(1.0, abs=0.01)
    assert sum(m.target for m in shares) == pytest.approx(1.0)


def test_point_source_counts_against_the_real_field(metrics):
    # 245 real point sources at 18 <= i < 20 and 385 at 20 <= i < 22 in 0.0469 deg^2: the simulation has 0.84 and
    # 1.11 times as many (the missing bright M dwarfs; 1.6, without binaries, had 0.81 and 1.08; 1.5, with J08's
    # halo, 0.95 and 1.40).
    bright = metrics["point sources (i extendedness 0), 18 <= i < 20, N/deg2/mag"]
    assert bright.target == pytest.approx(2612) and bright.value / bright.target == pytest.approx(0.84, abs=0.03)
    faint = metrics["point sources (i extendedness 0), 20 <= i < 22, N/deg2/mag"]
    assert faint.value / faint.target == pytest.approx(1.11, abs=0.03)


def test_histogram_peaks_finds_a_second_peak():
    edges = np.arange(-0.4, 2.61, 0.2)
    counts = np.array([0, 1, 50, 40, 20, 15, 18, 25, 22, 10, 3, 1, 0, 0, 0])
    assert fidelity.histogram_peaks(counts, edges) == pytest.approx([0.1, 1.1])


def test_colour_terms_are_obs_subarus():
    # config/colorterms.py "sdss*": HSC-R = r - 0.000711 - 0.006847 (r - i) - 0.035110 (r - i)^2.
    hsc = sdss_to_hsc({"g": np.array([21.4]), "r": np.array([20.0]), "i": np.array([19.0]), "z": np.array([18.47])})
    assert hsc["r"][0] == pytest.approx(20.0 - 0.000711 - 0.006847 - 0.035110)
    assert hsc["g"][0] == pytest.approx(21.4 - 0.009777 - 0.077235 * 1.4 - 0.013121 * 1.96)
    assert hsc["i"][0] == pytest.approx(19.0 + 0.000357 - 0.153290 * 0.53 - 0.009277 * 0.53**2)


def test_hsc_locus_of_an_m_dwarf_is_bluer_in_g_minus_r():
    # An M dwarf of SDSS r - i = 1.0 (g - r = 1.39) has HSC g - r 0.10 lower and r - i 0.04 redder.
    assert stellar_locus_g_r(1.0) - stellar_locus_g_r_hsc(1.041) == pytest.approx(0.10, abs=0.01)
    assert np.isnan(stellar_locus_g_r_hsc(5.0))


def test_unresolved_binaries_are_brighter_and_redder_by_at_most_an_equal_twin():
    rng = np.random.default_rng(11)
    r_i = rng.uniform(0.0, 2.0, 20000)
    r = np.full(20000, 20.0)
    systems = population._add_unresolved_companions(rng, r, r_i)
    brighter = r - systems["r"]
    # 35% are binaries. The companions of primaries bluer than r - i = 0.3 (M_r < 6.8) shine unless drawn fainter
    # than M_r = 13.5 (the locus's reddest star): about 80% of the luminosity function fainter than M_r = 7 is not.
    m, phi = population.LF_ABS_MAG_R, 10**population.LF_LOG10_DENSITY
    shines = np.trapezoid(phi[(m >= 7) & (m <= 13.5)], dx=0.5) / np.trapezoid(phi[m >= 7], dx=0.5)
    assert shines == pytest.approx(0.80, abs=0.02)
    blue = r_i < 0.3
    assert np.mean(brighter[blue] > 0) == pytest.approx(0.35 * shines, abs=0.03)
    # A companion is never brighter than its primary, so a system gains at most 2.5 log10(2).
    assert brighter.min() == 0.0 and brighter.max() <= 2.5 * np.log10(2) + 1e-9
    # Companions are redder: a binary's r - i is never bluer than its primary's.
    assert np.all(systems["r"] - systems["i"] >= r_i - 1e-9)
    single = brighter == 0.0
    assert np.allclose(systems["i"][single], (r - r_i)[single])


def test_main_reports_the_missed_goal(simulated_repo, capsys, monkeypatch):
    # Real data with three times the red stars: the simulation's red fraction misses it, and main says so.
    counts = fidelity.REAL_R_I_COUNTS.copy()
    counts[fidelity.R_I_BINS[:-1] >= 0.99] *= 3
    monkeypatch.setitem(fidelity.main.__globals__, "REAL_R_I_COUNTS", counts)
    assert fidelity.main(["--repo", str(simulated_repo)]) == 1
    out = capsys.readouterr().out
    assert "1 stable goal(s) missed." in out and "Capak et al. 2004" in out
    missed = [line for line in out.splitlines() if " MISSED " in line]
    assert len(missed) == 1 and missed[0].startswith("point sources 18 < r < 22.5 with r - i > 1, fraction")
