"""The self-checks of lessons 0-2: a right answer passes, and the usual wrong answers fail with a reason that
names the mistake."""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from tutorial_lib.checks import CheckResult
from tutorial_lib.checks import calibration as checks_calibration
from tutorial_lib.checks import loading as checks_loading
from tutorial_lib.photocalib import PhotoCalib
from tutorial_lib.skymap import make_lesson_skymap

GEN2_I = {"filter": "HSC-I", "tract": 0, "patch": "2,1"}
GEN3_I = {"skymap": "discrete", "tract": 0, "patch": 5, "band": "i"}
BANDS = ("g", "r", "i")
N_ROWS = 300


def assert_right(result: CheckResult) -> None:
    assert isinstance(result, CheckResult)
    assert result.correct, result.message
    assert repr(result).startswith("Correct: ")


def assert_wrong(result: CheckResult, *words: str) -> None:
    assert isinstance(result, CheckResult)
    assert not result.correct, f"accepted a wrong answer: {result.message}"
    assert repr(result).startswith("Not yet: ")
    assert "\n" not in result.message
    for word in words:
        assert word.lower() in result.message.lower(), f"{word!r} not in {result.message!r}"


# --- data ---------------------------------------------------------------------------------------------------
def _forced_table(rng: np.random.Generator, ids: np.ndarray) -> Table:
    """A small forced table: PSF and CModel fluxes in counts, with negative and NaN values as in real data."""
    n = len(ids)
    true = 10 ** rng.uniform(-0.5, 3.5, n)
    err = np.sqrt(1.5**2 + true / 3.0)
    psf = true + err * rng.standard_normal(n)
    psf[:20] = err[:20] * rng.standard_normal(20) - 2.5 * err[:20]  # some clearly negative
    psf[20:25] = np.nan
    err[20:25] = np.nan
    cmodel = psf * 1.1
    table = Table()
    table["id"] = ids
    for name, values, unit in [
        ("base_PsfFlux_instFlux", psf, u.ct),
        ("base_PsfFlux_instFluxErr", err, u.ct),
        ("modelfit_CModel_instFlux", cmodel, u.ct),
        ("modelfit_CModel_instFluxErr", err * 1.2, u.ct),
    ]:
        table[name] = values
        table[name].unit = unit
    table["base_PsfFlux_flag"] = np.isnan(psf)
    return table


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20160805)
    ids = 141733920768 + np.arange(1, N_ROWS + 1, dtype=np.int64)
    ref = Table({"id": ids, "detect_isPrimary": np.ones(N_ROWS, bool)})
    forced = {band: _forced_table(rng, ids) for band in BANDS}
    return ref, forced


@pytest.fixture(scope="module")
def photo_calib():
    return PhotoCalib.from_zero_point(27.0)


# --- lesson 0: Gen3 data IDs --------------------------------------------------------------------------------
class TestGen3DataId:
    skymap = make_lesson_skymap()

    def check(self, answer, gen2=GEN2_I):
        return checks_loading.check_gen3_data_id(answer, gen2, skymap=self.skymap)

    def test_right(self):
        assert_right(self.check(dict(GEN3_I)))
        assert "3 * 1 + 2 = 5" in self.check(dict(GEN3_I)).message

    def test_right_in_any_order_and_with_numpy_integers(self):
        assert_right(self.check({"band": "i", "patch": np.int64(5), "tract": np.int32(0), "skymap": "discrete"}))

    def test_right_without_skymap_object(self):
        assert_right(checks_loading.check_gen3_data_id(dict(GEN3_I), GEN2_I))

    def test_reference_table_has_no_band(self):
        gen2_ref = {"filter": "HSC-R^HSC-I", "tract": 0, "patch": "1,1"}
        assert_right(self.check({"skymap": "discrete", "tract": 0, "patch": 4}, gen2_ref))
        assert_wrong(self.check({"skymap": "discrete", "tract": 0, "patch": 4, "band": "i"}, gen2_ref), "band")

    @pytest.mark.parametrize(
        ("answer", "words"),
        [
            (None, ["replace the ..."]),
            (..., ["replace the ..."]),
            ("tract=0 patch=5", ["dict"]),
            ({**GEN3_I, "filter": "HSC-I"}, ["filter", "band"]),
            ({"filter": "HSC-I", "tract": 0, "patch": 5, "skymap": "discrete"}, ["Gen2", "band"]),
            ({**GEN3_I, "band": "HSC-I"}, ["physical_filter", "'i'"]),
            ({**GEN3_I, "band": "r"}, ["not the band"]),
            ({k: v for k, v in GEN3_I.items() if k != "band"}, ["needs a band"]),
            ({**GEN3_I, "patch": "2,1"}, ["Gen2 patch name", "integers"]),
            ({**GEN3_I, "patch": 7}, ["swapped"]),
            ({**GEN3_I, "patch": 4}, ["not Gen2 patch"]),
            ({**GEN3_I, "patch": 5.0}, ["integer"]),
            ({**GEN3_I, "tract": 1}, ["tract"]),
            ({k: v for k, v in GEN3_I.items() if k != "skymap"}, ["skymap", "discrete"]),
            ({**GEN3_I, "skymap": "hsc_rings_v1"}, ["sky map"]),
            ({**GEN3_I, "visit": 903334}, ["remove", "visit"]),
        ],
    )
    def test_typical_mistakes(self, answer, words):
        assert_wrong(self.check(answer), *words)


# --- lesson 1: columns and tables ---------------------------------------------------------------------------
class TestFluxColumns:
    def test_right_in_any_order(self, data):
        _, forced = data
        answer = ["modelfit_CModel_instFlux", "base_PsfFlux_instFlux"]
        assert_right(checks_loading.check_flux_columns(answer, forced["i"]))

    @pytest.mark.parametrize(
        ("answer", "words"),
        [
            (None, ["replace the ..."]),
            ("base_PsfFlux_instFlux", ["list"]),
            (
                [
                    "base_PsfFlux_instFlux",
                    "base_PsfFlux_instFluxErr",
                    "modelfit_CModel_instFlux",
                    "modelfit_CModel_instFluxErr",
                ],
                ["uncertainties", "*_instFlux"],
            ),
            (["base_PsfFlux_instFlux"], ["missing"]),
            (["base_PsfFlux_instflux", "modelfit_CModel_instFlux"], ["not columns", "spelling"]),
            (["base_PsfFlux_instFlux", "modelfit_CModel_instFlux", "base_PsfFlux_flag"], ["not a flux column"]),
            (["base_PsfFlux_instFlux", "base_PsfFlux_instFlux", "modelfit_CModel_instFlux"], ["twice"]),
        ],
    )
    def test_typical_mistakes(self, data, answer, words):
        _, forced = data
        assert_wrong(checks_loading.check_flux_columns(answer, forced["i"]), *words)

    def test_columns_instead_of_names(self, data):
        _, forced = data
        answer = [forced["i"]["base_PsfFlux_instFlux"], forced["i"]["modelfit_CModel_instFlux"]]
        assert_wrong(checks_loading.check_flux_columns(answer, forced["i"]), "names")


class TestMultibandTable:
    @staticmethod
    def right_answer(ref, forced) -> Table:
        columns = {"id": ref["id"]}
        for band in BANDS:
            columns[f"{band}_psfInstFlux"] = forced[band]["base_PsfFlux_instFlux"]
        return Table(columns)

    def test_right(self, data):
        ref, forced = data
        result = checks_loading.check_multiband_table(self.right_answer(ref, forced), ref, forced)
        assert_right(result)
        assert "300 rows" in result.message

    def test_right_with_extra_columns_and_masked_values(self, data):
        ref, forced = data
        answer = Table(self.right_answer(ref, forced), masked=True)
        answer["g_psfInstFlux"].mask = np.isnan(np.asarray(forced["g"]["base_PsfFlux_instFlux"]))
        answer["i_psfInstFluxErr"] = forced["i"]["base_PsfFlux_instFluxErr"]
        assert_right(checks_loading.check_multiband_table(answer, ref, forced))

    def test_right_when_a_column_is_kept_as_float32(self, data):
        ref, forced = data
        answer = self.right_answer(ref, forced)
        answer["g_psfInstFlux"] = np.asarray(forced["g"]["base_PsfFlux_instFlux"]).astype(np.float32)
        assert_right(checks_loading.check_multiband_table(answer, ref, forced))

    def test_a_wrong_column_is_counted_by_the_same_tolerance_that_judges_it(self, data):
        ref, forced = data
        answer = self.right_answer(ref, forced)
        changed = np.asarray(forced["g"]["base_PsfFlux_instFlux"]).copy()
        changed[:7] *= 1.001
        answer["g_psfInstFlux"] = changed
        assert_wrong(checks_loading.check_multiband_table(answer, ref, forced), "in 7 rows")

    def test_not_a_table(self, data):
        ref, forced = data
        assert_wrong(checks_loading.check_multiband_table(None, ref, forced), "replace the ...")
        assert_wrong(checks_loading.check_multiband_table([1, 2, 3], ref, forced), "astropy Table")

    def test_missing_column(self, data):
        ref, forced = data
        answer = self.right_answer(ref, forced)
        answer.rename_column("r_psfInstFlux", "r_psfFlux")
        assert_wrong(checks_loading.check_multiband_table(answer, ref, forced), "missing: r_psfInstFlux")

    def test_dropped_rows(self, data):
        ref, forced = data
        answer = self.right_answer(ref, forced)
        answer = answer[np.isfinite(np.asarray(answer["g_psfInstFlux"]))]
        assert_wrong(checks_loading.check_multiband_table(answer, ref, forced), "295 rows", "every row")

    def test_reordered_rows(self, data):
        ref, forced = data
        answer = self.right_answer(ref, forced)
        answer.sort("i_psfInstFlux")
        assert_wrong(checks_loading.check_multiband_table(answer, ref, forced), "re-ordered")

    def test_bands_mixed_up(self, data):
        ref, forced = data
        answer = self.right_answer(ref, forced)
        answer["g_psfInstFlux"] = forced["r"]["base_PsfFlux_instFlux"]
        assert_wrong(checks_loading.check_multiband_table(answer, ref, forced), "g_psfInstFlux", "r-band")

    def test_uncertainties_instead_of_fluxes(self, data):
        ref, forced = data
        answer = self.right_answer(ref, forced)
        answer["i_psfInstFlux"] = forced["i"]["base_PsfFlux_instFluxErr"]
        assert_wrong(checks_loading.check_multiband_table(answer, ref, forced), "uncertainties")

    def test_calibrated_fluxes(self, data, photo_calib):
        ref, forced = data
        answer = self.right_answer(ref, forced)
        answer["i_psfInstFlux"] = photo_calib.instFluxToNanojansky(forced["i"]["base_PsfFlux_instFlux"])
        assert_wrong(checks_loading.check_multiband_table(answer, ref, forced), "57.54 times", "counts")

    def test_other_ids(self, data):
        ref, forced = data
        answer = self.right_answer(ref, forced)
        answer["id"] = np.arange(N_ROWS)
        assert_wrong(checks_loading.check_multiband_table(answer, ref, forced), "id column")


# --- lesson 2: negative fluxes ------------------------------------------------------------------------------
class TestNegativeCount:
    @staticmethod
    def counts(table):
        flux = np.asarray(table["base_PsfFlux_instFlux"])
        return int(np.sum(flux < 0)), int(np.sum(np.isnan(flux))), int(np.sum(flux > 0))

    def test_right(self, data):
        _, forced = data
        n_negative, n_nan, _ = self.counts(forced["r"])
        assert n_negative > 0 and n_nan > 0
        result = checks_calibration.check_negative_count(n_negative, forced["r"])
        assert_right(result)
        assert f"{n_nan} NaN" in result.message
        assert_right(checks_calibration.check_negative_count(np.int64(n_negative), forced["r"]))
        assert_right(checks_calibration.check_negative_count(float(n_negative), forced["r"]))

    def test_typical_mistakes(self, data):
        _, forced = data
        table = forced["r"]
        n_negative, n_nan, n_positive = self.counts(table)
        check = checks_calibration.check_negative_count
        assert_wrong(check(None, table), "replace the ...")
        assert_wrong(check(n_negative + n_nan, table), "NaN", "flux < 0")
        assert_wrong(check(n_nan, table), "NaN")
        assert_wrong(check(n_positive, table), "positive")
        assert_wrong(check(N_ROWS - n_negative, table), "NOT negative")
        assert_wrong(check(N_ROWS, table), "number of rows")
        assert_wrong(check(True, table), "integer")
        assert_wrong(check(n_negative + 0.5, table), "whole number")
        assert_wrong(check(np.asarray(table["base_PsfFlux_instFlux"]) < 0, table), "count_nonzero")

    def test_another_band(self, data):
        _, forced = data
        n_g = self.counts(forced["g"])[0]
        n_r = self.counts(forced["r"])[0]
        if n_g != n_r:
            assert_wrong(checks_calibration.check_negative_count(n_g, forced["r"]), "band")


# --- lesson 2: magnitudes -----------------------------------------------------------------------------------
class TestMagnitudes:
    @staticmethod
    def columns(table):
        return table["base_PsfFlux_instFlux"], table["base_PsfFlux_instFluxErr"]

    def test_right_as_pair_or_arrays_or_quantities(self, data, photo_calib):
        _, forced = data
        table = forced["i"]
        pair = photo_calib.instFluxToMagnitude(*self.columns(table))
        assert_right(checks_calibration.check_magnitudes(pair, table, photo_calib, require_err=True))
        assert_right(checks_calibration.check_magnitudes(pair[0], table, photo_calib, mag_err=pair[1]))
        assert_right(checks_calibration.check_magnitudes(pair[0], table, photo_calib))
        assert_right(checks_calibration.check_magnitudes(pair[0] * u.mag, table, photo_calib, mag_err=pair[1] * u.mag))
        assert_right(checks_calibration.check_magnitudes(list(pair[0]), table, photo_calib))
        assert_right(checks_calibration.check_magnitudes(list(pair), table, photo_calib, require_err=True))

    def test_right_from_calibrate_catalog(self, data, photo_calib):
        _, forced = data
        calibrated = photo_calib.calibrateCatalog(forced["i"])
        result = checks_calibration.check_magnitudes(
            calibrated["base_PsfFlux_mag"], forced["i"], photo_calib, mag_err=calibrated["base_PsfFlux_magErr"]
        )
        assert_right(result)

    def test_missing_errors(self, data, photo_calib):
        _, forced = data
        mag = photo_calib.instFluxToMagnitude(forced["i"]["base_PsfFlux_instFlux"])
        assert_wrong(checks_calibration.check_magnitudes(mag, forced["i"], photo_calib, require_err=True), "errors too")

    def by_hand(self, table, function):
        flux = np.asarray(table["base_PsfFlux_instFlux"], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return function(flux)

    @pytest.mark.parametrize(
        ("function", "words"),
        [
            (lambda f: -2.5 * np.log10(f), ["instrumental", "zero point"]),
            (lambda f: 31.4 - 2.5 * np.log10(f), ["as if they were nJy"]),
            (lambda f: 27.0 - 2.5 * np.log10(f * 57.5440), ["calibrated twice"]),
            (lambda f: 27.0 - 2.5 * np.log(f), ["natural logarithm", "log10"]),
            (lambda f: -27.0 + 2.5 * np.log10(f), ["sign"]),
            (lambda f: 27.0 - 2.5 * np.log10(np.abs(f)), ["negative flux", "NaN"]),
            (lambda f: 27.0 - 2.5 * np.log10(np.clip(f, 1e-3, None)), ["negative flux"]),
            (lambda f: 26.5 - 2.5 * np.log10(f), ["off by -0.500"]),
            (lambda f: 27.003 - 2.5 * np.log10(f), ["off by +0.003"]),  # a zero point rounded, or a typo
            (lambda f: np.nan_to_num(27.0 - 2.5 * np.log10(f), nan=99.0), ["negative flux"]),
        ],
    )
    def test_typical_mistakes(self, data, photo_calib, function, words):
        _, forced = data
        mags = self.by_hand(forced["i"], function)
        assert_wrong(checks_calibration.check_magnitudes(mags, forced["i"], photo_calib), *words)

    def test_wrong_shapes_and_types(self, data, photo_calib):
        _, forced = data
        table = forced["i"]
        mag = photo_calib.instFluxToMagnitude(table["base_PsfFlux_instFlux"])
        check = checks_calibration.check_magnitudes
        assert_wrong(check(None, table, photo_calib), "replace the ...")
        assert_wrong(check(mag[np.isfinite(mag)], table, photo_calib), "one value per row")
        assert_wrong(check(float(np.nanmean(mag)), table, photo_calib), "array")
        assert_wrong(check((mag, mag, mag), table, photo_calib), "pair")
        nJy = photo_calib.instFluxToNanojansky(table["base_PsfFlux_instFlux"] * 1.0)
        assert_wrong(check(nJy * u.nJy, table, photo_calib), "unit 'nJy'")

    def test_other_measurement(self, data, photo_calib):
        _, forced = data
        mag = photo_calib.instFluxToMagnitude(forced["i"]["modelfit_CModel_instFlux"])
        assert_wrong(checks_calibration.check_magnitudes(mag, forced["i"], photo_calib), "modelfit_CModel")

    def test_nan_flux_with_a_magnitude(self, data, photo_calib):
        _, forced = data
        mag = np.array(photo_calib.instFluxToMagnitude(forced["i"]["base_PsfFlux_instFlux"]))
        nan_rows = np.isnan(np.asarray(forced["i"]["base_PsfFlux_instFlux"]))
        mag[nan_rows] = 25.0
        assert_wrong(checks_calibration.check_magnitudes(mag, forced["i"], photo_calib), "failed measurement")

    @pytest.mark.parametrize(
        ("transform", "words"),
        [
            (lambda e, pc: e / (2.5 / math.log(10)), ["fractional flux error", "1.0857"]),
            (lambda e, pc: e * math.log(10), ["too large", "1.0857"]),
            (lambda e, pc: e * pc.getCalibrationMean(), ["same units"]),
            (lambda e, pc: e / pc.getCalibrationMean(), ["same units"]),
            (lambda e, pc: e * 1.3, ["magErr = 2.5/ln(10)"]),
            (lambda e, pc: np.nan_to_num(e, nan=0.5), ["NaN magnitude error too"]),
            (lambda e, pc: -e, ["never negative"]),
        ],
    )
    def test_error_mistakes(self, data, photo_calib, transform, words):
        _, forced = data
        table = forced["i"]
        mag, err = photo_calib.instFluxToMagnitude(*self.columns(table))
        answer = (mag, transform(np.asarray(err), photo_calib))
        assert_wrong(checks_calibration.check_magnitudes(answer, table, photo_calib), *words)

    def test_nan_errors_where_there_is_no_magnitude_are_right(self, data, photo_calib):
        """afw keeps a finite error for a negative flux; NaN there is right too (a probe found it called wrong,
        with a message that contradicted the check's own rule)."""
        _, forced = data
        table = forced["i"]
        mag, err = photo_calib.instFluxToMagnitude(*self.columns(table))
        inst = np.asarray(table["base_PsfFlux_instFlux"])
        assert np.isfinite(np.asarray(err)[inst < 0]).any()  # the case the probe found
        answer = (mag, np.where(inst > 0, err, np.nan))
        assert checks_calibration.check_magnitudes(answer, table, photo_calib)

    def test_an_infinite_magnitude_of_a_zero_flux_is_named(self, data, photo_calib):
        _, forced = data
        table = forced["i"].copy()
        table["base_PsfFlux_instFlux"][0] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mags = 2.5 * np.log10(photo_calib.getInstFluxAtZeroMagnitude()) - 2.5 * np.log10(
                np.asarray(table["base_PsfFlux_instFlux"], dtype=float)
            )
        mags[np.asarray(table["base_PsfFlux_instFlux"]) < 0] = np.nan
        assert np.isinf(mags).sum() == 1
        assert_wrong(checks_calibration.check_magnitudes(mags, table, photo_calib), "infinite magnitude")

    def test_errors_wrong_length(self, data, photo_calib):
        _, forced = data
        mag, err = photo_calib.instFluxToMagnitude(*self.columns(forced["i"]))
        assert_wrong(checks_calibration.check_magnitudes((mag, err[:10]), forced["i"], photo_calib), "one per row")


# --- lesson 2: averaging fluxes -----------------------------------------------------------------------------
class TestMeanFlux:
    @pytest.fixture()
    def fluxes(self, data, photo_calib):
        _, forced = data
        return photo_calib.instFluxToNanojansky(forced["g"]["base_PsfFlux_instFlux"])

    def test_right(self, fluxes):
        result = checks_calibration.check_mean_flux(np.nanmean(fluxes), fluxes)
        assert_right(result)
        assert "negative" in result.message and "sigma" in result.message
        assert_right(checks_calibration.check_mean_flux(np.nanmean(fluxes) * u.nJy, fluxes))
        assert_right(checks_calibration.check_mean_flux((np.nanmean(fluxes) * u.nJy).to(u.uJy), fluxes))

    def test_units_of_the_sample_are_converted_and_a_string_is_not_a_number(self, fluxes):
        """A probe found a sample in uJy judged in nJy, counts called nJy, and '97.3' accepted."""
        mean = float(np.nanmean(fluxes))
        assert_right(checks_calibration.check_mean_flux(mean, (np.asarray(fluxes) * u.nJy).to(u.uJy)))
        assert_wrong(checks_calibration.check_mean_flux(mean, np.asarray(fluxes) * u.ct), "calibrate them to nJy")
        assert_wrong(checks_calibration.check_mean_flux(str(mean), fluxes), "give a number")

    def test_the_printed_value_typed_back_is_right_but_a_real_difference_is_not(self, fluxes):
        finite = fluxes[np.isfinite(fluxes)]
        mean, sem = float(np.mean(finite)), float(np.std(finite, ddof=1) / np.sqrt(finite.size))
        printed = float(f"{mean:.1f}")  # as the lesson prints it
        assert 0 < abs(printed - mean) <= 0.05 < 0.05 * sem  # it differs, by less than 5% of the standard error
        assert_right(checks_calibration.check_mean_flux(printed, fluxes))
        assert_wrong(checks_calibration.check_mean_flux(mean + 0.2 * sem, fluxes), "np.nanmean")

    def test_typical_mistakes(self, fluxes, photo_calib):
        check = checks_calibration.check_mean_flux
        finite = fluxes[np.isfinite(fluxes)]
        mean = photo_calib.getCalibrationMean()
        assert_wrong(check(None, fluxes), "replace the ...")
        assert_wrong(check(float(np.mean(fluxes)), fluxes), "np.nanmean")
        assert_wrong(check(float(np.mean(finite[finite > 0])), fluxes), "negative fluxes", "biases it high")
        mags = 31.4 - 2.5 * np.log10(finite[finite > 0])
        assert_wrong(check(10 ** (-0.4 * (np.mean(mags) - 31.4)), fluxes), "averaging magnitudes")
        assert_wrong(check(float(np.median(finite)), fluxes), "median")
        assert_wrong(check(float(np.mean(finite)) / mean, fluxes, calibration_mean=mean), "counts")
        assert_wrong(check(25.3 * u.mag, fluxes), "magnitude")
        assert_wrong(check(25.3, fluxes), "magnitude")
        assert_wrong(check(1.0 * u.m, fluxes), "unit")
        assert_wrong(check(finite, fluxes), "one number")
        assert_wrong(check(float(np.mean(finite)) * 1.5, fluxes), "np.nanmean")
