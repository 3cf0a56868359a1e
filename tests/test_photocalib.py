"""PhotoCalib: afw's numbers, NaN handling, units, and the old Calib bridge."""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from tutorial_lib.photocalib import PhotoCalib


@pytest.fixture
def calib():
    return PhotoCalib.from_zero_point(27.0)


def test_zero_point_27_is_57_544_nJy_per_count(calib):
    assert calib.getCalibrationMean() == pytest.approx(10 ** (0.4 * 4.4), rel=1e-15)
    assert calib.getCalibrationMean() == pytest.approx(57.544, abs=5e-4)
    assert abs(calib.instFluxToMagnitude(1000.0) - 19.5) < 1e-12
    assert calib.zero_point == pytest.approx(27.0, abs=1e-12)
    assert calib.getInstFluxAtZeroMagnitude() == pytest.approx(10**10.8, rel=1e-12)


def test_negative_flux_stays_negative_in_nJy_and_has_nan_magnitude(calib):
    flux = np.array([-10.0, 0.0, 10.0, np.nan])
    njy, njy_err = calib.instFluxToNanojansky(flux, np.full(4, 2.0))
    np.testing.assert_allclose(njy[:3], [-575.4399, 0.0, 575.4399], rtol=1e-6)
    assert np.isnan(njy[3])
    np.testing.assert_allclose(njy_err[:3], 2 * 57.54399, rtol=1e-6)  # finite at zero flux too
    mag = calib.instFluxToMagnitude(flux)
    assert np.isnan(mag[0]) and np.isnan(mag[1]) and np.isnan(mag[3])
    assert mag[2] == pytest.approx(27.0 - 2.5)


def test_magnitude_error_follows_afw(calib):
    mag, err = calib.instFluxToMagnitude(100.0, 10.0)
    assert err == pytest.approx(2.5 / math.log(10) * 0.1, rel=1e-12)
    with_calib_err = PhotoCalib(50.0, 5.0)
    _, err2 = with_calib_err.instFluxToMagnitude(100.0, 10.0)
    assert err2 == pytest.approx(2.5 / math.log(10) * math.hypot(0.1, 0.1), rel=1e-12)
    _, flux_err = with_calib_err.instFluxToNanojansky(100.0, 10.0)
    assert flux_err == pytest.approx(5000 * math.hypot(0.1, 0.1), rel=1e-12)


def test_throw_on_negative_flux_like_old_calib(calib):
    calib.setThrowOnNegativeFlux(True)
    with pytest.raises(ValueError, match="1 flux"):
        calib.getMagnitude(np.array([5.0, -1.0]))
    with pytest.raises(ValueError, match="1 flux"):  # afw 16's Calib: "Flux must be >= 0", for flux <= 0
        calib.getMagnitude(np.array([5.0, 0.0]))
    assert calib.getMagnitude(1000.0) == pytest.approx(19.5)


def test_zero_point_error_becomes_the_calibration_error():
    # d(calibrationMean)/d(zero point) = calibrationMean * ln(10) / 2.5 per magnitude
    calib = PhotoCalib.from_zero_point(27.0, 0.01)
    mean = 10 ** (0.4 * (31.4 - 27.0))
    assert calib.getCalibrationMean() == pytest.approx(mean)
    assert calib.getCalibrationErr() == pytest.approx(mean * 0.01 * np.log(10) / 2.5)
    assert calib.getCalibrationErr() == pytest.approx(0.52995, rel=1e-4)


def test_quantities_and_columns(calib):
    njy = calib.instFluxToNanojansky([1.0, 2.0] * u.ct)
    assert njy.unit == u.nJy
    mag = calib.instFluxToMagnitude(1000 * u.ct)
    assert mag.unit == u.mag and mag.value == pytest.approx(19.5)
    table = Table({"f": [1000.0, -5.0]})
    table["f"].unit = u.ct
    out = calib.instFluxToMagnitude(table["f"])
    assert isinstance(out, np.ndarray) and out[0] == pytest.approx(19.5) and np.isnan(out[1])
    with pytest.raises(u.UnitsError, match="already calibrated"):
        calib.instFluxToMagnitude([1.0] * u.nJy)


def test_calibrate_catalog_adds_columns_with_units(calib):
    table = Table({"base_PsfFlux_instFlux": [1000.0, -3.0], "base_PsfFlux_instFluxErr": [10.0, 1.0]})
    out = calib.calibrateCatalog(table, ["base_PsfFlux"])
    assert "base_PsfFlux_mag" not in table.colnames  # input untouched
    assert out["base_PsfFlux_flux"].unit == u.nJy and out["base_PsfFlux_mag"].unit == u.mag
    assert out["base_PsfFlux_mag"][0] == pytest.approx(19.5)
    assert out["base_PsfFlux_flux"][1] == pytest.approx(-3 * 57.54399, rel=1e-6)
    assert np.isnan(out["base_PsfFlux_mag"][1])
    with pytest.raises(KeyError, match="without suffix"):
        calib.calibrateCatalog(table, ["base_PsfFlux_instFlux"])


def test_bad_calibration_is_refused():
    with pytest.raises(ValueError, match="positive"):
        PhotoCalib(0.0)
    with pytest.raises(ValueError, match="FLUXMAG0"):
        PhotoCalib.from_fluxmag0(-1.0)
    assert PhotoCalib.from_fluxmag0(10**10.8).getCalibrationMean() == pytest.approx(57.544, abs=5e-4)


def test_magnitude_error_of_a_negative_flux_is_finite_as_in_afw():
    # afw PhotoCalib.cc toMagnitudeErr: 2.5/ln10 * hypot(instFluxErr/instFlux, calibrationErr/calibrationMean).
    calib = PhotoCalib(57.544, 0.0)
    mag, mag_err = calib.instFluxToMagnitude(np.array([-10.0, 0.0, 10.0]), np.array([5.0, 5.0, 5.0]))
    assert np.isnan(mag[0]) and np.isnan(mag[1]) and np.isfinite(mag[2])
    assert mag_err[0] == pytest.approx(2.5 / np.log(10) * 0.5)
    assert mag_err[2] == pytest.approx(mag_err[0])
    assert np.isinf(mag_err[1])


def test_a_masked_quantity_from_a_qtable_gives_nan_where_masked():
    from astropy.table import MaskedColumn, QTable, Table

    calib = PhotoCalib.from_zero_point(27.0)
    column = QTable(Table({"f": MaskedColumn([100.0, 200.0, 300.0], mask=[False, True, False], unit="ct")}))["f"]
    mag = calib.instFluxToMagnitude(column)
    flux = calib.instFluxToNanojansky(column)
    assert np.isnan(mag[1].value) and np.isnan(flux[1].value)
    assert mag[0].value == pytest.approx(27.0 - 2.5 * np.log10(100.0))
    assert flux[2].value == pytest.approx(300.0 * calib.getCalibrationMean())


@pytest.mark.parametrize(
    ("flux", "words"), [(None, "NoneType"), ("12.5", "got str"), (np.array([True, False]), "a flag")]
)
def test_what_is_not_a_flux_in_counts_is_refused(flux, words):
    with pytest.raises(TypeError, match=words):
        PhotoCalib.from_zero_point(27.0).instFluxToMagnitude(flux)


@pytest.mark.parametrize("n_errors", [1, 2, 6])
def test_errors_of_another_length_than_the_fluxes_are_refused(n_errors):
    calib = PhotoCalib.from_zero_point(27.0)
    with pytest.raises(ValueError, match=f"instFluxErr has {n_errors} values for 5 fluxes"):
        calib.instFluxToMagnitude(np.full(5, 100.0), np.ones(n_errors))
    with pytest.raises(ValueError, match="one error per flux"):
        calib.instFluxToNanojansky(np.full(5, 100.0), np.ones(n_errors))
    _, err = calib.instFluxToMagnitude(np.full(5, 100.0), 5.0)  # one error for every flux is fine
    assert err == pytest.approx(np.full(5, 2.5 / np.log(10) * 0.05))


def test_calibrate_catalog_of_a_dict_of_bands_says_to_calibrate_each_band():
    tables = {"i": Table({"base_PsfFlux_instFlux": [100.0], "base_PsfFlux_instFluxErr": [1.0]})}
    with pytest.raises(TypeError, match=r"photo_calib\['i'\].calibrateCatalog\(forced\['i'\]\)"):
        PhotoCalib.from_zero_point(27.0).calibrateCatalog(tables)


def test_zero_point_and_fluxmag0_as_quantity_or_text():
    mean = PhotoCalib.from_zero_point(27.0).getCalibrationMean()
    assert PhotoCalib.from_zero_point(27.0 * u.mag).getCalibrationMean() == pytest.approx(mean)
    assert PhotoCalib.from_zero_point("27").getCalibrationMean() == pytest.approx(mean)
    assert PhotoCalib.from_fluxmag0("6.3e10").getCalibrationMean() == pytest.approx(
        PhotoCalib.from_fluxmag0(6.3e10).getCalibrationMean()
    )
    with pytest.raises(ValueError, match="zero_point must be a magnitude, got unit 'nJy'"):
        PhotoCalib.from_zero_point(27.0 * u.nJy)
    with pytest.raises(ValueError, match="FLUXMAG0 must be one number"):
        PhotoCalib.from_fluxmag0("lots")


def test_constructors_take_quantities_and_catch_a_zero_point_given_as_fluxmag0():
    """A probe found each Quantity refused with astropy's 'only dimensionless scalar quantities' error, and
    from_fluxmag0(27) accepted (1000 counts then came out at magnitude -3.9)."""
    mean = PhotoCalib.from_zero_point(27.0).getCalibrationMean()
    assert PhotoCalib(mean * u.nJy / u.ct).getCalibrationMean() == mean
    assert PhotoCalib(mean * u.nJy / u.ct, 0.5 * u.nJy / u.ct).getCalibrationErr() == 0.5
    with_err = PhotoCalib.from_zero_point(27 * u.mag, 10 * u.mmag)
    assert with_err.getCalibrationErr() == pytest.approx(PhotoCalib.from_zero_point(27.0, 0.01).getCalibrationErr())
    assert (
        PhotoCalib.from_fluxmag0(6.3e10 * u.ct).getCalibrationMean()
        == PhotoCalib.from_fluxmag0(6.3e10).getCalibrationMean()
    )
    with pytest.raises(ValueError, match="calibrationMean must be in nJy / ct, got unit 'mag'"):
        PhotoCalib(27 * u.mag)
    with pytest.raises(ValueError, match="Did you pass a zero point"):
        PhotoCalib.from_fluxmag0(27.0)
