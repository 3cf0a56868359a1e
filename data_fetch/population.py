"""The true sky of the simulation: Milky Way stars, galaxies, and the groups that blend.

Every number below carries its source. Where a number is a modelling choice rather than a measurement it says
so; the lessons only need the choices to give catalogues that behave like real HSC coadd catalogues.

Stars
    The Juric et al. (2008, ApJ 673, 864; "J08") Milky Way discs: thin and thick exponential discs (their
    Table 10), with the Sun at R = 8000 pc, Z = 25 pc (J08 Table 10), and the power-law halo of de Jong et al.
    (2010, ApJ 714, 663; since simulator 1.6, see :data:`HALO_LOCAL_FRACTION`). Absolute magnitudes and
    colours come from the stellar locus of J08 / Ivezic et al. (2008): with x = r - i,
    ``M_r = 4.0 + 11.86x - 10.74x^2 + 5.99x^3 - 1.20x^4`` and
    ``g - r = 1.39 (1 - exp(-4.9x^3 - 2.45x^2 - 1.68x - 0.050))`` (J08 eq. 1 and A7). The old halo and
    thick disc have no main-sequence stars bluer than their turn-off, which makes the blue turn-off edge of a
    high-latitude CMD. 35% of the main-sequence systems are unresolved binaries (since simulator 1.7: the
    binary fraction for which J08 bias-correct their disc scales; see :data:`BINARY_FRACTION`). The stars' SDSS
    magnitudes are then moved to the HSC system with the colour terms of lsst/obs_subaru ``config/colorterms.py``
    (``tutorial_lib.photometry.sdss_to_hsc``).
The blue end
    Point sources bluer than the turn-off: quasars at the g-band counts of Palanque-Delabrouille et al. (2013,
    A&A 551, A29), white dwarfs in the J08 discs with the luminosity function and space density of Harris et
    al. (2006, AJ 131, 571), and halo blue horizontal-branch stars with the absolute magnitudes of Deason et
    al. (2011, MNRAS 416, 2903).
Galaxies
    Power-law i-band number counts; a redshift for each galaxy from a magnitude-dependent redshift
    distribution; g - r and r - i drawn jointly from a red sequence or a blue cloud whose colours move with
    redshift (the bimodality of Strateva et al. 2001, AJ 122, 1861; the tracks of Fukugita, Shimasaku &
    Ichikawa 1995, PASP 107, 945 and Eisenstein et al. 2001, AJ 122, 2267), then moved to the HSC system;
    sizes shrinking with magnitude.
Blends
    A fraction of objects is put into close groups: 2 to 5 objects within a few arcsec (deblended into a parent
    and its children) or a pair closer than the PSF (never deblended: one row measures both).

Verification status (simulator 1.7; checked December 2026, each source named where the value is defined)
    Checked against a public file: the main-sequence luminosity function (galfast MrLF.MSandRGB_v1.0.dat), the
    J08 Table 10 structure (galfast's ``tests/demo/model.*.conf`` hold its other, "biased" column), the 35% binary
    fraction (J08 abstract), the colour terms (obs_subaru), the quasar colours (a copy of Richards et al. 2001's
    median-colour table), the white-dwarf luminosity function (a copy of Harris et al. 2006's, used as it is since
    simulator 1.5), the DA cooling sequence (the Montreal group's DA photometry table, used since 1.5) and the BHB
    absolute magnitude relation of Deason et al. (2011). Checked against abstracts: the quasar counts to g = 19.3
    and 20.85, the BHB density near the Sun (Brown et al. 2008, not Deason et al. 2011) and the Strateva et al.
    (2001) galaxy-colour bimodality. NOT verified here (no stored copy found): the galaxy colour tracks (Fukugita
    et al. 1995 Table 3; Eisenstein et al. 2001; only cross-checked against CWW templates, which shows the blue
    track bluer than Sbc-Scd) and Bosch et al. (2018)'s 58% blended.
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
    "main_sequence_density_per_bin",
    "make_true_sky",
    "stellar_locus_g_r",
    "stellar_locus_abs_mag_r",
]

STAR, GALAXY = 0, 1

# --- Milky Way discs (Juric et al. 2008, ApJ 673, 864, Table 10, bias-corrected best fit) --------------
SUN_R_PC = 8000.0
SUN_Z_PC = 25.0
THIN_DISC_SCALE_LENGTH_PC, THIN_DISC_SCALE_HEIGHT_PC = 2600.0, 300.0
THICK_DISC_SCALE_LENGTH_PC, THICK_DISC_SCALE_HEIGHT_PC = 3600.0, 900.0
THICK_DISC_LOCAL_FRACTION = 0.12
# --- the stellar halo (de Jong et al. 2010, ApJ 714, 663, abstract; arXiv:0911.3900) ------------------------
#: Fitted by CMD fitting of SEGUE photometry at |Z| > 1 kpc: flattening c/a = 0.88 +- 0.03 within 25 kpc,
#: power-law index 2.75 +- 0.07 for 7 kpc < R_GC < 30 kpc, and densities at the Sun of 10^(-4.20 +- 0.05)
#: (halo) and 10^(-2.3 +- 0.1) (thick disc) solar masses per pc^3. The halo's local density relative to the
#: thin disc is their halo-to-thick-disc ratio times J08's thick-to-thin one (stars per solar mass taken as equal
#: in the two old populations). Simulator 1.6 replaced J08's halo (f_H = 0.0051, c/a = 0.64, n = 2.77), which
#: gave about twice the turn-off stars (r - i < 0.4) at 20 < r < 22.5 of the real HSC data of this field
#: (benchmarks/fidelity.py, benchmarks/real_field_colours.py); with this halo the simulated point sources with
#: r - i < 0.4 are 0.95, 1.07 and 1.18 times the real ones at 18-20, 20-21 and 21-22.5.
HALO_LOCAL_FRACTION = THICK_DISC_LOCAL_FRACTION * 10 ** (-4.20 - (-2.3))  # 0.0015
HALO_FLATTENING = 0.88  # q_H = c/a
HALO_POWER_LAW = 2.75  # n_H

#: Local luminosity function of main-sequence stars, log10(stars / pc^3 / mag) against M_r, every 0.5 mag: the
#: table the J08 authors ship with their Milky Way simulator, github.com/mjuric/galfast
#: ``tests/demo/MrLF.MSandRGB_v1.0.dat`` (commit b9900900657c9709dc8130285819b3bce6a3b2c1; Z. Ivezic, Oct 2009),
#: read at these M_r. Its header: the J08 luminosity function for 4.9 < M_r < 12, the M/L dwarf luminosity
#: function of Covey et al. (2008, AJ 136, 1778) for M_r > 15 and a spline between. It replaces rounded readings
#: of J08 Fig. 23 and Bochanski et al. (2010) Fig. 14 used before simulator 1.4.
LF_ABS_MAG_R = np.arange(3.0, 16.01, 0.5)
LF_LOG10_DENSITY = np.array(
    [-3.142, -2.977, -2.812, -2.647, -2.444, -2.596, -2.655, -2.632, -2.672, -2.706, -2.649, -2.538, -2.409]
    + [-2.288, -2.190, -2.125, -2.096, -2.108, -2.175, -2.250, -2.302, -2.344, -2.391, -2.457, -2.555, -2.700]
    + [-2.891]
)

#: Not used: galfast's ``workspace/lumfun.txt`` (phi against r - i), which simulator 1.3 took for the J08
#: luminosity function, is "a rough approximation of Kroupa's function" (its commit 9221b74's message), not J08's.

#: Fraction of main-sequence systems that are unresolved binaries: the "assumed 35% binary fraction" for which
#: Juric et al. (2008, ApJ 673, 864, abstract) bias-correct the disc scales used above. Those scales describe the
#: true discs only if the simulated sky has such binaries: a binary is brighter than a single star of its colour,
#: so it is seen farther. (The J08 authors' own simulator, galfast, has no binaries and so takes Table 10's
#: "biased" scales instead: github.com/mjuric/galfast tests/demo/model.thindisk.conf, b9900900; with our
#: luminosity function those gave 0.6 times the real point sources at 18 < i < 20.) The companion of each binary
#: is drawn from the same luminosity function, no brighter than its primary (random pairing; a modelling choice,
#: ``_add_unresolved_companions``). Simulator 1.7 added them: point sources redder than r - i = 1 at
#: 18 < r < 22.5 went from 26.7% to 29.2% (real data of this field: 32.6 +- 2.0%; benchmarks/fidelity.py).
BINARY_FRACTION = 0.35

#: Reddest r - i of the locus polynomial used: M_r(x) rises monotonically up to x = 2.1 (M_r = 13.5);
#: the polynomial is a fit to the main sequence at r - i < ~2 (J08 Sect. 2.2) and turns over beyond.
LOCUS_MAX_R_I = 2.1
#: Bluest main-sequence r - i of each population: its turn-off. Thin disc 0.0 (g - r = 0.07); thick disc
#: 0.11 (g - r = 0.33) and halo 0.07 (g - r = 0.23): the thick-disc and halo turn-offs at g - r of about
#: 0.33 and 0.2-0.25 seen in SDSS (J08 Sect. 2; Ivezic et al. 2008, ApJ 684, 287, Fig. 2).
TURN_OFF_R_I = {"thin": 0.0, "thick": 0.11, "halo": 0.07}
#: Intrinsic width of the stellar locus in g - r, mag (Ivezic et al. 2008 quote about 0.02-0.03 mag).
LOCUS_WIDTH_G_R = 0.025

# --- the blue end -----------------------------------------------------------------------------------------
#: Differential g-band counts of quasars (all redshifts), log10(N / deg^2 / mag) at the g of QSO_COUNTS_G,
#: steep to g ~ 20 and flattening beyond. Verified here: the cumulative density to g = 22.5, 176 per deg^2 (30 at
#: 0.68 < z < 1, 99 at 1 < z < 2.15 and 47 at z > 2.15 to extinction-corrected g = 22.5; Palanque-Delabrouille et al.
#: 2013, A&A 551, A29, abstract), which the table integrates to (simulator 1.4; 1.3 had 120). The brighter
#: anchors, checked against the abstracts: the table gives 34.7 per deg^2 at 18.25 < g < 20.85 and 36.3 to
#: g = 20.85, against the 2QZ's "35 QSOs deg^-2" at 18.25 < b_J < 20.85 (Croom et al. 2004, MNRAS 349, 1397,
#: abstract; b_J taken as g); and 6.3 to g = 19.3, against the SDSS DR7 quasar catalogue's 105,783 quasars over
#: ~9380 deg^2, "slightly over half" with i < 19 (Schneider et al. 2010, AJ 139, 2360, abstract), i.e. at least
#: 5.6 per deg^2 to i = 19, which is g ~ 19.25 for quasar g - i ~ 0.25 (the colours below). Between g = 20 and 22
#: the 1.3 table (which had 34 there) is raised smoothly by up to 0.24 dex to reach the verified 176.
QSO_COUNTS_G = np.array([16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0])
QSO_LOG10_COUNTS = np.array([-0.9, -0.35, 0.2, 0.75, 1.2, 1.67, 2.04, 2.19, 2.29, 2.39, 2.44])
#: Quasar colours at z < 2.2 (SDSS; Richards et al. 2001, AJ 121, 2308): mean and spread of each colour, a
#: modelling choice within the paper's median colours against redshift, as copied (with the journal's \ldots for
#: empty bins) in github.com/rahulporuri/quasar_colors original_data/median_color.txt (commit e849c5b4): over its
#: 44 bins at z < 2.2 (2228 quasars) the N-weighted mean of the median g - r is 0.13 and of r - i 0.12; the
#: medians range over -0.08 to 0.40 (g - r) and -0.07 to 0.45 (r - i) as emission lines cross the bands, with a
#: scatter of 0.12 in each, and each bin's own bounds are wider (half-widths 0.27 and 0.19 on average).
QSO_G_R, QSO_R_I = (0.15, 0.15), (0.12, 0.13)
#: White-dwarf luminosity function of the discs near the Sun, in M_bol (Harris et al. 2006, AJ 131, 571, Fig. 4,
#: tangential velocity above 30 km/s): bin centres (0.5 mag wide) and white dwarfs per pc^3 per mag, as copied in
#: github.com/NickRowell/astronomy src/resources/wd/wdlf/Harris2006_Vmax_vt30 (commit 6949bdb9). It integrates to
#: 4.55e-3 pc^-3 and peaks at M_bol = 15.25 before dropping by 0.97 dex (simulator 1.5; 1.4 had a shape from
#: memory, 0.3-0.6 dex low at M_bol < 13 and 0.8 dex high past the peak).
WD_MBOL = np.arange(7.25, 16.26, 0.5)
WD_DENSITY_PER_MAG = np.array(
    [1.18e-5, 2.40e-5, 3.12e-5, 5.15e-5, 6.89e-5, 1.07e-4, 1.28e-4, 1.35e-4, 1.93e-4, 2.83e-4]
    + [3.99e-4, 6.07e-4, 7.40e-4, 9.44e-4, 1.10e-3, 1.63e-3, 2.28e-3, 2.45e-4, 1.21e-4]
)
#: The DA white-dwarf cooling sequence at log g = 8 (pure-hydrogen atmospheres; the Montreal group's photometry
#: table, colours computed as in Holberg & Bergeron 2006, AJ 132, 1221): M_r and SDSS g - r, r - i against M_bol,
#: interpolated every 0.5 mag from Table_DA_13012021.txt as shipped in github.com/cylammarco/WDPhotTools
#: src/WDPhotTools/wd_photometry/ (commit af81bbe8). Teff runs from 29,800 K at M_bol = 7 to 3400 K at 16.5.
WD_TRACK_MBOL = np.arange(7.0, 16.51, 0.5)
WD_TRACK_ABS_MAG_R = np.array(
    [10.21, 10.44, 10.66, 10.86, 11.06, 11.25, 11.44, 11.63, 11.79, 12.04]
    + [12.38, 12.76, 13.15, 13.55, 13.97, 14.44, 14.99, 15.51, 15.92, 16.25]
)
WD_TRACK_G_R = np.array(
    [-0.47, -0.44, -0.41, -0.38, -0.35, -0.32, -0.28, -0.22, -0.17, -0.11]
    + [-0.04, 0.04, 0.12, 0.23, 0.38, 0.56, 0.78, 1.02, 1.23, 1.40]
)
WD_TRACK_R_I = np.array(
    [-0.36, -0.35, -0.34, -0.32, -0.31, -0.29, -0.27, -0.25, -0.22, -0.17]
    + [-0.12, -0.07, -0.01, 0.04, 0.11, 0.19, 0.28, 0.37, 0.42, 0.42]
)
#: Blue horizontal-branch stars: SDSS colours -0.25 < g - r < 0 (Deason et al. 2011, MNRAS 416, 2903,
#: Sect. 2; drawn uniform), r - i = -0.15 +- 0.05 (A-type colours, Yanny et al. 2000, ApJ 540, 825), absolute
#: magnitude M_g(g - r) of Deason et al. 2011 (``bhb_abs_mag_g``), and the halo profile with BHB_LOCAL_DENSITY_PC3
#: stars per pc^3 near the Sun, about 5 per kpc^3, i.e. about one per deg^2 at 17 < g < 21 at high latitude.
#: The M_g relation's five coefficients are those of Deason et al. 2011 (bibcode 2011MNRAS.416.2903D) as quoted
#: in github.com/HyperLEDA/db-app postgres/drafts/15_distance.sql (commit 7e74bca6); its equation number is not
#: checked. The density is not from Deason et al. (no stored copy checked): Brown et al. (2008, AJ 135, 564,
#: abstract) find 104 +- 37 BHB stars per kpc^3 of halo and thick disc near the Sun with the halo 4 +- 1% of
#: the thick disc's, i.e. 4.0 +- 1.7 halo BHB stars per kpc^3, which our 5 matches within 1 sigma. Their
#: metal-weak thick-disc BHB stars (scale height 1.26 kpc) are not simulated: at g > 17 they are few.
BHB_G_R_RANGE = (-0.25, 0.0)
BHB_R_I = (-0.15, 0.05)
BHB_LOCAL_DENSITY_PC3 = 5e-9

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
#: NOT VERIFIED HERE: the track values (entered from memory of Fukugita et al. 1995 and Eisenstein et al. 2001).
#: No stored copy of either paper's tables or of a repository quoting them was found (searched: the code and
#: documentation indexes for the papers' names and values, kcorrect, the SDSS SkyServer DR13 pages).
#: Cross-checked instead (not the papers' numbers) with synthetic AB colours of the Coleman, Wu & Weedman (1980)
#: templates and the SDSS g, r, i curves (Doi & Annis 2000) of github.com/ACTCollaboration/zCluster
#: (zCluster/SED/CWW/*.sed, zCluster/passbands/*_SDSS.res, commit ce6311ad): the CWW E template gives g - r,
#: r - i = 0.80, 0.35 at z = 0, 1.38, 0.49 at 0.2, 1.82, 0.67 at 0.4, 1.68, 1.26 at 0.6 and 2.44, 1.09 at 1.0,
#: with c_perp = (r - i) - (g - r)/4 - 0.18 within 0.04 of 0 below z = 0.4; the red track is within 0.2 mag of it
#: to z = 0.7, bluer in g - r (by 0.2-0.5) and redder in r - i (up to 0.36) at z = 0.8-1 (a non-evolving
#: template). The blue track is NOT an Sbc-Scd spectrum beyond z = 0.2: CWW Sbc has g - r 1.27-1.36 and CWW Scd
#: 1.02-1.04 at z = 0.4-0.5 against our 0.80; ours lies between the Scd and Im templates (Im: 0.66 at z = 0.4),
#: as a mix of late types would.
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

# --- blends -------------------------------------------------------------------------------------------------
#: Real data of this field: in the lesson's own HSC-I visit 903986 (ci_hsc, detector 31, 30 s; the single-visit
#: src catalogue lsst/faro tests/data/src_HSC_i_HSC-I_903986_0_31_HSC_runs_ci_hsc_20210407T021858Z.fits, commit
#: 836da846, meas_deblender), 62 of 771 rows (8.0%) are blend parents and 144 of the 709 other rows (20%) are
#: their children. The coadds reach about a magnitude deeper than one visit, so they blend at least as much;
#: simulator 1.4 seeds groups so that about 8% of rows are parents (1.3 had 5.5%). Bosch et al. (2018, PASJ 70,
#: S5; arXiv:1705.06766) are remembered to give 58% of HSC-SSP Wide objects as blended, at i ~ 26; that sentence
#: was not found in the stored copies of the paper here, nor in those of Melchior et al. 2018 (scarlet,
#: arXiv:1802.10157) that would quote it; only their openings are searchable (NOT VERIFIED). Group sizes and
#: radii: modelling choices.
BLEND_GROUP_FRACTION = 0.09  #: fraction of objects that seed a group of 2-5 blended objects
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


def _uniform_positions(rng, ra_range, dec_range, n):
    """``n`` positions uniform on the sphere within the RA/Dec box (degrees)."""
    ra = ra_range[0] + rng.random(n) * (ra_range[1] - ra_range[0])
    sin_dec = np.sin(np.radians(dec_range[0])) + rng.random(n) * (
        np.sin(np.radians(dec_range[1])) - np.sin(np.radians(dec_range[0]))
    )
    return ra, np.degrees(np.arcsin(sin_dec))


def _solid_angle_sr(ra_range, dec_range):
    return np.radians(ra_range[1] - ra_range[0]) * (np.sin(np.radians(dec_range[1])) - np.sin(np.radians(dec_range[0])))


def _draw_in_milky_way(rng, ra_range, dec_range, faint_limit_r, edges, abs_mag_of, density_per_bin, components):
    """Draw objects of a Milky Way population in the RA/Dec box, integrating on a grid of distance and ``edges``.

    Parameters
    ----------
    edges : numpy.ndarray
        Bin edges of the quantity that labels the population's members (r - i for main-sequence stars, M_r for
        white dwarfs); ``abs_mag_of`` maps it to M_r.
    density_per_bin : numpy.ndarray
        Members per pc^3 in each bin near the Sun, per unit local density of the component.
    components : dict of {str: float}
        J08 components ("thin", "thick", "halo") and the bluest ``edges`` value each contributes.

    Returns
    -------
    ra, dec, r, value : numpy.ndarray
        Positions (degrees), apparent SDSS r, and each member's value of the binned quantity.
    """
    center = SkyCoord(np.mean(ra_range) * u.deg, np.mean(dec_range) * u.deg).galactic
    log_d_edges = np.linspace(1.0, 5.3, 431)  # 10 pc to 200 kpc
    d_mid = 10 ** (0.5 * (log_d_edges[1:] + log_d_edges[:-1]))
    x_mid = 0.5 * (edges[1:] + edges[:-1])
    densities = _density_along_sightline(d_mid, center.l.radian, center.b.radian)
    volume = _solid_angle_sr(ra_range, dec_range) * d_mid**2 * np.diff(10**log_d_edges)  # pc^3 per distance bin
    apparent_r = abs_mag_of(x_mid)[None, :] + 5 * np.log10(d_mid / 10.0)[:, None]
    visible = (apparent_r < faint_limit_r) & (apparent_r > 13.0)
    ra_list, dec_list, r_list, x_list = [], [], [], []
    for component, bluest in components.items():
        expected = volume[:, None] * densities[component][:, None] * density_per_bin[None, :]
        expected = np.where(visible & (x_mid[None, :] >= bluest), expected, 0.0)
        counts = rng.poisson(expected)
        d_idx, x_idx = np.nonzero(counts)
        repeats = counts[d_idx, x_idx]
        d_idx = np.repeat(d_idx, repeats)
        x_idx = np.repeat(x_idx, repeats)
        n = len(d_idx)
        # Spread each object uniformly within its grid cell so that no grid pattern shows in the CMD.
        log_d = log_d_edges[d_idx] + rng.random(n) * (log_d_edges[1] - log_d_edges[0])
        x = edges[x_idx] + rng.random(n) * np.diff(edges)[x_idx]
        ra, dec = _uniform_positions(rng, ra_range, dec_range, n)
        ra_list.append(ra)
        dec_list.append(dec)
        r_list.append(abs_mag_of(x) + 5 * (log_d - 1.0))
        x_list.append(x)
    return (np.concatenate(ra_list), np.concatenate(dec_list), np.concatenate(r_list), np.concatenate(x_list))


def main_sequence_density_per_bin(x_edges):
    """Main-sequence stars per pc^3 near the Sun in each r - i bin of ``x_edges`` (SDSS colours).

    The luminosity function in M_r (:data:`LF_LOG10_DENSITY`) carried to r - i through the photometric parallax
    relation: phi(r - i) = Phi(M_r) dM_r/d(r - i).
    """
    x_mid = 0.5 * (x_edges[1:] + x_edges[:-1])
    abs_mag = stellar_locus_abs_mag_r(x_mid)
    lf = 10 ** np.interp(abs_mag, LF_ABS_MAG_R, LF_LOG10_DENSITY)  # stars / pc^3 / mag, per unit local density
    return lf * np.gradient(abs_mag, x_mid) * np.diff(x_edges)


def _make_stars(rng, ra_range, dec_range, faint_limit_r):
    """Draw main-sequence systems of the J08 model in the RA/Dec box, :data:`BINARY_FRACTION` of them binaries.

    Returns ra, dec (degrees) and a dict of apparent SDSS ``"g"``, ``"r"``, ``"i"``, ``"z"`` magnitudes, with
    the locus's intrinsic width (:data:`LOCUS_WIDTH_G_R`) in g.
    """
    x_edges = np.linspace(0.0, LOCUS_MAX_R_I, 211)
    ra, dec, r, r_i = _draw_in_milky_way(
        rng,
        ra_range,
        dec_range,
        faint_limit_r,
        x_edges,
        stellar_locus_abs_mag_r,
        main_sequence_density_per_bin(x_edges),
        TURN_OFF_R_I,
    )
    mags = _add_unresolved_companions(rng, r, r_i)
    mags["g"] = mags["g"] + LOCUS_WIDTH_G_R * rng.standard_normal(len(r))
    return ra, dec, mags


def _add_unresolved_companions(rng, r, r_i):
    """Make :data:`BINARY_FRACTION` of the main-sequence stars unresolved binaries: SDSS g, r, i, z of each system.

    Each binary's companion is drawn from the same luminosity function (:data:`LF_LOG10_DENSITY`) at or below the
    primary's luminosity, and both stars lie on the stellar locus; their fluxes add in every band. Companions
    fainter than the reddest main-sequence star simulated (M_r of r - i = :data:`LOCUS_MAX_R_I`) add no light.

    Parameters
    ----------
    r, r_i : numpy.ndarray
        Apparent SDSS r and r - i of the primaries (single stars).

    Returns
    -------
    dict of {str: numpy.ndarray}
        Apparent SDSS ``"g"``, ``"r"``, ``"i"``, ``"z"`` of each system; ``"g"`` without the locus scatter.
    """
    x_grid = np.linspace(0.0, LOCUS_MAX_R_I, 2101)
    m_grid = stellar_locus_abs_mag_r(x_grid)  # monotonic on this range
    m_fine = np.linspace(LF_ABS_MAG_R[0], LF_ABS_MAG_R[-1], 2601)
    cumulative = np.cumsum(10 ** np.interp(m_fine, LF_ABS_MAG_R, LF_LOG10_DENSITY))

    def bands(apparent_r, x):
        i = apparent_r - x
        r_copy = np.array(apparent_r, dtype=float)  # the caller's array is not changed
        return {"g": r_copy + stellar_locus_g_r(x), "r": r_copy, "i": i, "z": i - sdss_i_z_of_main_sequence(x)}

    primary_abs = stellar_locus_abs_mag_r(r_i)
    is_binary = rng.random(len(r)) < BINARY_FRACTION
    # Inverse-CDF draw of the companion's M_r from the luminosity function, restricted to M_r >= the primary's.
    lo = np.interp(primary_abs[is_binary], m_fine, cumulative)
    companion_abs = np.interp(lo + rng.random(len(lo)) * (cumulative[-1] - lo), cumulative, m_fine)
    shines = companion_abs <= m_grid[-1]
    companion_x = np.interp(companion_abs, m_grid, x_grid)
    primary = bands(r, r_i)
    companion = bands(r[is_binary] + companion_abs - primary_abs[is_binary], companion_x)
    for band, mag in primary.items():
        combined = -2.5 * np.log10(10 ** (-0.4 * mag[is_binary]) + 10 ** (-0.4 * companion[band]))
        mag[is_binary] = np.where(shines, combined, mag[is_binary])
    return primary


def _make_white_dwarfs(rng, ra_range, dec_range, faint_limit_r):
    """White dwarfs of the J08 discs: ra, dec, SDSS r, g - r, r - i (Harris et al. 2006 luminosity function, on
    the log g = 8 DA cooling sequence)."""
    edges = np.arange(WD_MBOL[0] - 0.25, WD_MBOL[-1] + 0.26, 0.1)
    mid = 0.5 * (edges[1:] + edges[:-1])
    per_bin = 10 ** np.interp(mid, WD_MBOL, np.log10(WD_DENSITY_PER_MAG)) * np.diff(edges)

    def abs_mag_r(m_bol):
        return np.interp(m_bol, WD_TRACK_MBOL, WD_TRACK_ABS_MAG_R)

    ra, dec, r, m_bol = _draw_in_milky_way(
        rng, ra_range, dec_range, faint_limit_r, edges, abs_mag_r, per_bin, {"thin": edges[0], "thick": edges[0]}
    )
    spread = LOCUS_WIDTH_G_R * rng.standard_normal((2, len(r)))
    g_r = np.interp(m_bol, WD_TRACK_MBOL, WD_TRACK_G_R) + spread[0]
    r_i = np.interp(m_bol, WD_TRACK_MBOL, WD_TRACK_R_I) + spread[1]
    return ra, dec, r, g_r, r_i


def bhb_abs_mag_g(g_r):
    """Absolute g magnitude of a blue horizontal-branch star of SDSS colour g - r (Deason et al. 2011, eq. 7)."""
    x = np.asarray(g_r, dtype=float)
    return 0.434 - 0.169 * x + 2.319 * x**2 + 20.449 * x**3 + 94.517 * x**4


def _make_bhb_stars(rng, ra_range, dec_range, faint_limit_r):
    """Blue horizontal-branch stars of the halo: ra, dec, SDSS r, g - r, r - i."""
    edges = np.linspace(*BHB_G_R_RANGE, 11)
    per_bin = np.full(10, BHB_LOCAL_DENSITY_PC3 / HALO_LOCAL_FRACTION / 10)  # the halo's density is relative

    def abs_mag_r(g_r):
        return bhb_abs_mag_g(g_r) - g_r

    ra, dec, r, g_r = _draw_in_milky_way(
        rng, ra_range, dec_range, faint_limit_r, edges, abs_mag_r, per_bin, {"halo": BHB_G_R_RANGE[0]}
    )
    return ra, dec, r, g_r, rng.normal(*BHB_R_I, size=len(r))


def _make_quasars(rng, ra_range, dec_range, faint_limit_r):
    """Quasars at the g-band counts of :data:`QSO_LOG10_COUNTS`: ra, dec, SDSS r, g - r, r - i."""
    area_deg2 = np.degrees(np.degrees(_solid_angle_sr(ra_range, dec_range)))
    g_grid = np.linspace(QSO_COUNTS_G[0], min(QSO_COUNTS_G[-1], faint_limit_r), 1001)
    per_mag = 10 ** np.interp(g_grid, QSO_COUNTS_G, QSO_LOG10_COUNTS) * area_deg2
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (per_mag[1:] + per_mag[:-1]) * np.diff(g_grid))])
    n = rng.poisson(cumulative[-1])
    g = np.interp(rng.random(n) * cumulative[-1], cumulative, g_grid)
    ra, dec = _uniform_positions(rng, ra_range, dec_range, n)
    g_r = rng.normal(*QSO_G_R, size=n)
    return ra, dec, g - g_r, g_r, rng.normal(*QSO_R_I, size=n)


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
    ra, dec = _uniform_positions(rng, ra_range, dec_range, n)
    return ra, dec, mag_i, g_r, r_i, size


def _offset(rng, ra, dec, n, min_arcsec, max_arcsec):
    """Positions at a random angle and a separation uniform in area between the two radii."""
    sep = np.sqrt(rng.uniform(min_arcsec**2, max_arcsec**2, n)) / 3600.0
    return _offset_by(ra, dec, sep, rng.uniform(0, 2 * np.pi, n))


def _offset_by(ra, dec, sep_deg, angle):
    """Positions ``sep_deg`` away at position angle ``angle`` (radians), in the flat-sky approximation."""
    return ra + sep_deg * np.cos(angle) / np.cos(np.radians(dec)), dec + sep_deg * np.sin(angle)


def _make_blends(rng, sky_ra, sky_dec, mag_i):
    """Move some objects next to others: blend groups of 2-5, and unresolved pairs. Modifies positions."""
    n = len(sky_ra)
    group = np.full(n, -1)
    pair = np.full(n, -1)
    order = rng.permutation(n)
    # The loop only draws the random numbers, in the order that fixes the seed's sky (a group's size, then its
    # members' squared separations and angles); the positions are computed once, after it. A group's seed is
    # never moved, so every offset is from the seed's original position.
    seeds, moved, sep2, angles = [], [], [], []
    cursor = 0
    for g in range(int(BLEND_GROUP_FRACTION * n)):
        size = int(rng.integers(2, 6))
        members = order[cursor : cursor + size]
        cursor += size
        if len(members) < size:
            break
        group[members] = g
        # Members on a ring around the seed, with a minimum separation from it; members placed at random
        # angles may still lie close to each other, as in real blends.
        seeds.append(np.full(size - 1, members[0]))
        moved.append(members[1:])
        sep2.append(rng.uniform(BLEND_MIN_SEPARATION_ARCSEC**2, BLEND_GROUP_RADIUS_ARCSEC**2, size - 1))
        angles.append(rng.uniform(0, 2 * np.pi, size - 1))
    for _ in range(int(UNRESOLVED_PAIR_FRACTION * n)):
        a, b = order[cursor : cursor + 2]
        cursor += 2
        seeds.append(np.array([a]))
        moved.append(np.array([b]))
        sep2.append(rng.uniform(0.05**2, UNRESOLVED_PAIR_MAX_SEPARATION_ARCSEC**2, 1))
        angles.append(rng.uniform(0, 2 * np.pi, 1))
        pair[[a, b]] = a if mag_i[a] <= mag_i[b] else b
    if moved:
        seed, target = np.concatenate(seeds), np.concatenate(moved)
        sky_ra[target], sky_dec[target] = _offset_by(
            sky_ra[seed], sky_dec[seed], np.sqrt(np.concatenate(sep2)) / 3600.0, np.concatenate(angles)
        )
    return group, pair


def make_true_sky(rng: np.random.Generator, ra_range, dec_range, faint_limit_r: float = 27.5) -> TrueSky:
    """Draw every true object in the RA/Dec box (degrees), stars first, then galaxies, then blends."""
    s_ra, s_dec, stars = _make_stars(rng, ra_range, dec_range, faint_limit_r)
    s_r, s_x, s_g_r, s_i_z = stars["r"], stars["r"] - stars["i"], stars["g"] - stars["r"], stars["i"] - stars["z"]
    # The blue end: white dwarfs, blue horizontal-branch stars and quasars, all point sources ("star" in the
    # truth table, which records morphology).
    for make in (_make_white_dwarfs, _make_bhb_stars, _make_quasars):
        b_ra, b_dec, b_r, b_g_r, b_r_i = make(rng, ra_range, dec_range, faint_limit_r)
        s_ra, s_dec, s_r = np.concatenate([s_ra, b_ra]), np.concatenate([s_dec, b_dec]), np.concatenate([s_r, b_r])
        s_x, s_g_r = np.concatenate([s_x, b_r_i]), np.concatenate([s_g_r, b_g_r])
        s_i_z = np.concatenate([s_i_z, sdss_i_z_of_main_sequence(b_r_i)])
    # The locus and the luminosity functions are SDSS's; the coadds are HSC's: move the stars to the HSC system
    # with obs_subaru's colour terms (tutorial_lib.photometry.sdss_to_hsc).
    sdss_i = s_r - s_x
    hsc = sdss_to_hsc({"g": s_r + s_g_r, "r": s_r, "i": sdss_i, "z": sdss_i - s_i_z})
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
