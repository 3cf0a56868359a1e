"""Every exercise of every lesson: typical wrong answers, written as a learner would on the lesson's own data,
and the diagnosis each must get.

Each table row is (label, a function of the lesson's data that returns the wrong answer, words the verdict must
contain). The data are the simulated repository's tract 0, patch 4 (the lessons' ``DATA_ID``); each row also
checks that the verdict is "Not yet", so a wrong answer that the check accepts fails here.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from astropy.table import Table, vstack

from tutorial_lib import checks
from tutorial_lib.plots import stellar_locus_g_r

DATA_ID = {"skymap": "discrete", "tract": 0, "patch": 4}
BANDS = ("g", "r", "i")


@pytest.fixture(scope="module")
def lesson(butler):
    """The lessons' data of patch 4 and the values the lessons derive from them."""
    ref = butler.get("deepCoadd_ref", DATA_ID)
    forced = {band: butler.get("deepCoadd_forced_src", DATA_ID, band=band) for band in BANDS}
    photo_calib = {band: butler.get("deepCoadd_calexp.photoCalib", DATA_ID, band=band) for band in BANDS}
    truth = butler.get("truth_match", DATA_ID)
    mag = {band: photo_calib[band].instFluxToMagnitude(forced[band]["base_PsfFlux_instFlux"]) for band in BANDS}
    primary = np.asarray(ref["detect_isPrimary"])
    extendedness = np.asarray(forced["i"]["base_ClassificationExtendedness_value"])
    keep = primary & (extendedness == 0) & ~np.asarray(forced["i"]["base_PsfFlux_flag"])
    return SimpleNamespace(
        butler=butler,
        ref=ref,
        forced=forced,
        photo_calib=photo_calib,
        truth=truth,
        mag=mag,
        primary=primary,
        extendedness=extendedness,
        keep=keep,
        skymap=butler.get("skyMap", skymap="discrete"),
        header_i=butler.get("deepCoadd_calexp.metadata", DATA_ID, band="i"),
    )


def assert_not_yet(result, words):
    assert not result.correct, f"accepted a wrong answer: {result!r}"
    assert repr(result).startswith("Not yet: ")
    for word in words:
        assert word.lower() in result.message.lower(), f"{word!r} not in {result.message!r}"


def flux(table, name="base_PsfFlux_instFlux"):
    return np.asarray(table[name], dtype=float)


# --- lesson 0: a Gen3 data ID ---------------------------------------------------------------------------------
GEN2_I = {"filter": "HSC-I", "tract": 0, "patch": "2,1"}
GEN3_I = {"skymap": "discrete", "tract": 0, "patch": 5, "band": "i"}


@pytest.mark.parametrize(
    ("label", "answer", "words"),
    [
        ("Gen2 patch name kept", {**GEN3_I, "patch": "2,1"}, ["Gen2 patch name"]),
        ("x and y swapped", {**GEN3_I, "patch": 7}, ["swapped"]),
        ("physical filter as band", {**GEN3_I, "band": "HSC-I"}, ["physical_filter"]),
        ("Gen2 filter key", {"filter": "HSC-I", "tract": 0, "patch": 5, "skymap": "discrete"}, ["band"]),
        ("no band", {"skymap": "discrete", "tract": 0, "patch": 5}, ["needs a band"]),
    ],
)
def test_lesson_0_data_id(lesson, label, answer, words):
    assert_not_yet(checks.check_gen3_data_id(answer, GEN2_I, skymap=lesson.skymap), words)


# --- lesson 1: flux columns and a multi-band table ------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("uncertainties too", lambda t: [c for c in t.colnames if "_instFlux" in c], ["uncertainties"]),
        ("only the PSF flux", lambda t: ["base_PsfFlux_instFlux"], ["missing"]),
        ("one string", lambda t: "base_PsfFlux_instFlux", ["list"]),
        ("calibrated names", lambda t: ["base_PsfFlux_flux", "modelfit_CModel_flux"], ["not columns of this table"]),
    ],
)
def test_lesson_1_flux_columns(lesson, label, make, words):
    table = lesson.forced["i"]
    assert_not_yet(checks.check_flux_columns(make(table), table), words)


def _multiband(lesson, take=lambda band, forced: forced[band]["base_PsfFlux_instFlux"], rows=slice(None)):
    columns = {"id": lesson.ref["id"][rows]}
    for band in BANDS:
        columns[f"{band}_psfInstFlux"] = np.asarray(take(band, lesson.forced))[rows]
    return Table(columns)


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        (
            "g column from the r table",
            lambda ls: _multiband(ls, lambda b, f: f["r" if b == "g" else b]["base_PsfFlux_instFlux"]),
            ["holds the r-band fluxes"],
        ),
        (
            "flagged rows dropped",
            lambda ls: _multiband(ls, rows=~np.asarray(ls.forced["i"]["base_PsfFlux_flag"])),
            ["rows but the patch has"],
        ),
        (
            "sorted by id descending",
            lambda ls: _multiband(ls)[::-1],
            ["re-ordered"],
        ),
        (
            "uncertainties",
            lambda ls: _multiband(ls, lambda b, f: f[b]["base_PsfFlux_instFluxErr"]),
            ["uncertainties"],
        ),
        (
            "calibrated to nJy",
            lambda ls: _multiband(ls, lambda b, f: flux(f[b]) * ls.photo_calib[b].getCalibrationMean()),
            ["times the"],
        ),
    ],
)
def test_lesson_1_multiband_table(lesson, label, make, words):
    assert_not_yet(checks.check_multiband_table(make(lesson), lesson.ref, lesson.forced), words)


# --- lesson 2: magnitudes, negative fluxes, mean flux ---------------------------------------------------------
def _r_mags(table_band="r", calib_band="r", how=None):
    def r_magnitudes(forced, photo_calib):
        table, calib = forced[table_band], photo_calib[calib_band]
        if how is None:
            return calib.instFluxToMagnitude(table["base_PsfFlux_instFlux"], table["base_PsfFlux_instFluxErr"])
        return how(flux(table), calib)

    return r_magnitudes


def _by_hand(f, calib):
    with np.errstate(invalid="ignore", divide="ignore"):
        return calib.instFluxToMagnitude(f)


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("i calibration on r fluxes", lambda ls: _r_mags(calib_band="i"), ["i band's calibration", "zero point 27"]),
        ("g calibration on r fluxes", lambda ls: _r_mags(calib_band="g"), ["g band's calibration"]),
        ("the i band's table", lambda ls: _r_mags(table_band="i"), ["i band's forced table"]),
        (
            "a calibration read outside the function",
            lambda ls: (
                lambda forced, photo_calib: ls.photo_calib["r"].instFluxToMagnitude(
                    forced["r"]["base_PsfFlux_instFlux"], forced["r"]["base_PsfFlux_instFluxErr"]
                )
            ),
            ["ignores the calibrations it is given"],
        ),
        ("no errors", lambda ls: _r_mags(how=lambda f, c: _by_hand(f, c)), ["errors too"]),
        ("abs()", lambda ls: _r_mags(how=lambda f, c: (_by_hand(np.abs(f), c), None)), ["abs(flux)"]),
        ("clip()", lambda ls: _r_mags(how=lambda f, c: (_by_hand(np.clip(f, 1e-3, None), c), None)), ["clipped"]),
        ("the array, not the function", lambda ls: _r_mags()(ls.forced, ls.photo_calib), ["function itself"]),
    ],
)
def test_lesson_2_band_magnitudes(lesson, label, make, words):
    result = checks.check_band_magnitudes(make(lesson), lesson.forced, lesson.photo_calib, band="r")
    assert_not_yet(result, words)


def test_lesson_2_band_magnitudes_right(lesson):
    result = checks.check_band_magnitudes(_r_mags(), lesson.forced, lesson.photo_calib, band="r")
    assert result.correct, result.message
    assert "own calibration" in result.message


def test_lesson_2_band_magnitudes_right_with_afw_29s_signed_errors(lesson):
    """afw 29 keeps the sign of a negative flux's magnitude error (lesson 2 says so): finite, negative, and right."""

    def signed(forced, photo_calib):
        f, err = flux(forced["r"]), np.asarray(forced["r"]["base_PsfFlux_instFluxErr"], dtype=float)
        mags, _ = photo_calib["r"].instFluxToMagnitude(f, err)
        with np.errstate(invalid="ignore", divide="ignore"):
            return mags, 2.5 / np.log(10) * err / f

    with np.errstate(invalid="ignore", divide="ignore"):
        assert (signed(lesson.forced, lesson.photo_calib)[1] < 0).sum() > 0
    result = checks.check_band_magnitudes(signed, lesson.forced, lesson.photo_calib, band="r")
    assert result.correct, result.message


@pytest.mark.parametrize(
    ("label", "function", "words"),
    [
        ("flux <= 0", lambda t: int(np.count_nonzero(flux(t) <= 0)), ["zero is not negative", "flux <= 0"]),
        ("~(flux > 0)", lambda t: int(np.count_nonzero(~(flux(t) > 0))), ["NaN", "~(flux > 0)"]),
        ("~(flux >= 0)", lambda t: int(np.count_nonzero(~(flux(t) >= 0))), ["NaN", "~(flux >= 0)"]),
        ("positive ones", lambda t: int(np.count_nonzero(flux(t) > 0)), ["positive"]),
        ("every row", len, ["number of rows in the table"]),
        ("a mask", lambda t: flux(t) < 0, ["count_nonzero"]),
        ("the lesson's table, not its argument", "outside", ["its argument", "not of a table from outside"]),
    ],
)
def test_lesson_2_negative_count(lesson, label, function, words):
    if function == "outside":  # right on the lesson's table, whatever table it is given

        def function(table):
            return int(np.count_nonzero(flux(lesson.forced["r"]) < 0))

    assert_not_yet(checks.check_negative_count(function, lesson.forced["r"]), words)


def test_lesson_2_negative_count_right_and_nan_hint_is_true(lesson):
    table = lesson.forced["r"]
    assert checks.check_negative_count(lambda t: int(np.count_nonzero(flux(t) < 0)), table).correct
    # The hint names only expressions that really count NaN: NaN <= 0 is False.
    with np.errstate(invalid="ignore"):
        assert not np.array(np.nan) <= 0
    message = checks.check_negative_count(int(np.count_nonzero(~(flux(table) > 0))), table).message
    assert "flux <= 0" not in message


@pytest.fixture(scope="module")
def faint_g(lesson):
    """The lesson's sample: g fluxes (nJy) of objects not detected in g."""
    not_detected = lesson.primary & ~np.asarray(lesson.ref["merge_peak_g"])
    return lesson.photo_calib["g"].instFluxToNanojansky(lesson.forced["g"]["base_PsfFlux_instFlux"])[not_detected]


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("np.mean with NaN", lambda f, mean: float(np.mean(f)), ["np.nanmean"]),
        ("negatives dropped", lambda f, mean: float(np.nanmean(f[f > 0])), ["biases it high"]),
        ("median", lambda f, mean: float(np.nanmedian(f)), ["median"]),
        ("in counts", lambda f, mean: float(np.nanmean(f)) / mean, ["counts"]),
    ],
)
def test_lesson_2_mean_flux(lesson, faint_g, label, make, words):
    mean = lesson.photo_calib["g"].getCalibrationMean()
    answer = make(np.asarray(faint_g), mean)
    assert_not_yet(checks.check_mean_flux(answer, faint_g, calibration_mean=mean), words)


# --- lesson 3: duplicates and detect_isPrimary ----------------------------------------------------------------
@pytest.fixture(scope="module")
def tract_0_truth_ids(butler):
    ids = [np.asarray(butler.get("truth_match", {**DATA_ID, "patch": patch})["truth_id"]) for patch in range(9)]
    return np.concatenate(ids)


def _duplicates(ids, what):
    real = ids[ids >= 0]
    unique, counts = np.unique(real, return_counts=True)
    return {
        "with -1": int(np.count_nonzero(np.unique(ids, return_counts=True)[1] > 1)),
        "surplus rows": real.size - unique.size,
        "rows of duplicates": int(counts[counts > 1].sum()),
        "distinct objects": unique.size,
    }[what]


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ("with -1", ["truth_id = -1"]),
        ("surplus rows", ["surplus rows"]),
        ("rows of duplicates", ["counts the rows"]),
        ("distinct objects", ["distinct true objects"]),
    ],
)
def test_lesson_3_duplicates(tract_0_truth_ids, label, words):
    assert_not_yet(checks.check_duplicate_objects(_duplicates(tract_0_truth_ids, label), tract_0_truth_ids), words)


def _parts(ref):
    return (
        np.asarray(ref["deblend_nChild"]),
        np.asarray(ref["detect_isPatchInner"]),
        np.asarray(ref["detect_isTractInner"]),
        ~np.asarray(ref["merge_peak_sky"]),
    )


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        # ref["deblend_nChild"] == 0 & ref["detect_isPatchInner"] & ...: & binds tighter than ==.
        ("no parentheses, nChild first", lambda n, p, t, s: n == 0 & p & t & s, ["operator precedence", "parentheses"]),
        ("no parentheses, nChild last", lambda n, p, t, s: p & t & s & n == 0, ["operator precedence"]),
        ("no parentheses, nChild second", lambda n, p, t, s: p & n == 0 & t & s, ["operator precedence"]),
        ("sky part left out", lambda n, p, t, s: (n == 0) & p & t, ["sky objects", "not_sky"]),
        ("patch inner left out", lambda n, p, t, s: (n == 0) & t & s, ["patch inner", "patch_inner"]),
        ("nChild inverted", lambda n, p, t, s: (n > 0) & p & t & s, ["blend parents"]),
    ],
)
def test_lesson_3_primary_parts(lesson, label, make, words):
    assert_not_yet(checks.check_primary_parts(make(*_parts(lesson.ref)), lesson.ref), words)


# --- lesson 4: extendedness, purity and completeness ----------------------------------------------------------
def _extendedness(table, ratio=0.985, nan=True, swap=False):
    psf, cmodel = flux(table), flux(table, "modelfit_CModel_instFlux")
    values = np.where(ratio * cmodel < psf, 1.0 if swap else 0.0, 0.0 if swap else 1.0)
    if nan:
        values[np.asarray(table["base_ClassificationExtendedness_flag"])] = np.nan
    return values


def _fluxratio_on_psf_side(table):
    values = np.where(flux(table, "modelfit_CModel_instFlux") < 0.985 * flux(table), 0.0, 1.0)
    values[np.asarray(table["base_ClassificationExtendedness_flag"])] = np.nan
    return values


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("no NaN on flagged rows", lambda f: _extendedness(f["r"], nan=False), ["must be NaN"]),
        ("booleans", lambda f: _extendedness(f["r"], nan=False) == 1, ["True/False", "NaN"]),
        ("0 and 1 swapped", lambda f: _extendedness(f["r"], swap=True), ["swapped 0 and 1"]),
        ("no fluxRatio", lambda f: _extendedness(f["r"], ratio=1.0), ["left out fluxratio"]),
        ("fluxRatio on the PSF side", lambda f: _fluxratio_on_psf_side(f["r"]), ["psf side"]),
    ],
)
def test_lesson_4_extendedness(lesson, label, make, words):
    assert_not_yet(checks.check_extendedness(make(lesson.forced), lesson.forced["r"]), words)


@pytest.fixture(scope="module")
def star_sample(lesson):
    true_type = np.asarray(lesson.truth["truth_type"])
    is_star = true_type == "star"
    sample = lesson.primary & ~np.asarray(lesson.forced["i"]["base_PsfFlux_flag"]) & (is_star | (true_type == "galaxy"))
    return SimpleNamespace(
        point=(lesson.extendedness == 0)[sample],
        star=is_star[sample],
        true_mag=np.asarray(lesson.truth["truth_mag_i"])[sample],
        psf_mag=np.asarray(lesson.mag["i"])[sample],
    )


def _pc(point, star, rows):
    both = np.count_nonzero(point & star & rows)
    return both / np.count_nonzero(point & rows), both / np.count_nonzero(star & rows)


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("cut on PSF magnitude", lambda s: _pc(s.point, s.star, s.psf_mag < 23), ["measured (PSF) magnitude", "true"]),
        ("no magnitude cut", lambda s: _pc(s.point, s.star, np.ones_like(s.star)), ["whole sample"]),
        ("purity and completeness swapped", lambda s: _pc(s.point, s.star, s.true_mag < 23)[::-1], ["swapped"]),
        ("percentages", lambda s: tuple(100 * x for x in _pc(s.point, s.star, s.true_mag < 23)), ["percentages"]),
        ("faint end instead", lambda s: _pc(s.point, s.star, s.true_mag >= 23), ["wrong way round"]),
    ],
)
def test_lesson_4_purity_completeness(star_sample, label, make, words):
    result = checks.check_purity_completeness(
        make(star_sample),
        star_sample.point,
        star_sample.star,
        true_magnitude=star_sample.true_mag,
        brighter_than=23,
        measured_magnitude=star_sample.psf_mag,
    )
    assert_not_yet(result, words)


def test_lesson_4_purity_completeness_right(star_sample):
    s = star_sample
    result = checks.check_purity_completeness(
        _pc(s.point, s.star, s.true_mag < 23),
        s.point,
        s.star,
        true_magnitude=s.true_mag,
        brighter_than=23,
        measured_magnitude=s.psf_mag,
    )
    assert result.correct, result.message


def test_lesson_4_purity_completeness_of_another_sample_is_refused(lesson, star_sample):
    """Without detect_isPrimary the fractions move by about 0.001 (the lesson prints three decimals): refused."""
    true_type = np.asarray(lesson.truth["truth_type"])
    rows = ~np.asarray(lesson.forced["i"]["base_PsfFlux_flag"]) & np.isin(true_type, ["star", "galaxy"])
    true_mag = np.asarray(lesson.truth["truth_mag_i"])
    answer = _pc((lesson.extendedness == 0)[rows], (true_type == "star")[rows], true_mag[rows] < 23)
    s = star_sample
    right = _pc(s.point, s.star, s.true_mag < 23)
    assert 0.0006 < max(abs(a - b) for a, b in zip(answer, right, strict=True)) < 0.005
    result = checks.check_purity_completeness(
        answer, s.point, s.star, true_magnitude=s.true_mag, brighter_than=23, measured_magnitude=s.psf_mag
    )
    assert not result.correct, result.message
    rounded = tuple(round(x, 3) for x in right)
    assert checks.check_purity_completeness(
        rounded, s.point, s.star, true_magnitude=s.true_mag, brighter_than=23
    ).correct


# --- lesson 5: the colour-magnitude diagram -------------------------------------------------------------------
@pytest.fixture(scope="module")
def cmd(lesson):
    keep = lesson.keep
    is_galaxy = np.asarray(lesson.truth["truth_type"]) == "galaxy"
    mag_i = np.asarray(lesson.mag["i"])[keep]
    g_r = (np.asarray(lesson.mag["g"]) - np.asarray(lesson.mag["r"]))[keep]
    r_i = (np.asarray(lesson.mag["r"]) - np.asarray(lesson.mag["i"]))[keep]
    return SimpleNamespace(mag_i=mag_i, galaxy=is_galaxy[keep], g_r=g_r, r_i=r_i)


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("percentage", lambda c: 100 * np.mean(c.galaxy[c.mag_i > 23]), ["percentage"]),
        ("brighter than 23", lambda c: np.mean(c.galaxy[c.mag_i <= 23]), ["brighter than 23"]),
        ("fraction of stars", lambda c: 1 - np.mean(c.galaxy[c.mag_i > 23]), ["fraction of stars"]),
        ("whole sample", lambda c: np.mean(c.galaxy[np.isfinite(c.mag_i)]), ["whole sample"]),
    ],
)
def test_lesson_5_galaxy_fraction(cmd, label, make, words):
    assert_not_yet(checks.check_galaxy_fraction(float(make(cmd)), cmd.mag_i, cmd.galaxy, fainter_than=23), words)


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("sign flipped", lambda c: stellar_locus_g_r(c.r_i) - c.g_r, ["sign is flipped"]),
        ("absolute value", lambda c: np.abs(c.g_r - stellar_locus_g_r(c.r_i)), ["no absolute value"]),
        ("colours swapped", lambda c: c.r_i - stellar_locus_g_r(c.g_r), ["colours are swapped"]),
    ],
)
def test_lesson_5_locus_offset(cmd, label, make, words):
    assert_not_yet(checks.check_locus_offset(make(cmd), cmd.g_r, cmd.r_i), words)


# --- lesson 6: the explorer -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def explorer(butler):
    from tutorial_lib.widgets import SelectionExplorer

    return SelectionExplorer.from_butler(butler, DATA_ID, patches="all")


def _explorer_answer(explorer, label):
    explorer.reset()
    explorer.set(patch="all", primary=False)
    explorer.set(patch_inner=False)
    if label == "duplicated objects, not rows":
        return checks.explorer.expected_patch_inner_duplicates(explorer)[1]
    if label == "patch inner still ticked":
        explorer.set(patch_inner=True)
        return explorer.truth_counts["duplicates"]
    explorer.set(faint=24.0)
    return explorer.truth_counts["duplicates"]


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ("duplicated objects, not rows", ["number of duplicated objects", "every row"]),
        ("patch inner still ticked", ["lesson's selection keeps", "untick"]),
        ("faint limit changed", ["exercise's settings", "faint="]),
    ],
)
def test_lesson_6_patch_inner_duplicates(explorer, label, words):
    answer = _explorer_answer(explorer, label)
    assert_not_yet(checks.check_patch_inner_duplicates(answer, explorer), words)


# --- lesson 7: aperture correction and a whole tract ----------------------------------------------------------
@pytest.fixture(scope="module")
def aperture(lesson):
    calib = lesson.photo_calib["i"]
    table = lesson.forced["i"]
    with np.errstate(invalid="ignore", divide="ignore"):
        psf = np.asarray(calib.instFluxToMagnitude(table["base_PsfFlux_instFlux"]))
        ap = np.asarray(calib.instFluxToMagnitude(table["base_CircularApertureFlux_12_0_instFlux"]))
    bright = lesson.keep & (psf > 17) & (psf < 21)
    ap = ap[bright].copy()
    ap[0] = np.nan  # one failed aperture flux, as real tables have
    return SimpleNamespace(ap=ap, psf=psf[bright])


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        # Aperture and PSF magnitudes agree at the median here, so a flipped sign or the mean go unnoticed.
        ("np.median with a NaN", lambda a: np.median(a.ap - a.psf), ["NaN", "np.nanmedian"]),
        ("flux ratio", lambda a: np.nanmedian(10 ** (-0.4 * (a.ap - a.psf))), ["flux ratio"]),
        ("absolute differences", lambda a: np.nanmedian(np.abs(a.ap - a.psf)), ["keep the sign"]),
        ("the array, not its median", lambda a: a.ap - a.psf, ["single number"]),
    ],
)
def test_lesson_7_median_offset(aperture, label, make, words):
    assert_not_yet(checks.check_median_offset(make(aperture), aperture.ap, aperture.psf), words)


def _tract(butler, tract=1, patches=range(9), keep="primary"):
    pieces = []
    for patch in patches:
        ref = butler.get(
            "deepCoadd_ref",
            {"skymap": "discrete", "tract": tract, "patch": patch},
            parameters={"columns": ["id", "detect_isPrimary"]},
        )
        primary = ref[ref["detect_isPrimary"]]
        pieces.append({"primary": primary, "first": primary[:1], "all": ref}[keep])
    return vstack(pieces)


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("one primary row per patch", lambda b: _tract(b, keep="first"), ["primary rows of the tract are missing"]),
        ("every row, not only primary", lambda b: _tract(b, keep="all"), ["not primary"]),
        ("tract 0 instead", lambda b: _tract(b, tract=0), ["tract(s) [0]"]),
        ("a patch left out", lambda b: _tract(b, patches=range(8)), ["missing", "patch 8"]),
        ("a patch twice", lambda b: _tract(b, patches=[*range(9), 4]), ["more than once"]),
    ],
)
def test_lesson_7_tract_catalog(butler, label, make, words):
    assert_not_yet(checks.check_tract_catalog(make(butler), tract=1, butler=butler), words)


def test_lesson_7_tract_catalog_right(butler):
    result = checks.check_tract_catalog(_tract(butler), tract=1, butler=butler)
    assert result.correct, result.message
    assert "every primary row of the tract" in result.message


# --- lesson 8: the real data's zero point and selection (run here on the simulated patch's tables) -------------
@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("sign flipped", lambda f0: -2.5 * np.log10(f0), ["sign is wrong"]),
        ("natural logarithm", lambda f0: 2.5 * np.log(f0), ["natural logarithm"]),
        ("FLUXMAG0 itself", lambda f0: f0, ["FLUXMAG0 itself"]),
        ("31.4 minus it", lambda f0: 31.4 - 2.5 * np.log10(f0), ["31.4 minus"]),
        ("off by 0.02 mag", lambda f0: 2.5 * np.log10(f0) + 0.02, ["is not the magnitude of one count"]),
    ],
)
def test_lesson_8_zero_point(lesson, label, make, words):
    fluxmag0 = lesson.header_i["FLUXMAG0"]
    assert_not_yet(checks.check_zero_point(make(fluxmag0), fluxmag0), words)


@pytest.mark.parametrize(
    ("label", "make", "words"),
    [
        ("no detect_isPrimary", lambda p, ext, good: (ext < 0.5) & good, ["detect_isprimary is missing"]),
        ("no point-source cut", lambda p, ext, good: p & good, ["point-source cut is missing"]),
        ("flag inverted", lambda p, ext, good: p & (ext < 0.5) & ~good, ["inverted"]),
        ("'not extended' keeps NaN", lambda p, ext, good: p & good & ~(ext == 1), ["NaN", "extendedness < 0.5"]),
    ],
)
def test_lesson_8_real_selection(lesson, label, make, words):
    ref, forced = lesson.ref, lesson.forced["i"]
    primary = np.asarray(ref["detect_isPrimary"])
    extendedness = np.asarray(ref["base_ClassificationExtendedness_value"])
    good = ~np.asarray(forced["base_PsfFlux_flag"])
    with np.errstate(invalid="ignore"):
        answer = make(primary, extendedness, good)
    assert_not_yet(checks.check_real_selection(answer, ref, forced), words)


def test_lesson_2_another_bands_table_is_not_blamed_on_abs_or_clip(lesson):
    """Magnitudes of the i table handed in for r: named as the other band's table when the check has the other
    tables, and as rows that do not line up when it has not; never as abs() or clip."""
    i_mags = lesson.photo_calib["r"].instFluxToMagnitude(lesson.forced["i"]["base_PsfFlux_instFlux"])
    others = {"g": lesson.forced["g"], "i": lesson.forced["i"]}
    named = checks.check_magnitudes(i_mags, lesson.forced["r"], lesson.photo_calib["r"], other_tables=others)
    assert_not_yet(named, ["i band's forced table"])
    unnamed = checks.check_magnitudes(i_mags, lesson.forced["r"], lesson.photo_calib["r"])
    assert_not_yet(unnamed, ["do not line up", "another band's table"])
    for result in (named, unnamed):
        assert "abs()" not in result.message and "clip" not in result.message
