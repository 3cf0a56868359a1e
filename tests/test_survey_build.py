"""Building the simulated survey (data_fetch.survey): the HATS files, the margin, safety, and ensure_survey."""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import lsdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SMALL_SURVEY_AREA, SMALL_SURVEY_PARTITION_ROWS

from data_fetch import safety
from data_fetch import survey as builder
from data_fetch.__main__ import main as cli
from tutorial_lib.survey import keep_compiled_code

AREA = SMALL_SURVEY_AREA  # the small survey of conftest: four tracts of 0.01 deg^2


pytestmark = pytest.mark.usefixtures("quiet_lsdb_warnings")


@pytest.fixture(scope="module")
def small_catalog(small_survey):
    return lsdb.open_catalog(small_survey, columns="all")


def _sorted_rows(catalog) -> pd.DataFrame:
    return catalog.compute(progress_bar=False).sort_values("objectId").reset_index(drop=True)


def _partition_files(catalog_dir):
    return sorted(catalog_dir.glob("dataset/Norder=*/Dir=*/Npix=*.parquet"))


def test_lsdb_opens_every_row_once_with_its_margin(small_survey, small_catalog):
    record = builder.read_marker(small_survey)
    rows = _sorted_rows(small_catalog)
    assert record["n_rows"] == len(rows) > 3000
    assert record["seed"] == 7 and record["margin_arcsec"] == 5.0
    assert rows["objectId"].is_unique
    assert set(rows["tract"]) == {0, 1, 2, 3}
    assert small_catalog.hc_structure.catalog_info.total_rows == len(rows)
    assert small_catalog.npartitions == record["n_partitions"] >= 2
    assert small_catalog.margin is not None
    assert small_catalog.margin.hc_structure.catalog_info.total_rows == record["n_margin_rows"] > 0
    assert not any(p.name.startswith((".SURVEY.building", ".SURVEY.lock")) for p in small_survey.parent.iterdir())


def test_each_partition_holds_its_own_pixel_sorted_by_spatial_index(small_survey):
    for path in _partition_files(small_survey / builder.CATALOG_NAME):
        order, pixel = int(path.parts[-3].split("=")[1]), int(path.stem.split("=")[1])
        shift = 2 * (builder.SPATIAL_INDEX_ORDER - order)
        index = pq.read_table(path, columns=[builder.SPATIAL_INDEX_COLUMN])[0].to_numpy()
        assert (index >> shift == pixel).all(), path.name
        assert (np.diff(index) >= 0).all(), path.name


def test_margin_equals_the_margin_lsdb_itself_makes(small_survey, small_catalog):
    """LSDB's own margin generator, given our partitions and a 5 arcsec margin, makes the same margin, pixel by
    pixel and row by row."""
    from lsdb.loaders.dataframe.margin_catalog_generator import MarginCatalogGenerator

    keep_compiled_code()  # the functions hats compiles here are also lesson 10's, which then loads them
    without_margin = lsdb.open_catalog(small_survey, columns="all", margin_cache=None)
    reference = MarginCatalogGenerator(without_margin, margin_threshold=5.0).create_catalog()
    ours = small_catalog.margin
    assert sorted(ours.get_healpix_pixels()) == sorted(reference.get_healpix_pixels())
    for pixel in ours.get_healpix_pixels():
        mine = ours.get_partition(pixel.order, pixel.pixel).compute()
        theirs = reference.get_partition(pixel.order, pixel.pixel).compute()
        assert sorted(mine["objectId"]) == sorted(theirs["objectId"]), pixel
        # A margin holds rows of the neighbouring partitions only.
        own = small_catalog.get_partition(pixel.order, pixel.pixel).compute()
        assert not set(mine["objectId"]) & set(own["objectId"])


def test_partitions_merge_up_to_the_most_rows_as_hats_import_does():
    """Four sibling pixels of order 6 (100 rows each) and two of the next order-5 pixel (600 and 1 rows): a
    partition is the coarsest pixel holding at most partition_rows."""
    counts = {0: 100, 1: 100, 2: 100, 3: 100, 4: 600, 5: 1}
    # 1,001 rows fit in one: up to order 4, whose parent's other three children are empty (see below)
    assert builder._partitions(counts, 1001) == {(4, 0): [0, 1, 2, 3, 4, 5]}
    assert builder._partitions(counts, 1000) == {(5, 0): [0, 1, 2, 3], (5, 1): [4, 5]}
    # hats-import's drop_empty_siblings: a pixel whose three siblings are empty is not merged into its parent
    assert builder._partitions({4: 600}, 10**6) == {(6, 4): [4]}
    assert builder._partitions({0: 100, 1: 100, 2: 100, 3: 100}, 10**6) == {(5, 0): [0, 1, 2, 3]}


def test_partitions_smaller_than_one_mapping_pixel_are_refused_before_writing(tmp_path, capsys):
    target = tmp_path / "S"
    args = ["survey", "--out", str(target), "--area", str(AREA), "--seed", "7", "--quiet", "--partition-rows", "4000"]
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert "smaller than the 4,642 rows of this survey's fullest pixel of order 6" in err and "at least 4,642" in err
    assert list(tmp_path.iterdir()) == []
    assert cli([*args[:-1], "0"]) == 2 and "--partition-rows must be a whole number" in capsys.readouterr().err


def test_rows_and_files_do_not_depend_on_the_chunk_size(tmp_path, small_survey, small_catalog):
    path = tmp_path / "one_chunk"
    builder.build_survey(path, area_deg2=AREA, seed=7, progress=False, partition_rows=SMALL_SURVEY_PARTITION_ROWS)
    pd.testing.assert_frame_equal(_sorted_rows(lsdb.open_catalog(path, columns="all")), _sorted_rows(small_catalog))
    mine = _partition_files(path / builder.CATALOG_NAME)
    theirs = _partition_files(small_survey / builder.CATALOG_NAME)
    assert [p.name for p in mine] == [p.name for p in theirs]
    for a, b in zip(mine, theirs, strict=True):
        assert pq.read_table(a).equals(pq.read_table(b)), a.name  # same rows in the same order


def test_refuses_to_overwrite_what_it_did_not_make(tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    for force in (False, True):
        with pytest.raises(builder.SurveyError, match="not made by"):
            builder.build_survey(target, area_deg2=AREA, force=force, progress=False)
    assert (target / "notes.txt").read_text() == "mine"
    assert cli(["survey", "--out", str(target), "--area", "0.04", "--force", "--quiet"]) == 2


def test_replaces_its_own_survey_only_with_force(tmp_path, capsys):
    target = tmp_path / "S"
    assert cli(["survey", "--out", str(target), "--area", "0.01", "--seed", "1", "--quiet"]) == 0
    assert "rows in 4 tracts" in capsys.readouterr().out
    with pytest.raises(builder.SurveyError, match="--force"):
        builder.build_survey(target, area_deg2=0.01, seed=2, progress=False)
    builder.build_survey(target, area_deg2=0.01, seed=2, force=True, progress=False)
    assert builder.read_marker(target)["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S"]  # no lock, staging or previous survey left


def test_a_failed_build_leaves_nothing(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(builder, "_write_hats", broken)
    with pytest.raises(OSError, match="disk full"):
        builder.build_survey(tmp_path / "S", area_deg2=0.01, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_second_build_of_the_same_target_is_refused_while_one_runs(tmp_path):
    target = tmp_path / "S"
    held = safety.exclusive_lock(target, "a test holding the lock")
    with held, pytest.raises(builder.SurveyError, match=r"in use by process \d+ \(a test holding the lock"):
        builder.build_survey(target, area_deg2=0.01, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_an_if_stale_build_waits_for_the_one_running(tmp_path, monkeypatch):
    """Lesson 10's data cell while `make survey` builds the same survey: it waits, then builds or finds it built."""
    target = tmp_path / "S"
    lines: list[str] = []
    monkeypatch.setattr(builder, "_log", lines.append)
    with ThreadPoolExecutor(1) as pool:
        with safety.exclusive_lock(target, "a test holding the lock"):
            waiting = pool.submit(builder.build_survey, target, area_deg2=0.01, if_stale=True, progress=False)
            deadline = time.monotonic() + 30
            while not lines and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(lines) == 1 and f"in use by process {os.getpid()} (a test holding the lock" in lines[0]
            assert lines[0].endswith("waiting for it to finish (Ctrl-C to stop waiting).")
            time.sleep(0.2)
            assert not waiting.done() and not target.exists()
        summary = waiting.result(timeout=120)
    assert not summary.up_to_date and summary.n_rows > 0 and builder.read_marker(target)["seed"] == summary.seed


def test_an_unsafe_out_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(builder.SurveyError, match="current folder"):
        builder.build_survey(".", area_deg2=0.01, progress=False)
    with pytest.raises(builder.SurveyError, match="contains"):
        builder.build_survey("S;rm", area_deg2=0.01, progress=False)


# --------------------------------------------------------------------------------------------------------
# ensure_survey: lesson 10's data cell
# --------------------------------------------------------------------------------------------------------
def test_ensure_survey_builds_once_silently_then_returns_at_once(tmp_path, capsys, monkeypatch):
    path = tmp_path / "SURVEY"
    assert builder.ensure_survey(path, area_deg2=0.01) == path
    printed = capsys.readouterr()
    assert printed.out == ""  # a notebook's stored output stays the same whether or not it built
    assert "Simulating tracts" in printed.err and "Writing HATS partitions" in printed.err
    record = builder.read_marker(path)
    assert (record["area_requested_deg2"], record["seed"], record["margin_arcsec"]) == (
        0.01,
        builder.DEFAULT_SEED,
        builder.MARGIN_ARCSEC,
    )

    def no_rebuild(*args, **kwargs):
        raise AssertionError("rebuilt a survey that was up to date")

    monkeypatch.setattr(builder, "_build_into", no_rebuild)
    assert builder.ensure_survey(path, area_deg2=0.01, progress=False) == path
    assert capsys.readouterr().out == ""


def test_ensure_survey_rebuilds_its_own_outdated_or_incomplete_survey(tmp_path, capsys):
    path = tmp_path / "SURVEY"
    builder.ensure_survey(path, area_deg2=0.01, seed=1, progress=False)
    builder.ensure_survey(path, area_deg2=0.01, seed=2, progress=False)  # other options: rebuilt
    assert builder.read_marker(path)["seed"] == 2
    _partition_files(path / builder.CATALOG_NAME)[0].unlink()  # damaged partitions: rebuilt
    builder.ensure_survey(path, area_deg2=0.01, seed=2, progress=False)
    assert len(_partition_files(path / builder.CATALOG_NAME)) == builder.read_marker(path)["n_partitions"]
    assert capsys.readouterr().out == ""


def test_ensure_survey_leaves_a_foreign_or_damaged_folder_with_a_clear_error(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    with pytest.raises(builder.SurveyError, match="not a survey made by .* left alone"):
        builder.ensure_survey(foreign, area_deg2=0.01, progress=False)
    assert [p.name for p in foreign.iterdir()] == ["thesis.tex"]
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / builder.MARKER_FILE).write_text("{not json")
    with pytest.raises(builder.SurveyError, match="damaged: its .* cannot be read.*Move the folder away"):
        builder.ensure_survey(damaged, area_deg2=0.01, progress=False)


def test_marker_records_what_the_build_made(small_survey):
    record = json.loads((small_survey / builder.MARKER_FILE).read_text())
    assert record["survey_version"] == builder.SURVEY_VERSION
    assert record["n_partitions"] == len(_partition_files(small_survey / builder.CATALOG_NAME))


@pytest.mark.parametrize("seed", [-1, 2**63, True, 1.5, "7"])
def test_a_bad_seed_is_refused_before_anything_is_written(tmp_path, seed):
    with pytest.raises(builder.SurveyError, match="--seed must be a whole number"):
        builder.build_survey(tmp_path / "S", area_deg2=AREA, seed=seed, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_the_cli_refuses_a_negative_seed(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(["survey", "--out", str(tmp_path / "S"), "--area", str(AREA), "--seed", "-3", "--quiet"])
    assert exit_info.value.code == 2
    assert "--seed: expected a whole number from 0 to 2**63 - 1, got -3" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_survey_the_disk_cannot_hold_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    needed = 1.5 * builder.BUILD_BYTES_PER_DEG2 * 100  # at least this: the area is rounded up to whole tracts
    monkeypatch.setattr(safety, "free_bytes", lambda folder: int(needed / 2))
    with pytest.raises(builder.SurveyError, match=r"--area 100 needs about .* free; free some space"):
        builder.build_survey(tmp_path / "S", area_deg2=100, progress=False)
    assert list(tmp_path.iterdir()) == []


def _build_cli(path, *extra):
    return cli(["survey", "--out", str(path), "--area", str(AREA), "--seed", "3", "--quiet", *extra])


@pytest.mark.parametrize("harm", ["flip a byte", "remove the catalog", "truncate a partition"])
def test_if_stale_rebuilds_a_damaged_survey_instead_of_calling_it_up_to_date(tmp_path, capsys, harm):
    path = tmp_path / "S"
    assert _build_cli(path) == 0
    assert _build_cli(path, "--if-stale") == 0
    assert "is up to date" in capsys.readouterr().out
    assert builder.damage(path) == []
    partition = _partition_files(path / builder.CATALOG_NAME)[0]
    if harm == "flip a byte":
        data = bytearray(partition.read_bytes())
        data[len(data) // 2] ^= 0xFF
        partition.write_bytes(bytes(data))
    elif harm == "remove the catalog":
        shutil.rmtree(path / builder.CATALOG_NAME)
    else:
        partition.write_bytes(partition.read_bytes()[:100])
    assert builder.damage(path)  # named, file by file
    assert _build_cli(path, "--if-stale") == 0
    assert "Wrote" in capsys.readouterr().out  # rebuilt, not "up to date"
    assert builder.damage(path) == []


def test_a_survey_whose_marker_is_unreadable_or_lists_no_files_is_not_replaced(tmp_path, capsys):
    """Its own files cannot be told from anyone else's, so nothing is deleted; the message says how to go on."""
    path = tmp_path / "S"
    assert _build_cli(path) == 0
    (path / "thesis.tex").write_text("mine")
    (path / builder.MARKER_FILE).write_text("{")
    with pytest.raises(builder.SurveyError, match="damaged: its .* cannot be read"):
        builder.read_marker(path)
    record_without_files = {"made_by": "python -m data_fetch survey", "seed": 3}
    for marker in ("{", json.dumps(record_without_files)):
        (path / builder.MARKER_FILE).write_text(marker)
        for options in (["--if-stale"], ["--force"]):
            assert _build_cli(path, *options) == 2
            err = capsys.readouterr().err
            assert "cannot tell its own files from yours" in err and f"mv {path} {path}.old" in err
    assert (path / "thesis.tex").read_text() == "mine"


def test_a_rebuild_never_deletes_files_the_survey_did_not_make(tmp_path, capsys):
    """Files a learner saved inside the survey keep it from being replaced (--force, or --if-stale on damage);
    an undamaged survey is still up to date with them."""
    path = tmp_path / "S"
    assert _build_cli(path) == 0
    (path / "my_plot.png").write_bytes(b"\x89PNG")
    assert builder.foreign_files(path) == ["my_plot.png"]
    assert _build_cli(path, "--if-stale") == 0 and "is up to date" in capsys.readouterr().out
    _partition_files(path / builder.CATALOG_NAME)[0].write_bytes(b"damaged")
    for options in (["--if-stale"], ["--force"]):
        assert _build_cli(path, *options) == 2
        err = capsys.readouterr().err
        assert "1 file(s) or folder(s) that data_fetch did not make (my_plot.png)" in err and "Move them out" in err
        assert (path / "my_plot.png").read_bytes() == b"\x89PNG" and builder.damage(path)
    (path / "my_plot.png").unlink()
    assert _build_cli(path, "--if-stale") == 0 and builder.damage(path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S"]


def test_a_partition_written_piece_by_piece_is_the_file_write_table_writes(tmp_path):
    """The builder writes a partition one mapping pixel at a time (memory holds one pixel, not the partition);
    the file has the bytes pq.write_table gives for all its rows at once, row groups of 100,000 rows included."""
    from hats.io.file_io.file_io import get_parquet_write_table_kwargs

    rng = np.random.default_rng(3)
    pieces = []
    for start in (0, 70_000, 190_000):  # three pixels, ranges of the index in ascending order
        n = int(rng.integers(60_000, 120_000))
        index = np.sort(rng.integers(start * 1000, (start + 70_000) * 1000, n))
        pieces.append(pa.table({"flux": rng.normal(size=n), builder.SPATIAL_INDEX_COLUMN: index}))
    with builder._PartitionWriter(tmp_path / "mine", (5, 12)) as writer:
        for piece in pieces:
            writer.add(piece)
    whole = pa.concat_tables(pieces).combine_chunks()
    reference = tmp_path / "reference.parquet"
    pq.write_table(
        whole, reference, **get_parquet_write_table_kwargs(whole.schema, write_table_kwargs=builder.PARQUET_COMPRESSION)
    )
    assert writer.n_rows == len(whole) > 200_000
    assert writer.path.read_bytes() == reference.read_bytes()
    assert pq.ParquetFile(writer.path).metadata.row_group(0).num_rows == 100_000


def test_tiny_surveys_and_margins_are_built_or_refused_in_one_line(tmp_path, capsys):
    """0.001 deg^2 has strips without a single object (an internal IndexError before); a margin under 0.1 arcsec
    is refused before anything is simulated (its rings of margin pixels grew to gigabytes)."""
    assert cli(["survey", "--out", str(tmp_path / "T"), "--area", "0.001", "--seed", "1", "--quiet"]) == 0
    assert "135 rows in 4 tracts" in capsys.readouterr().out
    assert cli(["survey", "--out", str(tmp_path / "M"), "--area", "0.01", "--margin", "0.05", "--quiet"]) == 2
    assert "--margin must be from 0.1 to 60 arcsec, got 0.05" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["T"]
