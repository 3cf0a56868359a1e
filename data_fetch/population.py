"""The true sky of the simulation: Milky Way stars, galaxies, and the groups that blend.

Every number below carries its source. Where a number is a modelling choice rather than a measurement it says
so; the lessons only need the choices to give catalogues that behave like real HSC coadd catalogues.

Stars
    The Juric et al. (2008, ApJ 673, 864; "J08") Milky Way: thin and thick exponential discs and a power-law
    halo (their Table 10), with the Sun at R = 8000 pc, Z = 25 pc (J08 Table 10). Absolute magnitudes and
    colours come from the stellar locus of J08 / Ivezic et al. (2008): with x = r - i,
    ``M_r = 4.0 + 11.86x - 10.74x^2 + 5.99x^3 - 1.20x^4`` and
    ``g - r = 1.39 (1 - exp(-4.9x^3 - 2.45x^2 - 1.68x - 0.050))`` (J08 eq. 1 and A7). The old halo and
    thick disc have no main-sequence stars bluer than their turn-off, which makes the blue turn-off edge of a
    high-latitude CMD. The stars' SDSS magnitudes are then moved to the HSC system with the colour terms of
    lsst/obs_subaru ``config/colorterms.py`` (``tutorial_lib.photometry.sdss_to_hsc``).
Galaxies
    Power-law i-band number counts; a redshift for each galaxy from a magnitude-dependent redshift
    distribution; g - r and r - i drawn jointly from a red sequence or a blue cloud whose colours move with
    redshift (the bimodality of Strateva et al. 2001, AJ 122, 1861; the tracks of Fukugita, Shimasaku &
    Ichikawa 1995, PASP 107, 945 and Eisenstein et al. 2001, AJ 122, 2267), then moved to the HSC system;
    sizes shrinking with magnitude.
Blends
    A fraction of objects is put into close groups: 2 to 5 objects within a few arcsec (deblended into a parent
    and its children) or a pair closer than the PSF (never deblended: one row measures both).
"""

from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from tutorial_lib.photometry import sdss_i_z_of_main_sequence, sdss_to_hsc, stellar_locus_g_r

__all__ = [
    "TrueSky",
    "galaxy_colours",
    "galaxy_redshifts",
    "make_true_sky",
    "stellar_locus_g_r",
    "stellar_locus_abs_mag_r",
]

STAR, GALAXY = 0, 1

# --- Milky Way (Juric et al. 2008, ApJ 673, 864, Table 10, bias-corrected best fit) -------------------
SUN_R_PC = 8000.0
SUN_Z_PC = 25.0
THIN_DISC_SCALE_LENGTH_PC, THIN_DISC_SCALE_HEIGHT_PC = 2600.0, 300.0
THICK_DISC_SCALE_LENGTH_PC, THICK_DISC_SCALE_HEIGHT_PC = 3600.0, 900.0
THICK_DISC_LOCAL_FRACTION = 0.12
HALO_LOCAL_FRACTION = 0.0051  # f_H, J08 Table 10 (also galfast's halo config)
HALO_FLATTENING = 0.64  # q_H = c/a
HALO_POWER_LAW = 2.77  # n_H

#: Local luminosity function of main-sequence stars, log10(stars / pc^3 / mag) against M_r. The shape follows
#: J08 (their Fig. 23) and Bochanski et al. (2010, AJ 139, 2679, Fig. 14): rising from the turn-off to a broad
#: peak near M_r = 11 among M dwarfs. Values are rounded readings of those figures, good to about 0.2 dex,
#: which is as well as the lessons need (they never show absolute star counts).
LF_ABS_MAG_R = np.array([4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 13.5])
LF_LOG10_DENSITY = np.array([-3.3, -3.0, -2.8, -2.65, -2.5, -2.35, -2.25, -2.2, -2.25, -2.4, -2.5])

#: Reddest r - i of the locus polynomial used: M_r(x) rises monotonically up to x = 2.1 (M_r = 13.5);
#: the polynomial is a fit to the main sequence at r - i < ~2 (J08 Sect. 2.2) and turns over beyond.
LOCUS_MAX_R_I = 2.1
#: Bluest main-sequence r - i of each population: its turn-off. Thin disc 0.0 (g - r = 0.07); thick disc
#: 0.11 (g - r = 0.33) and halo 0.07 (g - r = 0.23): the thick-disc and halo turn-offs at g - r of about
#: 0.33 and 0.2-0.25 seen in SDSS (J08 Sect. 2; Ivezic et al. 2008, ApJ 684, 287, Fig. 2).
TURN_OFF_R_I = {"thin": 0.0, "thick": 0.11, "halo": 0.07}
#: Intrinsic width of the stellar locus in g - r, mag (Ivezic et al. 2008 quote about 0.02-0.03 mag).
LOCUS_WIDTH_G_R = 0.025

# --- galaxies -------------------------------------------------------------------------------------------
#: Differential i-band galaxy counts, log10(N / deg^2 / mag) = GALAXY_COUNTS_AT_22 + slope (i - 22): about
#: 11,000 per deg^2 per mag at i = 22 and a slope of 0.33 dex/mag for 20 < i < 25, as in deep i-band counts
#: (e.g. Capak et al. 2004, AJ 127, 180, Fig. 7; HSC-SSP, Aihara et al. 2018, PASJ 70, S8).
GALAXY_COUNTS_AT_22 = 4.05
GALAXY_COUNTS_SLOPE = 0.33
GALAXY_MAG_RANGE = (17.0, 26.5)
#: Galaxy redshifts: p(z | i) proportional to z^2 exp(-(z / z0)^1.5), whose median is 1.412 z0 (the form of
#: Baugh & Efstathiou 1993, MNRAS 265, 145), with the median redshift rising with i magnitude from about 0.3 at
#: i = 20 to 0.6 at i = 22.5 and 0.9 at i = 25, as in the photometric redshifts of i-selected samples (Ilbert
#: et al. 2006, A&A 457, 841, Sect. 6 and Fig. 13). Linear in i, rounded; modelling choice within those values.
GALAXY_MEDIAN_Z_AT_22_5 = 0.6
GALAXY_MEDIAN_Z_SLOPE = 0.12  #: per mag in i
GALAXY_MEDIAN_Z_MIN = 0.1
#: Observed SDSS colours against redshift of the two populations: the red sequence is the track of a
#: passively evolving early-type galaxy (z = 0 colours g - r = 0.77, r - i = 0.40 of an elliptical in
#: Fukugita et al. 1995, PASP 107, 945, Table 3; the track of Eisenstein et al. 2001, AJ 122, 2267, Sect. 2,
#: along which r - i = (g - r) / 4 + 0.18 below z = 0.4 (their c_perp = 0) and r - i then rises steeply
#: while g - r stays near 1.9). The blue cloud follows an Sbc-Scd star-forming spectrum (Fukugita et al. 1995,
#: Table 3 at z = 0: g - r about 0.5, r - i about 0.25). Values rounded to 0.05 mag; the lessons need the
#: populations' shapes, not per-galaxy accuracy.
GALAXY_TRACK_Z = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.6])
RED_SEQUENCE_G_R = np.array([0.77, 0.95, 1.20, 1.50, 1.70, 1.80, 1.85, 1.90, 1.90, 1.95, 1.95, 1.90])
RED_SEQUENCE_R_I = np.array([0.40, 0.42, 0.48, 0.55, 0.65, 0.90, 1.10, 1.25, 1.35, 1.45, 1.45, 1.40])
BLUE_CLOUD_G_R = np.array([0.50, 0.55, 0.65, 0.75, 0.80, 0.80, 0.75, 0.70, 0.65, 0.55, 0.45, 0.35])
BLUE_CLOUD_R_I = np.array([0.25, 0.27, 0.30, 0.33, 0.38, 0.45, 0.52, 0.58, 0.60, 0.55, 0.50, 0.40])
#: Fraction of red-sequence galaxies, and each population's scatter about its track in (g - r, r - i) with the
#: correlation of the two colours: the red sequence is narrow (about 0.05 mag, e.g. Bell et al. 2004, ApJ 608,
#: 752); the blue cloud spans Sbc to Im spectra, which move both colours together. Modelling choices.
GALAXY_POPULATIONS = {
    "red": {"fraction": 0.3, "sigma": (0.06, 0.05), "correlation": 0.5},
    "blue": {"fraction": 0.7, "sigma": (0.15, 0.10), "correlation": 0.7},
}
#: Median half-light radius (arcsec) at i = 20, shrinking by 0.12 dex per mag, with 0.3 dex scatter: about
#: 0.26" at i = 24 as in HST size-magnitude relations (e.g. Ferguson et al. 2004, ApJ 600, L107). Choice.
GALAXY_SIZE_AT_20_ARCSEC = 0.8
GALAXY_SIZE_SLOPE = -0.12
GALAXY_SIZE_SCATTER_DEX = 0.3

# --- blends (modelling choices, tuned so that about 10% of rows are blend parents or children) ------------
BLEND_GROUP_FRACTION = 0.06  #: fraction of objects that seed a group of 2-5 blended objects
BLEND_GROUP_RADIUS_ARCSEC = 2.5  #: members lie within this radius of the seed (overlapping footprints)
BLEND_MIN_SEPARATION_ARCSEC = 0.8  #: deblended members are at least this far apart (> PSF FWHM)
UNRESOLVED_PAIR_FRACTION = 0.01  #: fraction of objects with a companion closer than the PSF
UNRESOLVED_PAIR_MAX_SEPARATION_ARCSEC = 0.35  #: half the PSF FWHM: one peak, never deblended


def stellar_locus_abs_mag_r(r_i):
    """Absolute magnitude M_r of a main-sequence star of colour r - i (Juric et al. 2008 photometric parallax)."""
    x = np.asarray(r_i, dtype=float)
    return 4.0 + 11.86 * x - 10.74 * x**2 + 5.99 * x**3 - 1.20 * x**4


@dataclass
class TrueSky:
    """All true objects: one entry per object, indexed by ``truth_id``.

    ``group`` is the blend group an object belongs to (-1 if none); ``pair`` is the index of the brighter
    companion an unresolved pair is measured as (-1 if none; the brighter member has ``pair == itself``).
    """

    ra: np.ndarray
    dec: np.ndarray
    kind: np.ndarray
    mag: dict
    size_arcsec: np.ndarray
    group: np.ndarray
    pair: np.ndarray

    def __len__(self) -> int:
        return len(self.ra)


def _density_along_sightline(distance_pc, l_rad, b_rad):
    """Stellar number density relative to the solar neighbourhood, for each J08 component."""
    x = SUN_R_PC - distance_pc * np.cos(b_rad) * np.cos(l_rad)
    y = -distance_pc * np.cos(b_rad) * np.sin(l_rad)
    z = distance_pc * np.sin(b_rad) + SUN_Z_PC
    radius = np.hypot(x, y)

    def disc(length, height):
        return np.exp((SUN_R_PC - radius) / length - (np.abs(z) - abs(SUN_Z_PC)) / height)

    thin = disc(THIN_DISC_SCALE_LENGTH_PC, THIN_DISC_SCALE_HEIGHT_PC)
    thick = THICK_DISC_LOCAL_FRACTION * disc(THICK_DISC_SCALE_LENGTH_PC, THICK_DISC_SCALE_HEIGHT_PC)
    halo = HALO_LOCAL_FRACTION * (
        (SUN_R_PC**2 + (SUN_Z_PC / HALO_FLATTENING) ** 2) / (radius**2 + (z / HALO_FLATTENING) ** 2)
    ) ** (HALO_POWER_LAW / 2)
    return {"thin": thin, "thick": thick, "halo": halo}


def _make_stars(rng, ra_range, dec_range, faint_limit_r):
    """Draw stars from the J08 model in the RA/Dec box: returns ra, dec, r, r - i."""
    center = SkyCoord(np.mean(ra_range) * u.deg, np.mean(dec_range) * u.deg).galactic
    l_rad, b_rad = center.l.radian, center.b.radian
    solid_angle_sr = np.radians(ra_range[1] - ra_range[0]) * (
        np.sin(np.radians(dec_range[1])) - np.sin(np.radians(dec_range[0]))
    )
    # Integrate on a grid of distance and colour; each cell's expected count is a Poisson mean.
    log_d_edges = np.linspace(1.0, 5.3, 431)  # 10 pc to 200 kpc
    d_mid = 10 ** (0.5 * (log_d_edges[1:] + log_d_edges[:-1]))
    d_width = np.diff(10**log_d_edges)
    x_edges = np.linspace(0.0, LOCUS_MAX_R_I, 211)
    x_mid = 0.5 * (x_edges[1:] + x_edges[:-1])
    abs_mag = stellar_locus_abs_mag_r(x_mid)
    dm_dx = np.gradient(abs_mag, x_mid)
    lf = 10 ** np.interp(abs_mag, LF_ABS_MAG_R, LF_LOG10_DENSITY)  # stars / pc^3 / mag, per unit local density
    per_x = lf * dm_dx * np.diff(x_edges)  # stars / pc^3 in each colour bin
    densities = _density_along_sightline(d_mid, l_rad, b_rad)
    volume = solid_angle_sr * d_mid**2 * d_width  # pc^3 per distance bin
    distance_modulus = 5 * np.log10(d_mid / 10.0)
    apparent_r = abs_mag[None, :] + distance_modulus[:, None]
    visible = (apparent_r < faint_limit_r) & (apparent_r > 13.0)
    ra_list, dec_list, r_list, x_list = [], [], [], []
    for component in ("thin", "thick", "halo"):
        expected = volume[:, None] * densities[component][:, None] * per_x[None, :]
        expected = np.where(visible & (x_mid[None, :] >= TURN_OFF_R_I[component]), expected, 0.0)
        counts = rng.poisson(expected)
        d_idx, x_idx = np.nonzero(counts)
        repeats = counts[d_idx, x_idx]
        d_idx = np.repeat(d_idx, repeats)
        x_idx = np.repeat(x_idx, repeats)
        n = len(d_idx)
        # Spread each star uniformly within its grid cell so that no grid pattern shows in the CMD.
        log_d = log_d_edges[d_idx] + rng.random(n) * (log_d_edges[1] - log_d_edges[0])
        x = x_edges[x_idx] + rng.random(n) * (x_edges[1] - x_edges[0])
        r = stellar_locus_abs_mag_r(x) + 5 * (log_d - 1.0)
        ra_list.append(ra_range[0] + rng.random(n) * (ra_range[1] - ra_range[0]))
        sin_dec = np.sin(np.radians(dec_range[0])) + rng.random(n) * (
            np.sin(np.radians(dec_range[1])) - np.sin(np.radians(dec_range[0]))
        )
        dec_list.append(np.degrees(np.arcsin(sin_dec)))
        r_list.append(r)
        x_list.append(x)
    return (np.concatenate(ra_list), np.concatenate(dec_list), np.concatenate(r_list), np.concatenate(x_list))


def galaxy_redshifts(rng: np.random.Generator, mag_i) -> np.ndarray:
    """Redshifts of galaxies of i magnitude ``mag_i``, drawn from p(z) proportional to z^2 exp(-(z / z0)^1.5).

    With t = (z / z0)^1.5 the distribution is t exp(-t) dt, a Gamma(2) distribution; z0 is the median over
    1.412 (see :data:`GALAXY_MEDIAN_Z_AT_22_5`).
    """
    mag_i = np.asarray(mag_i, dtype=float)
    median = np.maximum(GALAXY_MEDIAN_Z_AT_22_5 + GALAXY_MEDIAN_Z_SLOPE * (mag_i - 22.5), GALAXY_MEDIAN_Z_MIN)
    return median / 1.412 * rng.gamma(2.0, size=mag_i.shape) ** (2.0 / 3.0)


def galaxy_colours(rng: np.random.Generator, redshift, is_red) -> tuple[np.ndarray, np.ndarray]:
    """HSC g - r and r - i of galaxies, drawn jointly about their population's track at their redshift.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random numbers.
    redshift : array-like
        Each galaxy's redshift.
    is_red : array-like of bool
        True for red-sequence galaxies, False for the blue cloud.

    Returns
    -------
    g_r, r_i : numpy.ndarray
        Colours in the HSC system (the SDSS tracks of :data:`GALAXY_TRACK_Z` moved with
        :func:`tutorial_lib.photometry.sdss_to_hsc`).
    """
    redshift = np.asarray(redshift, dtype=float)
    is_red = np.asarray(is_red, dtype=bool)
    g_r, r_i = np.empty(len(redshift)), np.empty(len(redshift))
    for name, chosen, tracks in (
        ("red", is_red, (RED_SEQUENCE_G_R, RED_SEQUENCE_R_I)),
        ("blue", ~is_red, (BLUE_CLOUD_G_R, BLUE_CLOUD_R_I)),
    ):
        pop = GALAXY_POPULATIONS[name]
        (s_gr, s_ri), rho = pop["sigma"], pop["correlation"]
        cov = [[s_gr**2, rho * s_gr * s_ri], [rho * s_gr * s_ri, s_ri**2]]
        scatter = rng.multivariate_normal([0.0, 0.0], cov, size=int(chosen.sum()))
        g_r[chosen] = np.interp(redshift[chosen], GALAXY_TRACK_Z, tracks[0]) + scatter[:, 0]
        r_i[chosen] = np.interp(redshift[chosen], GALAXY_TRACK_Z, tracks[1]) + scatter[:, 1]
    # SDSS -> HSC. i - z enters only the HSC-I term (coefficient -0.15); the main-sequence relation i - z of
    # about half r - i holds for galaxies too to about 0.2 mag, i.e. 0.03 mag in HSC i.
    sdss = {"r": np.zeros_like(g_r), "g": g_r, "i": -r_i}
    sdss["z"] = sdss["i"] - sdss_i_z_of_main_sequence(r_i)
    hsc = sdss_to_hsc(sdss)
    return hsc["g"] - hsc["r"], hsc["r"] - hsc["i"]


def _make_galaxies(rng, ra_range, dec_range):
    """Draw galaxies: ra, dec, i, g - r, r - i, half-light radius (arcsec)."""
    area_deg2 = np.degrees(np.radians(ra_range[1] - ra_range[0])) * np.degrees(
        np.sin(np.radians(dec_range[1])) - np.sin(np.radians(dec_range[0]))
    )
    lo, hi = GALAXY_MAG_RANGE
    slope_ln = GALAXY_COUNTS_SLOPE * np.log(10)
    # Integral of 10**(a + s (i - 22)) from lo to hi.
    total = (
        area_deg2 * 10**GALAXY_COUNTS_AT_22 * (np.exp(slope_ln * (hi - 22)) - np.exp(slope_ln * (lo - 22))) / slope_ln
    )
    n = rng.poisson(total)
    # Inverse-CDF sampling of the exponential magnitude distribution.
    u_ = rng.random(n)
    e_lo, e_hi = np.exp(slope_ln * (lo - 22)), np.exp(slope_ln * (hi - 22))
    mag_i = 22 + np.log(e_lo + u_ * (e_hi - e_lo)) / slope_ln
    redshift = galaxy_redshifts(rng, mag_i)
    g_r, r_i = galaxy_colours(rng, redshift, rng.random(n) < GALAXY_POPULATIONS["red"]["fraction"])
    size = GALAXY_SIZE_AT_20_ARCSEC * 10 ** (
        GALAXY_SIZE_SLOPE * (mag_i - 20) + GALAXY_SIZE_SCATTER_DEX * rng.standard_normal(n)
    )
    ra = ra_range[0] + rng.random(n) * (ra_range[1] - ra_range[0])
    sin_dec = np.sin(np.radians(dec_range[0])) + rng.random(n) * (
        np.sin(np.radians(dec_range[1])) - np.sin(np.radians(dec_range[0]))
    )
    return ra, np.degrees(np.arcsin(sin_dec)), mag_i, g_r, r_i, size


def _offset(rng, ra, dec, n, min_arcsec, max_arcsec):
    """Positions at a random angle and a separation uniform in area between the two radii."""
    sep = np.sqrt(rng.uniform(min_arcsec**2, max_arcsec**2, n)) / 3600.0
    angle = rng.uniform(0, 2 * np.pi, n)
    return ra + sep * np.cos(angle) / np.cos(np.radians(dec)), dec + sep * np.sin(angle)


def _make_blends(rng, sky_ra, sky_dec, mag_i):
    """Move some objects next to others: blend groups of 2-5, and unresolved pairs. Modifies positions."""
    n = len(sky_ra)
    group = np.full(n, -1)
    pair = np.full(n, -1)
    order = rng.permutation(n)
    n_groups = int(BLEND_GROUP_FRACTION * n)
    cursor = 0
    for g in range(n_groups):
        size = int(rng.integers(2, 6))
        members = order[cursor : cursor + size]
        cursor += size
        if len(members) < size:
            break
        seed = members[0]
        group[members] = g
        # Place members on a ring around the seed, with a minimum separation from the seed; members placed
        # at random angles may still lie close to each other, as in real blends.
        ra_m, dec_m = _offset(
            rng, sky_ra[seed], sky_dec[seed], size - 1, BLEND_MIN_SEPARATION_ARCSEC, BLEND_GROUP_RADIUS_ARCSEC
        )
        sky_ra[members[1:]] = ra_m
        sky_dec[members[1:]] = dec_m
    n_pairs = int(UNRESOLVED_PAIR_FRACTION * n)
    for _ in range(n_pairs):
        a, b = order[cursor : cursor + 2]
        cursor += 2
        ra_b, dec_b = _offset(rng, sky_ra[a], sky_dec[a], 1, 0.05, UNRESOLVED_PAIR_MAX_SEPARATION_ARCSEC)
        sky_ra[b], sky_dec[b] = ra_b[0], dec_b[0]
        brighter = a if mag_i[a] <= mag_i[b] else b
        pair[[a, b]] = brighter
    return group, pair


def make_true_sky(rng: np.random.Generator, ra_range, dec_range, faint_limit_r: float = 27.5) -> TrueSky:
    """Draw every true object in the RA/Dec box (degrees), stars first, then galaxies, then blends."""
    s_ra, s_dec, s_r, s_x = _make_stars(rng, ra_range, dec_range, faint_limit_r)
    s_g_r = stellar_locus_g_r(s_x) + LOCUS_WIDTH_G_R * rng.standard_normal(len(s_r))
    # The locus and the luminosity function are SDSS's; the coadds are HSC's: move the stars to the HSC system
    # with obs_subaru's colour terms (tutorial_lib.photometry.sdss_to_hsc).
    sdss_i = s_r - s_x
    hsc = sdss_to_hsc({"g": s_r + s_g_r, "r": s_r, "i": sdss_i, "z": sdss_i - sdss_i_z_of_main_sequence(s_x)})
    s_r, s_x, s_g_r = hsc["r"], hsc["r"] - hsc["i"], hsc["g"] - hsc["r"]
    g_ra, g_dec, g_i, g_g_r, g_r_i, g_size = _make_galaxies(rng, ra_range, dec_range)
    ra = np.concatenate([s_ra, g_ra])
    dec = np.concatenate([s_dec, g_dec])
    mag_r = np.concatenate([s_r, g_i + g_r_i])
    r_i = np.concatenate([s_x, g_r_i])
    g_r = np.concatenate([s_g_r, g_g_r])
    mag = {"g": mag_r + g_r, "r": mag_r, "i": mag_r - r_i}
    kind = np.concatenate([np.full(len(s_ra), STAR), np.full(len(g_ra), GALAXY)])
    size = np.concatenate([np.zeros(len(s_ra)), g_size])
    group, pair = _make_blends(rng, ra, dec, mag["i"])
    return TrueSky(ra=ra, dec=dec, kind=kind, mag=mag, size_arcsec=size, group=group, pair=pair)
