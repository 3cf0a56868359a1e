"""Tests for data_fetch.afw_table: reading real afw-written catalogs, modernizing names, writing them."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Column, MaskedColumn, Table

from data_fetch.afw_table import read_source_catalog, resolve_alias, write_source_catalog

MEAS = "lsst-afw-hsc/deepCoadd_meas_HSC_v2.fits"
SRC_V2 = "lsst-afw-hsc/sourceCatalog-hsc-v2.fits"
FARO = "lsst-faro-hsc/src_HSC_i_HSC-I_903986_0_31_HSC_runs_ci_hsc_20210407T021858Z.fits"
PHOTOCALIB = "lsst-afw-hsc/photoCalib-version1.fits"

# relpath: (AFW_TABLE_VERSION in the header, rows, flag bits, other fields, ALIAS cards, name of the PSF flux)
REAL_CATALOGS = {
    MEAS: (1, 10, 237, 262, 28, "base_PsfFlux_flux"),
    # Named "v2" and using *_fluxErr (version-2 naming), but its header says AFW_TABLE_VERSION = 1.
    SRC_V2: (1, 5, 114, 114, 21, "base_PsfFlux_flux"),
    FARO: (3, 771, 122, 125, 21, "base_PsfFlux_instFlux"),
}
# Number of set bits, counted once with numpy on the raw bytes of the files (see raw_flags below).
TRUE_COUNTS = {
    MEAS: {"detect_isPrimary": 6, "detect_isPatchInner": 10, "merge_peak_sky": 0, "*": 275},
    SRC_V2: {"base_PsfFlux_flag": 5, "base_PixelFlags_flag_edge": 4, "calib_psf_used": 0, "*": 183},
    FARO: {"base_PsfFlux_flag": 159, "base_PixelFlags_flag_edge": 173, "calib_psf_used": 47, "*": 9871},
}
APERTURE_RADII = [3.0, 4.5, 6.0, 9.0, 12.0, 17.0, 25.0, 35.0, 50.0, 70.0]  # pixels, in every real file
real_catalog = pytest.mark.parametrize("relpath", list(REAL_CATALOGS), ids=lambda p: Path(p).stem[:24])


def read_quietly(path, **kwargs) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_source_catalog(path, **kwargs)


def raw_flags(path) -> tuple[list[str], list[str], np.ndarray]:
    """Flag names, docs and bits decoded without astropy's X-column support: numpy on the file's bytes.

    The flags are column 1, so they are the first ceil(n/8) bytes of each row; FITS puts bit 1 in the most
    significant bit of the first byte.
    """
    with fits.open(path) as hdul:
        header = hdul[1].header.copy()
        data_start = hdul[1].fileinfo()["datLoc"]
    assert header["FLAGCOL"] == 1 and header["TTYPE1"] == "flags"
    n_bits = int(header["TFORM1"].strip().rstrip("X"))
    width, nrows = header["NAXIS1"], header["NAXIS2"]
    raw = np.fromfile(path, dtype=np.uint8, count=width * nrows, offset=data_start).reshape(nrows, width)
    bits = np.unpackbits(raw[:, : (n_bits + 7) // 8], axis=1, bitorder="big")[:, :n_bits].astype(bool)
    names = [header[f"TFLAG{k}"] for k in range(1, n_bits + 1)]
    docs = [header.get(f"TFDOC{k}", "") for k in range(1, n_bits + 1)]
    return names, docs, bits


def header_sequence(path, kinds=("TTYPE", "TFLAG")) -> list[str]:
    """Values of the TTYPEn / TFLAGk cards in header order (the afw schema order)."""
    header = fits.getheader(path, 1)
    return [card.value for card in header.cards if card.keyword.rstrip("0123456789") in kinds]


def assert_tables_equal(a: Table, b: Table) -> None:
    assert a.colnames == b.colnames
    assert len(a) == len(b)
    for name in a.colnames:
        ca, cb = a[name], b[name]
        assert ca.dtype.kind == cb.dtype.kind, name
        assert ca.shape == cb.shape, name
        assert ca.unit == cb.unit, name
        assert (ca.description or "") == (cb.description or ""), name
        if ca.dtype.kind == "f":
            np.testing.assert_array_equal(np.asarray(ca), np.asarray(cb), err_msg=name)  # NaN == NaN here
        else:
            assert np.array_equal(np.asarray(ca), np.asarray(cb)), name


# ---------------------------------------------------------------------------------------------------------
# Real files
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_every_realdata_fits_file_is_covered(realdata_dir):
    found = {path.relative_to(realdata_dir).as_posix() for path in realdata_dir.glob("*/*.fits")}
    assert found == set(REAL_CATALOGS) | {PHOTOCALIB}


@pytest.mark.realdata
@real_catalog
def test_reads_real_catalog_shape_and_meta(realdata_dir, relpath):
    version, nrows, n_flags, n_fields, n_aliases, _ = REAL_CATALOGS[relpath]
    table = read_quietly(realdata_dir / relpath)
    flag_columns = [name for name in table.colnames if table[name].dtype == bool]
    assert len(table) == nrows
    assert len(flag_columns) == n_flags
    assert len(table.colnames) == n_flags + n_fields
    assert "flags" not in table.colnames
    assert table.meta["AFW_TABLE_VERSION"] == version
    assert table.meta["AFW_TYPE"] == "SOURCE"
    assert len(table.meta["aliases"]) == n_aliases
    assert table.meta["renamed"] == {}
    assert table.meta["metadata"]["NOISE_SOURCE"] in ("measure", ["measure"] * 3)
    assert table["id"].dtype == np.int64 and len(np.unique(table["id"])) == nrows


@pytest.mark.realdata
@real_catalog
def test_flags_match_independent_bit_decoding(realdata_dir, relpath):
    path = realdata_dir / relpath
    table = read_quietly(path)
    names, docs, bits = raw_flags(path)
    assert bits.shape == (REAL_CATALOGS[relpath][1], REAL_CATALOGS[relpath][2])
    for k, (name, doc) in enumerate(zip(names, docs, strict=True)):
        assert table[name].dtype == bool
        np.testing.assert_array_equal(table[name], bits[:, k], err_msg=name)
        assert table[name].description == doc
    for name, count in TRUE_COUNTS[relpath].items():
        if name == "*":
            assert sum(int(table[flag].sum()) for flag in names) == int(bits.sum()) == count
        else:
            assert int(table[name].sum()) == int(bits[:, names.index(name)].sum()) == count


@pytest.mark.realdata
@real_catalog
def test_units_and_descriptions(realdata_dir, relpath):
    path = realdata_dir / relpath
    table = read_quietly(path)
    psf_flux = REAL_CATALOGS[relpath][5]
    assert table["coord_ra"].unit == u.rad and table["coord_dec"].unit == u.rad
    assert table["coord_ra"].description == "position in ra/dec"
    assert table[psf_flux].unit == u.ct
    assert table[psf_flux].description == "flux derived from linear least-squares fit of PSF model".replace(
        "flux", "instFlux" if "instFlux" in psf_flux else "flux", 1
    )
    assert table["base_SdssCentroid_x"].unit == u.pix
    assert table["base_SdssShape_xx"].unit == u.pix**2
    assert table["id"].unit is None
    header = fits.getheader(path, 1)
    for n in range(2, header["TFIELDS"] + 1):
        column = table[header[f"TTYPE{n}"]]
        assert column.description == header[f"TDOC{n}"]
        assert column.unit == (u.Unit(header[f"TUNIT{n}"]) if f"TUNIT{n}" in header else None)
    # Every unit string afw wrote is one astropy understands.
    assert not any(isinstance(table[name].unit, u.UnrecognizedUnit) for name in table.colnames)
    # 10 aperture radii (pixels) are in the header metadata, under a key whose case depends on the writer.
    radii = {key.lower(): value for key, value in table.meta["metadata"].items()}
    assert radii["base_circularapertureflux_radii"] == APERTURE_RADII


@pytest.mark.realdata
@real_catalog
def test_column_order_is_afw_schema_order(realdata_dir, relpath):
    path = realdata_dir / relpath
    table = read_quietly(path, modernize=False)
    assert table.colnames == header_sequence(path)[1:]  # without the packed "flags" column itself
    psf = table.colnames.index("base_PsfFlux_area")
    assert table.colnames[psf + 1 : psf + 4] == [
        "base_PsfFlux_flag",
        "base_PsfFlux_flag_noGoodPixels",
        "base_PsfFlux_flag_edge",
    ]
    assert table.colnames[:4] == ["id", "coord_ra", "coord_dec", "parent"]


@pytest.mark.realdata
@real_catalog
def test_aliases_are_read_and_resolve(realdata_dir, relpath):
    path = realdata_dir / relpath
    table = read_quietly(path)
    raw = [card.value for card in fits.getheader(path, 1).cards if card.keyword == "ALIAS"]
    assert table.meta["aliases"] == dict(entry.split(":", 1) for entry in raw)
    assert table.meta["aliases"]["slot_PsfFlux"] == "base_PsfFlux"
    psf_flux = REAL_CATALOGS[relpath][5]
    assert resolve_alias(table, psf_flux.replace("base_", "slot_", 1)) == psf_flux
    assert resolve_alias(table, "slot_Centroid_x") == "base_SdssCentroid_x"
    assert resolve_alias(table, "slot_Shape_flag") == "ext_shapeHSM_HsmSourceMoments_flag"
    bad_centroid = resolve_alias(table, "base_PsfFlux_flag_badCentroid")
    assert bad_centroid == "base_SdssCentroid_flag"
    assert int(table[bad_centroid].sum()) == {MEAS: 0, SRC_V2: 5, FARO: 159}[relpath]
    assert resolve_alias(table, "coord_ra") == "coord_ra"
    with pytest.raises(KeyError, match="base_SdssCentroid_x"):
        resolve_alias(table, "slot_Centroid")  # a prefix alias, not a column: the message lists candidates
    with pytest.raises(KeyError, match="no_such_column"):
        resolve_alias(table, "no_such_column")


@pytest.mark.realdata
def test_meas_file_has_detection_flags(realdata_dir):
    table = read_quietly(realdata_dir / MEAS)
    for name in ("detect_isPrimary", "detect_isPatchInner", "detect_isTractInner", "merge_peak_sky"):
        assert table[name].dtype == bool
    assert table["deblend_nChild"].tolist() == [0, 0, 0, 0, 0, 6, 6, 0, 2, 11]
    # pipe_tasks v16 setPrimaryFlags: isPrimary = isPatchInner & isTractInner & ~merge_peak_sky & nChild == 0.
    expected = (
        table["detect_isPatchInner"]
        & table["detect_isTractInner"]
        & ~table["merge_peak_sky"]
        & (table["deblend_nChild"] == 0)
    )
    np.testing.assert_array_equal(table["detect_isPrimary"], expected)
    assert int(expected.sum()) == 6
    assert resolve_alias(table, "slot_ModelFlux_flux") == "modelfit_CModel_flux"


@pytest.mark.realdata
def test_modernize_v1_meas(realdata_dir):
    old = read_quietly(realdata_dir / MEAS)
    new = read_quietly(realdata_dir / MEAS, modernize=True)
    renamed = new.meta["renamed"]
    assert len(renamed) == 111
    expected = {
        "base_PsfFlux_flux": "base_PsfFlux_instFlux",
        "base_PsfFlux_fluxSigma": "base_PsfFlux_instFluxErr",
        "base_PsfFlux_apCorrSigma": "base_PsfFlux_apCorrErr",
        "base_SdssCentroid_xSigma": "base_SdssCentroid_xErr",
        "base_SdssShape_flux_xx_Cov": "base_SdssShape_instFlux_xx_Cov",
        "base_CircularApertureFlux_12_0_flux": "base_CircularApertureFlux_12_0_instFlux",
        "modelfit_CModel_flux": "modelfit_CModel_instFlux",
        "modelfit_CModel_fluxSigma": "modelfit_CModel_instFluxErr",
        "modelfit_CModel_flux_inner": "modelfit_CModel_instFlux_inner",
        "base_Blendedness_raw_flux_child": "base_Blendedness_raw_child_instFlux",
        "base_Blendedness_abs_flux": "base_Blendedness_abs",
    }
    assert {key: renamed[key] for key in expected} == expected
    # Same columns in the same places; only the names changed.
    assert [renamed.get(name, name) for name in old.colnames] == new.colnames
    assert len(set(new.colnames)) == len(new.colnames)
    flags = [name for name in old.colnames if old[name].dtype == bool]
    assert [name for name in new.colnames if new[name].dtype == bool] == flags  # flags keep their names
    assert "base_PsfFlux_flag" in new.colnames and "base_PsfFlux_flag_edge" in new.colnames
    assert not [name for name in new.colnames if name.endswith("Sigma")]
    assert not [name for name in new.colnames if "flux" in name and new[name].unit == u.ct]
    np.testing.assert_array_equal(new["base_PsfFlux_instFlux"], old["base_PsfFlux_flux"])
    np.testing.assert_array_equal(new["base_PsfFlux_instFluxErr"], old["base_PsfFlux_fluxSigma"])
    assert new["base_PsfFlux_instFlux"].unit == u.ct
    assert old["modelfit_CModel_flux"].unit is None and new["modelfit_CModel_instFlux"].unit == u.ct
    assert resolve_alias(new, "slot_ModelFlux_instFlux") == "modelfit_CModel_instFlux"
    assert resolve_alias(new, "slot_PsfFlux_instFluxErr") == "base_PsfFlux_instFluxErr"
    assert resolve_alias(new, "base_PsfFlux_flux") == "base_PsfFlux_instFlux"  # old names still work
    assert new.meta["aliases"] == old.meta["aliases"]  # all aliases are prefixes; none names a renamed field


@pytest.mark.realdata
def test_modernize_v2_named_file(realdata_dir):
    new = read_quietly(realdata_dir / SRC_V2, modernize=True)
    renamed = new.meta["renamed"]
    assert len(renamed) == 39
    assert renamed["base_PsfFlux_flux"] == "base_PsfFlux_instFlux"
    assert renamed["base_PsfFlux_fluxErr"] == "base_PsfFlux_instFluxErr"
    assert renamed["base_GaussianFlux_fluxErr"] == "base_GaussianFlux_instFluxErr"
    assert "base_PsfFlux_apCorrErr" in new.colnames and "base_PsfFlux_apCorrErr" not in renamed
    assert resolve_alias(new, "slot_CalibFlux_instFlux") == "base_CircularApertureFlux_12_0_instFlux"


@pytest.mark.realdata
def test_modernize_is_a_no_op_on_version_3(realdata_dir):
    plain = read_quietly(realdata_dir / FARO)
    modern = read_quietly(realdata_dir / FARO, modernize=True)
    assert modern.meta["renamed"] == {}
    assert_tables_equal(plain, modern)


@pytest.mark.realdata
def test_photocalib_file_is_refused(realdata_dir):
    path = realdata_dir / PHOTOCALIB
    with pytest.raises(ValueError, match="photoCalib-version1.fits") as info:
        read_source_catalog(path)
    message = str(info.value)
    assert "not an afw.table catalog" in message
    assert "FLAGCOL" in message and "AFW_TYPE" in message and "ARCHIVE_INDEX" in message


@pytest.mark.realdata
@pytest.mark.parametrize("relpath", [MEAS, FARO], ids=["meas_v1", "faro_v3"])
@pytest.mark.parametrize("modernize", [False, True], ids=["as_is", "modernized"])
def test_real_round_trip(realdata_dir, tmp_path, relpath, modernize):
    path = realdata_dir / relpath
    table = read_quietly(path, modernize=modernize)
    version = 3 if modernize else table.meta["AFW_TABLE_VERSION"]
    out = tmp_path / "copy.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert write_source_catalog(table, out, afw_table_version=version) == out
    again = read_quietly(out)
    assert_tables_equal(table, again)
    assert again.meta["aliases"] == table.meta["aliases"]
    assert again.meta["metadata"] == table.meta["metadata"]
    assert again.meta["AFW_TABLE_VERSION"] == version
    assert header_sequence(out) == ["flags", *table.colnames]  # flags interleaved exactly as read
    names, _, bits = raw_flags(out)
    for k, name in enumerate(names):
        np.testing.assert_array_equal(bits[:, k], table[name])
    if not modernize:
        # Same schema cards as afw wrote: names, order, docs and unit spellings ("count*pixel^2").
        for kinds in [("TTYPE", "TFLAG"), ("TDOC",), ("TFDOC",), ("TCCLS",), ("TUNIT",), ("TFORM",)]:
            assert header_sequence(out, kinds) == header_sequence(path, kinds), kinds


# ---------------------------------------------------------------------------------------------------------
# Hand-made tables
# ---------------------------------------------------------------------------------------------------------


def make_table(nrows: int = 6) -> Table:
    """A small catalog with every kind of afw field, flags in several places and more than 8 flag bits."""
    rng = np.random.default_rng(20261124)
    table = Table()
    table["objectId"] = Column(np.arange(nrows, dtype=np.int64) + 42287784139948131, description="object id")
    table["id"] = Column(np.arange(nrows, dtype=np.int64) + 1, description="unique ID")
    table["coord_ra"] = Column(rng.uniform(0, 2 * np.pi, nrows), unit=u.rad, description="position in ra/dec")
    table["coord_dec"] = Column(rng.uniform(-1, 1, nrows), unit=u.rad, description="position in ra/dec")
    table["calib_detected"] = Column(rng.random(nrows) < 0.5, description="Source was detected as an icSource")
    table["deblend_nChild"] = Column(rng.integers(0, 5, nrows, dtype=np.int32), description="children")
    flux = rng.normal(100.0, 50.0, nrows)
    if nrows:
        flux[0] = np.nan
    table["base_PsfFlux_instFlux"] = Column(flux, unit=u.ct, description="instFlux from PSF fit")
    table["base_PsfFlux_instFluxErr"] = Column(rng.random(nrows), unit="count", description="1-sigma error")
    table["base_PsfFlux_area"] = Column(rng.random(nrows).astype(np.float32), unit=u.pix, description="area")
    table["base_PsfFlux_flag"] = Column(rng.random(nrows) < 0.3, description="General Failure Flag")
    for k in range(8):
        table[f"base_PixelFlags_flag_{k}"] = Column(rng.random(nrows) < 0.4, description=f"pixel flag {k}")
    table["base_SdssShape_instFlux_xx_Cov"] = Column(
        rng.random(nrows).astype(np.float32), unit=u.ct * u.pix**2, description="covariance"
    )
    table["cov"] = Column(rng.random((nrows, 3)).astype(np.float32), unit=u.pix**2, description="array field")
    table["single"] = Column(rng.random((nrows, 1)), description="one-element array field")
    table["band"] = Column(np.resize(["g", "r", "i", "z", "y", "N921"], nrows), description="band")
    table["nImage"] = Column(rng.integers(0, 65535, nrows, dtype=np.uint16), description="uint16 field")
    table["rate"] = Column(rng.random(nrows), unit=u.ct / u.s, description="counts per second")
    table["footprint"] = Column(np.arange(nrows, dtype=np.int32), description="archive ID for Footprint")
    table["detect_isPrimary"] = Column(rng.random(nrows) < 0.5, description="true if primary")
    table.meta["aliases"] = {"slot_PsfFlux": "base_PsfFlux", "slot_Centroid": "base_SdssCentroid"}
    table.meta["metadata"] = {"base_CircularApertureFlux_radii": [3.0, 4.5], "NOISE_SOURCE": "measure"}
    return table


@pytest.mark.parametrize("nrows", [6, 1, 0])
def test_hand_made_round_trip(tmp_path, nrows):
    table = make_table(nrows)
    out = tmp_path / "cat.fits"
    write_source_catalog(table, out)
    again = read_quietly(out)
    assert_tables_equal(table, again)
    assert again.meta["aliases"] == table.meta["aliases"]
    assert again.meta["metadata"] == table.meta["metadata"]
    assert again.meta["AFW_TABLE_VERSION"] == 3 and again.meta["AFW_TYPE"] == "SOURCE"
    assert again["cov"].shape == (nrows, 3) and again["single"].shape == (nrows, 1)
    assert again["band"].dtype.kind == "U" and again["nImage"].dtype == np.uint16
    assert resolve_alias(again, "slot_PsfFlux_instFlux") == "base_PsfFlux_instFlux"
    flag_names = [name for name in table.colnames if table[name].dtype == bool]
    names, docs, bits = raw_flags(out)
    assert names == flag_names and len(names) == 11
    assert docs == [table[name].description for name in flag_names]
    for k, name in enumerate(names):
        np.testing.assert_array_equal(bits[:, k], table[name])
    if nrows:
        assert int(bits.sum()) == sum(int(table[name].sum()) for name in flag_names) > 0


def test_written_layout_is_afw(tmp_path):
    table = make_table()
    out = tmp_path / "cat.fits"
    write_source_catalog(table, out, afw_table_version=2, aliases={"slot_Centroid": "base_SdssCentroid"})
    with fits.open(out) as hdul:
        assert len(hdul) == 2
        assert hdul[0].header["NAXIS"] == 0 and hdul[0].data is None
        header = hdul[1].header
        assert isinstance(hdul[1], fits.BinTableHDU)
    assert header["TTYPE1"] == "flags" and header["TFORM1"] == "11X" and header["FLAGCOL"] == 1
    assert header["AFW_TYPE"] == "SOURCE" and header["AFW_TABLE_VERSION"] == 2
    assert [card.value for card in header.cards if card.keyword == "ALIAS"] == ["slot_Centroid:base_SdssCentroid"]
    columns = {header[f"TTYPE{n}"]: n for n in range(1, header["TFIELDS"] + 1)}
    expected = {
        "coord_ra": ("1D", "rad", "Angle"),
        "base_PsfFlux_instFlux": ("1D", "count", "Scalar"),
        "base_PsfFlux_area": ("1E", "pixel", "Scalar"),
        "base_SdssShape_instFlux_xx_Cov": ("1E", "count*pixel^2", "Scalar"),
        "rate": ("1D", "count/second", "Scalar"),
        "cov": ("3E", "pixel^2", "Array"),
        "single": ("1D", None, "Array"),
        "band": ("4A", None, "String"),
        "objectId": ("1K", None, "Scalar"),
        "deblend_nChild": ("1J", None, "Scalar"),
    }
    for name, (tform, tunit, tccls) in expected.items():
        n = columns[name]
        assert (header[f"TFORM{n}"], header.get(f"TUNIT{n}"), header[f"TCCLS{n}"]) == (tform, tunit, tccls)
        assert header[f"TDOC{n}"] == table[name].description
    # afw order: each field's TTYPE/TFORM/TDOC/TUNIT/TCCLS together, TFLAG cards where the flags sit.
    keys = [card.keyword for card in header.cards]
    n = columns["coord_ra"]
    start = keys.index(f"TTYPE{n}")
    assert keys[start : start + 5] == [f"TTYPE{n}", f"TFORM{n}", f"TDOC{n}", f"TUNIT{n}", f"TCCLS{n}"]
    assert keys[keys.index(f"TCCLS{columns['coord_dec']}") + 1] == "TFLAG1"
    assert header["TFLAG1"] == "calib_detected" and header["TFDOC1"] == "Source was detected as an icSource"
    assert header_sequence(out) == ["flags", *table.colnames]


def test_flag_first_and_no_flags(tmp_path):
    table = make_table(3)
    flag_first = table[["calib_detected", "id", "base_PsfFlux_flag", "coord_ra"]]
    write_source_catalog(flag_first, tmp_path / "a.fits")
    assert_tables_equal(flag_first, read_quietly(tmp_path / "a.fits"))
    no_flags = table[["id", "coord_ra", "band"]]
    write_source_catalog(no_flags, tmp_path / "b.fits")
    header = fits.getheader(tmp_path / "b.fits", 1)
    assert "FLAGCOL" not in header and header["TTYPE1"] == "id"
    assert_tables_equal(no_flags, read_quietly(tmp_path / "b.fits"))


def test_writer_makes_old_layout_for_old_versions(tmp_path):
    old = make_table(4)
    old.rename_columns(
        ["base_PsfFlux_instFlux", "base_PsfFlux_instFluxErr"], ["base_PsfFlux_flux", "base_PsfFlux_fluxSigma"]
    )
    out = tmp_path / "v1.fits"
    write_source_catalog(old, out, afw_table_version=1)
    modern = read_quietly(out, modernize=True)
    assert modern.meta["renamed"] == {
        "base_PsfFlux_flux": "base_PsfFlux_instFlux",
        "base_PsfFlux_fluxSigma": "base_PsfFlux_instFluxErr",
    }
    np.testing.assert_array_equal(modern["base_PsfFlux_instFluxErr"], old["base_PsfFlux_fluxSigma"])
    with pytest.warns(UserWarning, match="base_PsfFlux_flux"):
        write_source_catalog(old, tmp_path / "v3.fits", afw_table_version=3)


def test_masked_columns(tmp_path):
    table = make_table(3)
    table["base_PsfFlux_instFlux"] = MaskedColumn(
        [1.0, 2.0, 3.0], mask=[False, True, False], unit=u.ct, description="masked flux"
    )
    write_source_catalog(table, tmp_path / "m.fits")
    again = read_quietly(tmp_path / "m.fits")
    np.testing.assert_array_equal(again["base_PsfFlux_instFlux"], [1.0, np.nan, 3.0])
    table["id"] = MaskedColumn([1, 2, 3], mask=[False, True, False])
    with pytest.raises(ValueError, match="'id' has masked values"):
        write_source_catalog(table, tmp_path / "m2.fits")


def test_writer_errors(tmp_path):
    table = make_table(2)
    with pytest.raises(ValueError, match="afw_table_version"):
        write_source_catalog(table, tmp_path / "x.fits", afw_table_version=4)
    with pytest.raises(ValueError, match="clashes"):
        write_source_catalog(Table({"flags": [1, 2]}), tmp_path / "x.fits")
    with pytest.raises(ValueError, match="alias"):
        write_source_catalog(table, tmp_path / "x.fits", aliases={"a:b": "c"})
    with pytest.raises(TypeError, match="'obj'"):
        write_source_catalog(Table({"obj": np.array([{}, {}], dtype=object)}), tmp_path / "x.fits")
    with pytest.raises(FileNotFoundError):
        write_source_catalog(table, tmp_path / "missing_dir" / "x.fits")
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic(tmp_path):
    out = tmp_path / "cat.fits"
    write_source_catalog(make_table(3), out)
    before = out.read_bytes()
    broken = make_table(3)
    broken["obj"] = np.array([object()] * 3, dtype=object)
    with pytest.raises(TypeError):
        write_source_catalog(broken, out)
    assert out.read_bytes() == before  # the old file is untouched
    write_source_catalog(make_table(5), out)  # replacing works, and leaves no temporary file behind
    assert len(read_quietly(out)) == 5
    assert [path.name for path in tmp_path.iterdir()] == ["cat.fits"]
    assert os.stat(out).st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------------------------------------
# Errors and alias semantics
# ---------------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "src.fits"
    with pytest.raises(FileNotFoundError, match="src.fits") as info:
        read_source_catalog(path)
    assert info.value.filename == str(path)


def test_not_fits_and_not_afw(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a FITS file\n")
    with pytest.raises(ValueError, match=r"notes\.txt is not a FITS file"):
        read_source_catalog(text)
    image = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((2, 2))).writeto(image)
    with pytest.raises(ValueError, match=r"image\.fits is not an afw.table catalog.*BINTABLE"):
        read_source_catalog(image)
    plain = tmp_path / "plain.fits"
    Table({"a": [1, 2], "ok": [True, False]}).write(plain)
    with pytest.raises(ValueError, match=r"plain\.fits is not an afw.table catalog.*FLAGCOL"):
        read_source_catalog(plain)


def test_version_0_is_refused(tmp_path):
    out = tmp_path / "v0.fits"
    write_source_catalog(make_table(2), out)
    fits.delval(out, "AFW_TABLE_VERSION", ext=1)  # AFW_TYPE without a version means version 0 (DM-590)
    with pytest.raises(ValueError, match="AFW_TABLE_VERSION=0"):
        read_source_catalog(out)


def test_resolve_alias_semantics():
    table = Table({name: [1] for name in ["x_c", "y_c", "z"]})
    table.meta["aliases"] = {"a": "x", "a_b": "y", "chain": "a_b", "w": "z"}
    assert resolve_alias(table, "a_c") == "x_c"
    assert resolve_alias(table, "a_b_c") == "y_c"  # the longest matching alias wins
    assert resolve_alias(table, "chain_c") == "y_c"  # substitution repeats
    assert resolve_alias(table, "w") == "z"
    table.meta["aliases"] = {"p": "q", "q": "p"}
    with pytest.raises(ValueError, match="cycle"):
        resolve_alias(table, "p_1")
    assert resolve_alias(Table({"a": [1]}), "a") == "a"
    with pytest.raises(KeyError, match="'b'"):
        resolve_alias(Table({"a": [1]}), "b")
