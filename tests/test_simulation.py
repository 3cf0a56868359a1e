"""The simulated repository: registry content, schema, determinism, and faithfulness to real HSC data."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import vstack
from lsst.sphgeom import LonLat, UnitVector3d

from data_fetch.schema import FORCED_COLUMNS, REF_COLUMNS
from tutorial_lib.photocalib import PhotoCalib

# Not imported from conftest, so that ``python -m tests.test_simulation`` (the digest regeneration) works.
REPO_ROOT = Path(__file__).resolve().parents[1]
DIGESTS = REPO_ROOT / "tests" / "data" / "simulated_digests.json"
LESSON = {"skymap": "discrete", "tract": 0, "patch": 4}


def table_digest(table) -> str:
    """sha256 over every column's name, dtype and bytes."""
    digest = hashlib.sha256()
    for name in table.colnames:
        column = np.ascontiguousarray(np.asarray(table[name]))
        digest.update(name.encode())
        digest.update(str(column.dtype).encode())
        digest.update(column.tobytes())
    return digest.hexdigest()


#: Collections and dataset types whose tables are digested; the key of the 2018 tables has no prefix.
_DIGESTED = (
    ("tutorial", "", ("deepCoadd_ref", "deepCoadd_forced_src", "truth_match")),
    ("tutorial_scarlet", "scarlet ", ("deepCoadd_ref", "truth_match")),
    ("tutorial_dp1", "dp1 ", ("object", "object_truth")),
)


def _all_digests(butler) -> dict:
    out = {}
    for collection, prefix, dataset_types in _DIGESTED:
        for dataset_type in dataset_types:
            refs = butler.query_datasets(dataset_type, collections=collection)
            for ref in sorted(refs, key=lambda r: str(r.dataId)):
                data_id = " ".join(f"{k}={v}" for k, v in sorted(ref.dataId.required.items()))
                out[f"{prefix}{dataset_type} {data_id}"] = table_digest(butler.get(ref))
    return out


@pytest.fixture(scope="module")
def patches(butler):
    """Every patch of both tracts: ref, forced per band and truth tables."""
    out = {}
    for ref in butler.query_datasets("deepCoadd_ref"):
        data_id = dict(ref.dataId.required)
        key = (data_id["tract"], data_id["patch"])
        out[key] = {
            "ref": butler.get(ref),
            "truth": butler.get("truth_match", data_id),
            **{b: butler.get("deepCoadd_forced_src", data_id, band=b) for b in "gri"},
        }
    return out


# --- registry ---------------------------------------------------------------------------------------------
def test_registry_has_hsc_filters_skymap_and_chain(butler):
    filters = {r.name: r.band for r in butler.query_dimension_records("physical_filter")}
    assert filters == {"HSC-G": "g", "HSC-R": "r", "HSC-I": "i"}
    tracts = butler.query_dimension_records("tract", skymap="discrete")
    assert sorted(t.id for t in tracts) == [0, 1]
    patches = butler.query_dimension_records("patch", skymap="discrete", tract=0)
    assert sorted((p.id, p.cell_x, p.cell_y) for p in patches)[4] == (4, 1, 1)
    (chain,) = butler.collections.query_info("tutorial")
    assert chain.type.name == "CHAINED" and chain.children == ("HSC/runs/simulated",)


def test_patch_regions_are_true_sky_regions(butler):
    (patch4,) = butler.query_dimension_records("patch", skymap="discrete", tract=0, patch=4)
    centre = UnitVector3d(LonLat.fromDegrees(320.881, -0.325))
    assert patch4.region.contains(centre)
    (patch0,) = butler.query_dimension_records("patch", skymap="discrete", tract=0, patch=0)
    assert not patch0.region.contains(centre)


def test_dataset_uuids_are_deterministic(butler):
    (ref,) = butler.query_datasets("deepCoadd_ref", data_id=LESSON)
    # DATAID_TYPE_RUN, recomputed from its definition (lsst/daf_butler python/lsst/daf/butler/_dataset_ref.py,
    # DatasetIdFactory.makeDatasetId): a UUID5 in the namespace NS_UUID of "dataset_type=<name>,run=<run>" and
    # the required data ID values sorted by dimension name; the same whatever the seed or the machine.
    namespace = uuid.UUID("840b31d9-05cd-5161-b2c8-00d32b280d0f")  # DatasetIdFactory.NS_UUID
    name = f"dataset_type=deepCoadd_ref,run={ref.run},patch=4,skymap=discrete,tract=0"
    assert ref.id == uuid.uuid5(namespace, name)
    assert ref.id.version == 5


def test_photocalib_component_has_zero_point_27(butler):
    calib = butler.get("deepCoadd_calexp.photoCalib", LESSON, band="r")
    assert isinstance(calib, PhotoCalib)
    assert calib.getCalibrationMean() == pytest.approx(57.544, abs=5e-4)
    assert butler.get("deepCoadd_calexp.metadata", LESSON, band="r")["FILTER"] == "HSC-R"


# --- schema and determinism -------------------------------------------------------------------------------
def test_schema_names_units_and_descriptions(patches):
    tables = patches[(0, 4)]
    for table, columns in ((tables["ref"], REF_COLUMNS), (tables["i"], FORCED_COLUMNS)):
        assert table.colnames == [c[0] for c in columns]
        for name, _, unit, description in columns:
            assert table[name].unit == unit and table[name].description == description
    assert tables["ref"]["coord_ra"].unit == u.rad and tables["i"]["base_PsfFlux_instFlux"].unit == u.ct
    assert tables["ref"]["detect_isPrimary"].dtype == bool


def test_every_table_matches_its_recorded_digest(butler):
    """A numpy, CPU or code change that alters the data fails here before any lesson output changes.

    After a deliberate change: bump SIMULATOR_VERSION, rebuild, and regenerate the digests with
    ``python -m tests.test_simulation`` (see the bottom of this file).
    """
    expected = json.loads(DIGESTS.read_text())
    actual = _all_digests(butler)
    assert len(actual) == 18 * 5 + 18 * 2 + 2 * 2  # 2018 tables, scarlet-era ref and truth, object tables
    changed = sorted(k for k in expected if actual.get(k) != expected[k])
    assert not changed, f"{len(changed)} tables differ, first: {changed[:3]}"


def test_same_seed_gives_the_same_tables_and_another_seed_does_not(tmp_path, butler):
    from lsst.daf.butler import Butler

    from data_fetch.simulate import build

    same = build(tmp_path / "same", progress=False)  # the default seed, as DATA/
    assert _all_digests(Butler(str(same.path), collections="tutorial")) == _all_digests(butler)
    other = build(tmp_path / "other", seed=1, progress=False)
    other_butler = Butler(str(other.path), collections="tutorial")
    assert table_digest(other_butler.get("deepCoadd_ref", LESSON)) != table_digest(butler.get("deepCoadd_ref", LESSON))


def test_the_simulator_imports_the_butler_only_after_forking_the_sky_process():
    """The sky is simulated while the Butler is imported (data_fetch.simulate._write_repository): a Butler import
    at the top of the module, or of a module it imports, would undo that overlap."""
    code = "import sys, data_fetch.simulate; print(sorted(m for m in sys.modules if m.startswith('lsst.daf')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_thread_writer_of_macos_and_windows_builds_the_same_tables(tmp_path, butler, monkeypatch):
    """Where fork is unsafe, one thread simulates the sky and another writes the files: the same repository."""
    from lsst.daf.butler import Butler

    from data_fetch import butler_repo, workers
    from data_fetch.manifest import verify
    from data_fetch.simulate import build

    monkeypatch.setattr(workers, "FORK", False)
    writers = butler_repo.start_writers()
    assert type(writers).__name__ == "ThreadPoolExecutor"
    writers.shutdown()
    built = build(tmp_path / "threaded", progress=False)
    assert _all_digests(Butler(str(built.path), collections="tutorial")) == _all_digests(butler)
    from data_fetch import simulate

    assert simulate._sky_process_measurer is None  # the thread kept the sky in this process: dropped after the build
    assert verify(built.path) == []  # the manifest's counts and hashes match what was written


@pytest.mark.parametrize("main_measures", ["every patch", "the unfinished ones"])
def test_the_tables_do_not_depend_on_which_process_measured_a_patch(tmp_path, butler, monkeypatch, main_measures):
    """The sky's process measures patches while the registry is made; the main process waits for them or, if
    many are unfinished, measures the rest; which process measures how many depends on the machine's speed.
    Whoever measures a patch, its tables are the same."""
    from lsst.daf.butler import Butler

    from data_fetch import simulate

    main_pid, measured_here = os.getpid(), []
    measure = simulate._PatchMeasurer.__call__

    def slow_in_the_sky_process(self, tract_id, patch_id):
        if os.getpid() == main_pid:
            measured_here.append((tract_id, patch_id))
        elif patch_id >= 2:
            time.sleep(0.5)  # so that patches are unfinished when the registry is ready
        return measure(self, tract_id, patch_id)

    if main_measures == "every patch":
        monkeypatch.setattr(simulate, "EARLY_PATCHES", 0)
    else:
        monkeypatch.setattr(simulate._PatchMeasurer, "__call__", slow_in_the_sky_process)
    built = simulate.build(tmp_path / "late", progress=False)
    if main_measures == "the unfinished ones" and simulate.workers.FORK:
        assert 0 < len(measured_here) < 18
    assert _all_digests(Butler(str(built.path), collections="tutorial")) == _all_digests(butler)


def test_the_manifest_counts_what_the_registry_holds(simulated_repo):
    """The build counts the datasets its writer ingested (data_fetch.simulate); the registry must agree."""
    from lsst.daf.butler import Butler

    from tutorial_lib.repository import dataset_counts, read_manifest

    counts = read_manifest(simulated_repo)["datasets"]
    assert counts == dataset_counts(Butler(str(simulated_repo)))
    # 18 patches x (2018 and scarlet-era ref and truth, 3 forced tables, 3 calexps), a skymap, 2 tracts x 2 tables
    assert sum(counts.values()) == 18 * (4 + 3 + 3) + 1 + 2 * 2


# --- row-for-row tables ------------------------------------------------------------------------------------
def test_forced_and_truth_tables_are_row_for_row_with_ref(patches):
    for tables in patches.values():
        ids = np.asarray(tables["ref"]["id"])
        for key in ("g", "r", "i", "truth"):
            np.testing.assert_array_equal(np.asarray(tables[key]["id"]), ids)
        for col in ("coord_ra", "coord_dec", "parent", "deblend_nChild"):
            np.testing.assert_array_equal(tables["i"][col], tables["ref"][col])


def test_ids_are_packed_like_the_hsc_mapper(patches):
    ids = np.asarray(patches[(0, 4)]["ref"]["id"])
    # Tract 0, patch 1,1: ((0 << 5 | 1) << 5 | 1) << 32 (lsst/obs_subaru python/lsst/obs/hsc/hscMapper.py,
    # HscMapper._computeCoaddExposureId, Gen2 era), the row number n from 1 in the low 32 bits.
    assert ids[0] == 141733920768 + 1
    np.testing.assert_array_equal(ids - 141733920768, np.arange(1, len(ids) + 1))


# --- detect_isPrimary and uniqueness ----------------------------------------------------------------------
def test_is_primary_rule_holds_on_every_row(patches):
    for tables in patches.values():
        ref = tables["ref"]
        rule = (
            ref["detect_isPatchInner"]
            & ref["detect_isTractInner"]
            & ~ref["merge_peak_sky"]
            & ref["detect_isDeblendedSource"]
        )
        np.testing.assert_array_equal(ref["detect_isPrimary"], rule)
        # meas_deblender branch of getDeblendPrimaryFlags: sky objects have no children, so they count.
        np.testing.assert_array_equal(ref["detect_isDeblendedSource"], ref["deblend_nChild"] == 0)
        assert np.all(ref["detect_isDeblendedSource"][ref["merge_peak_sky"]])


def test_each_true_object_has_exactly_one_primary_row(patches, butler):
    truth = vstack([t["truth"] for t in patches.values()])
    ref = vstack([t["ref"] for t in patches.values()])
    primary_ids = np.asarray(truth["truth_id"][ref["detect_isPrimary"]])
    assert (primary_ids >= 0).all()
    assert len(np.unique(primary_ids)) == len(primary_ids), "an object has two primary rows"
    measured = np.asarray(truth["truth_id"][truth["truth_id"] >= 0])
    # Objects measured anywhere and lying inside the tracts' inner regions (as measured) must be primary.
    skymap = butler.get("skyMap", skymap="discrete")
    ra, dec = np.degrees(ref["coord_ra"]), np.degrees(ref["coord_dec"])
    owner = skymap.findTract(ra, dec)
    inside = np.zeros(len(ref), bool)
    for tract in skymap:
        x, y = tract.sky_to_pixel(ra, dec)
        inside |= (owner == tract.getId()) & tract.getBBox().contains(x, y)
    deblended = ref["detect_isDeblendedSource"]
    candidates = np.unique(np.asarray(truth["truth_id"][inside & deblended & (truth["truth_id"] >= 0)]))
    assert np.isin(candidates, primary_ids).all()
    assert len(np.unique(measured)) > len(primary_ids) * 0.95


def test_border_and_overlap_objects_appear_twice(patches):
    def truth_ids(key):
        t = patches[key]["truth"]["truth_id"]
        return set(np.asarray(t[t >= 0]))

    assert len(truth_ids((0, 4)) & truth_ids((0, 5))) > 50  # patch border, 200 px wide
    assert len(truth_ids((0, 5)) & truth_ids((1, 3))) > 100  # tract overlap


# --- faithful to real HSC data ----------------------------------------------------------------------------
def test_each_cut_of_the_lesson_removes_rows_in_realistic_proportions(patches):
    tables = patches[(0, 4)]
    ref, forced = tables["ref"], tables["i"]
    n = len(ref)
    removed = {
        "deblended": np.sum(ref["deblend_nChild"] != 0),
        "patch_inner": np.sum(~ref["detect_isPatchInner"]),
        "not_sky": np.sum(ref["merge_peak_sky"]),
        "primary": np.sum(~ref["detect_isPrimary"]),
        "point_source": np.sum(~(forced["base_ClassificationExtendedness_value"] == 0)),
        "good_psf_flux": np.sum(forced["base_PsfFlux_flag"]),
    }
    assert 4000 < n < 9000
    assert removed["not_sky"] == 100
    assert 0.02 < removed["deblended"] / n < 0.10
    # The border is 2 x 100 px of a 4200 px patch: about 9.3% of the area.
    assert 0.07 < removed["patch_inner"] / n < 0.12
    assert 0.5 < removed["point_source"] / n < 0.85  # galaxies outnumber stars at i < 25
    assert 0.005 < removed["good_psf_flux"] / n < 0.05
    # The lesson's patch lies 1 patch from the tract overlap: tract_inner removes rows only in patches 2, 5, 8.
    assert np.all(ref["detect_isTractInner"])
    assert np.sum(~patches[(0, 5)]["ref"]["detect_isTractInner"]) > 200


def test_lesson_cmd_looks_like_the_lessons_figure(patches):
    tables = patches[(0, 4)]
    ref, f_r, f_i, truth = tables["ref"], tables["r"], tables["i"], tables["truth"]
    calib = PhotoCalib.from_zero_point(27.0)
    sel = ref["detect_isPrimary"] & (f_i["base_ClassificationExtendedness_value"] == 0) & ~f_i["base_PsfFlux_flag"]
    mag_i = calib.instFluxToMagnitude(f_i["base_PsfFlux_instFlux"])[sel]
    color = (
        calib.instFluxToMagnitude(f_r["base_PsfFlux_instFlux"])
        - calib.instFluxToMagnitude(f_i["base_PsfFlux_instFlux"])
    )[sel]
    ok = np.isfinite(mag_i) & np.isfinite(color)
    assert 800 < sel.sum() < 2500
    assert np.mean((color[ok] > -0.5) & (color[ok] < 3)) > 0.97
    assert np.mean((mag_i[ok] > 18) & (mag_i[ok] < 25)) > 0.85
    assert np.sum(color[ok] > 1.0) > 100  # red disc M dwarfs
    # Blue edge: the halo and thick-disc turn-off leaves few stars bluer than r - i = 0 at 19 < i < 23.
    middle = ok & (mag_i > 19) & (mag_i < 23)
    assert np.mean(color[middle] < 0.0) < 0.03
    # Galaxies leak in at the faint end only.
    galaxy = np.asarray(truth["truth_type"][sel] == "galaxy")
    assert np.sum(galaxy & (mag_i > 23)) > 3 * np.sum(galaxy & (mag_i < 22))
    assert 0.1 < galaxy.mean() < 0.4


def test_negative_forced_fluxes_exist_and_have_nan_magnitudes(patches):
    forced = patches[(0, 4)]["g"]
    negative = forced["base_PsfFlux_instFlux"] < 0
    assert negative.sum() > 30
    mags = PhotoCalib.from_zero_point(27.0).instFluxToMagnitude(forced["base_PsfFlux_instFlux"])
    assert np.isnan(mags[negative]).all()


def test_saturated_stars_are_flagged_biased_and_not_psf_flagged(patches):
    tables = patches[(0, 4)]
    forced, truth = tables["r"], tables["truth"]
    saturated = np.asarray(forced["base_PixelFlags_flag_saturatedCenter"])
    assert saturated.sum() >= 5
    assert np.all(truth["truth_mag_r"][saturated] < 17.0)
    mags = PhotoCalib.from_zero_point(27.0).instFluxToMagnitude(forced["base_PsfFlux_instFlux"])
    measured = saturated & ~forced["base_PsfFlux_flag"]  # a failed measurement (noGoodPixels) has no flux
    bias = mags[measured] - truth["truth_mag_r"][measured]
    assert np.all(bias > 0)  # measured too faint, and more so the brighter the star
    deep = truth["truth_mag_r"][measured] < 16.0
    assert np.all(bias[deep] > 0.2)
    # Saturation alone does not set the PSF flux flag (meas_base PsfFlux): each saturated star that has it also has
    # one of the flag's causes.
    flagged = saturated & forced["base_PsfFlux_flag"]
    causes = (
        forced["base_PsfFlux_flag_edge"] | forced["base_PsfFlux_flag_noGoodPixels"] | forced["base_PsfFlux_flag_apCorr"]
    )
    assert np.all(causes[flagged]) and flagged.sum() < saturated.sum() / 2


def test_blends_parents_children_and_undeblended_pairs(patches):
    ref, truth, forced = patches[(0, 4)]["ref"], patches[(0, 4)]["truth"], patches[(0, 4)]["r"]
    parents = np.flatnonzero(ref["deblend_nChild"] > 0)
    assert set(np.unique(ref["deblend_nChild"][parents])) <= {2, 3, 4, 5}
    ids = np.asarray(ref["id"])
    for p in parents[:20]:
        children = np.flatnonzero(ref["parent"] == ids[p])
        assert len(children) == ref["deblend_nChild"][p]
        true_flux = np.sum(10 ** (-0.4 * np.asarray(truth["truth_mag_r"][children])))
        assert 10 ** (-0.4 * truth["truth_mag_r"][p]) == pytest.approx(true_flux, rel=1e-3)
        assert truth["truth_id"][p] == -1
    # Measured fluxes carry their own noise: the children's measurements do not add up exactly.
    p = parents[0]
    children = ref["parent"] == ids[p]
    assert forced["base_PsfFlux_instFlux"][p] != pytest.approx(
        np.sum(forced["base_PsfFlux_instFlux"][children]), rel=1e-6
    )
    pairs = (truth["truth_n_objects"] == 2) & (ref["deblend_nChild"] == 0) & (ref["parent"] == 0)
    assert pairs.sum() > 5 and ref["detect_isPrimary"][pairs].sum() > 0


def test_sky_objects_are_pure_noise(patches):
    for tables in list(patches.values())[:3]:
        sky = np.asarray(tables["ref"]["merge_peak_sky"])
        assert sky.sum() == 100
        assert np.all(tables["truth"]["truth_id"][sky] == -1)
        flux = np.asarray(tables["i"]["base_PsfFlux_instFlux"][sky])
        err = np.asarray(tables["i"]["base_PsfFlux_instFluxErr"][sky])
        pull = flux[np.isfinite(flux)] / err[np.isfinite(flux)]
        assert abs(np.mean(pull)) < 0.35 and 0.7 < np.std(pull) < 1.3


def test_extendedness_follows_the_hsc_rule_in_every_band(patches):
    for band in "gri":
        forced = patches[(0, 4)][band]
        value = np.asarray(forced["base_ClassificationExtendedness_value"])
        flagged = np.asarray(forced["base_ClassificationExtendedness_flag"])
        assert np.isnan(value[flagged]).all() and np.isfinite(value[~flagged]).all()
        rule = np.where(0.985 * forced["modelfit_CModel_instFlux"] < forced["base_PsfFlux_instFlux"], 0.0, 1.0)
        np.testing.assert_array_equal(value[~flagged], rule[~flagged])


@pytest.mark.parametrize(
    "layout",
    [
        "REF_COLUMNS",
        "FORCED_COLUMNS",
        "SCARLET_REF_COLUMNS",
        "TRUTH_COLUMNS",
        "DP1_TRUTH_COLUMNS",
        "DP1_OBJECT_COLUMNS",
    ],
)
def test_the_writers_arrow_tables_equal_the_butlers_own_conversion(layout):
    # The writers make each layout's Arrow schema once with the Butler's conversion and reuse it; every table
    # must still equal, metadata included (row count, astropy's YAML with the table's meta, units,
    # descriptions), what the Butler's Parquet formatter would make of the astropy Table.
    from lsst.daf.butler.formatters.parquet import astropy_to_arrow

    from data_fetch import schema
    from data_fetch.butler_repo import _arrow_table, _TableToMake

    columns = getattr(schema, layout)
    rng = np.random.default_rng(3)
    for n_rows, meta in ((7, {"LSST.BUTLER.ID": "0f1e", "LSST.BUTLER.N_INPUTS": 0}), (3, {}), (0, {"A": "b/c"})):
        values = {name: (rng.normal(size=n_rows) * 100).astype(dtype) for name, dtype, *_ in columns}
        ours = _arrow_table(_TableToMake(columns, values), meta)
        table = schema.make_table(columns, values)
        table.meta.update(meta)
        butlers = astropy_to_arrow(table)
        assert ours.equals(butlers, check_metadata=True)
        assert ours.schema.metadata[b"lsst::arrow::rowcount"] == str(n_rows).encode()


def test_the_batch_writer_writes_the_files_of_butler_put(tmp_path):
    # BatchWriter writes with the repository's formatters and registers by ingest; a learner's files must be
    # those that Butler.put writes, byte for byte: the table's provenance (LSST.BUTLER.ID, run, data ID) included.
    from data_fetch import schema
    from data_fetch.butler_repo import BatchWriter, create_repository, put_deterministic, register_skymap
    from tutorial_lib.exposure import CoaddExposure
    from tutorial_lib.skymap import make_lesson_skymap

    skymap = make_lesson_skymap((1, 1))
    rng = np.random.default_rng(5)
    tables = {
        "deepCoadd_ref": (schema.REF_COLUMNS, {}),
        "deepCoadd_forced_src": (schema.FORCED_COLUMNS, {"band": "r"}),
    }
    values = {
        name: {column: (rng.normal(size=20) * 100).astype(dtype) for column, dtype, *_ in columns}
        for name, (columns, _) in tables.items()
    }
    exposure = CoaddExposure(PhotoCalib.from_zero_point(27.0), {"BUNIT": "count", "FILTER": "HSC-R"})
    written = {}
    for how in ("put", "batch"):
        root = tmp_path / how
        butler = create_repository(root)
        register_skymap(butler, skymap)
        butler.registry.registerRun("run")
        data_id = {"skymap": skymap.name, "tract": 0, "patch": 0}
        if how == "put":
            for name, (columns, extra) in tables.items():
                put_deterministic(butler, schema.make_table(columns, values[name]), name, "run", **data_id, **extra)
            put_deterministic(butler, exposure, "deepCoadd_calexp", "run", band="r", **data_id)
        else:
            with BatchWriter(butler, root) as writer:
                for name, (columns, extra) in tables.items():
                    writer.put_table(columns, values[name], name, "run", **data_id, **extra)
                writer.put(exposure, "deepCoadd_calexp", "run", band="r", **data_id)
                writer.ingest()
        written[how] = {
            name: butler.getURI(name, collections="run", **data_id, **extra).ospath
            for name, extra in (*((n, e) for n, (_, e) in tables.items()), ("deepCoadd_calexp", {"band": "r"}))
        }
    assert sorted(written["put"]) == ["deepCoadd_calexp", "deepCoadd_forced_src", "deepCoadd_ref"]
    for name, path in written["put"].items():
        batch = Path(written["batch"][name])
        assert batch.relative_to(tmp_path / "batch") == Path(path).relative_to(tmp_path / "put"), name
        assert batch.read_bytes() == Path(path).read_bytes(), name
    assert b"LSST.BUTLER.ID" in Path(written["batch"]["deepCoadd_ref"]).read_bytes()


def _write_digests():  # pragma: no cover - maintenance helper
    from lsst.daf.butler import Butler

    butler = Butler(str(REPO_ROOT / "DATA"), collections="tutorial")
    DIGESTS.parent.mkdir(exist_ok=True)
    DIGESTS.write_text(json.dumps(_all_digests(butler), indent=1, sort_keys=True) + "\n")
    print(f"wrote {DIGESTS}")


if __name__ == "__main__":  # pragma: no cover
    _write_digests()
