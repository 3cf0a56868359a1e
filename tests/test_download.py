"""``python -m data_fetch download hsc-validation``: the Git LFS client, the verified cache, the ingest, lesson 8.

Everything runs against :class:`lfs_server.FakeLFSServer` on 127.0.0.1, serving small afw files written in the
layout of the real ones (this machine has no internet). The real server's behaviour is not tested here.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from conftest import REPO_ROOT
from lfs_server import FLUXMAG0, Behaviour, FakeLFSServer, make_calexp_header, make_fake_validation_files

import data_fetch.hsc_validation as hsc
from data_fetch import download, lfs, safety
from data_fetch.__main__ import main
from tutorial_lib import selection
from tutorial_lib.checks import real_data as checks_real

NOTEBOOK = REPO_ROOT / "notebooks" / "08_real_hsc_data.ipynb"


# ---------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """The fake files (bytes by oid) and the file table with their SHA-256 and sizes."""
    return make_fake_validation_files(tmp_path_factory.mktemp("fake-files"))


@pytest.fixture
def repo(simulated_repo, tmp_path) -> Path:
    """A private copy of the simulated repository (the shared DATA/ is never written)."""
    target = tmp_path / "DATA"
    shutil.copytree(simulated_repo, target)
    return target


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def _ingest(repo, server_url, cache, fake, **kwargs):
    messages = []
    kwargs.setdefault("retries", 1)
    summary = hsc.download_and_ingest(
        repo, lfs_url=server_url, cache=cache, files=fake.files, progress=False, log=messages.append, **kwargs
    )
    return summary, messages


def _collections(repo) -> set[str]:
    from lsst.daf.butler import Butler

    return {info.name for info in Butler(str(repo)).collections.query_info("*")}


def _skymaps(repo) -> set[str]:
    from lsst.daf.butler import Butler

    return {record.name for record in Butler(str(repo)).registry.queryDimensionRecords("skymap")}


def _cache_files(cache: Path) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()) if cache.exists() else []


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/lsst-dm/legacy-validation_data_hsc"


def _file(fake, key):
    return next(f for f in fake.files if f.key == key)


# ---------------------------------------------------------------------------------------------------------
# The pointer table
# ---------------------------------------------------------------------------------------------------------
def test_the_pointer_table_holds_the_five_real_files():
    by_key = {f.key: f for f in hsc.FILES}
    assert set(by_key) == {"ref", "forced_src-r", "forced_src-i", "calexp-r", "calexp-i"}
    root = "DATA/rerun/20160805/deepCoadd-results"
    assert by_key["ref"].path == f"{root}/merged/0/10,7/ref-0-10,7.fits"
    assert by_key["forced_src-r"].path == f"{root}/HSC-R/0/10,7/forced_src-HSC-R-0-10,7.fits"
    assert by_key["calexp-i"].path == f"{root}/HSC-I/0/10,7/calexp-HSC-I-0-10,7.fits"
    # Sizes of the issue: 2.66 MB, 2.67 MB, 84.7 MB, about 178 MB; all whole FITS blocks.
    assert round(by_key["forced_src-r"].size / 1e6, 2) == 2.66
    assert round(by_key["forced_src-i"].size / 1e6, 2) == 2.67
    assert round(by_key["ref"].size / 1e6, 1) == 84.7
    assert all(177e6 < by_key[f"calexp-{b}"].size < 178e6 for b in "ri")
    for info in hsc.FILES:
        assert info.size % 2880 == 0
        pointer = info.remote().pointer  # valid oid and size
        text = f"version https://git-lfs.github.com/spec/v1\noid sha256:{pointer.oid}\nsize {pointer.size}\n"
        assert lfs.LFSPointer.parse(text) == pointer
    assert hsc.LFS_URL == "https://git-lfs.lsst.cloud/lsst-dm/legacy-validation_data_hsc"


@pytest.mark.parametrize(
    "text",
    [
        "oid sha256:" + "a" * 64 + "\nsize 3\n",
        "version https://git-lfs.github.com/spec/v1\noid md5:abc\nsize 3\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize many\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "A" * 64 + "\nsize 3\n",
    ],
)
def test_malformed_pointers_are_refused(text):
    with pytest.raises(ValueError):
        lfs.LFSPointer.parse(text)


def test_a_file_without_pointer_is_refused_before_any_download(repo, cache, fake):
    files = tuple(
        hsc.ValidationFile(f.kind, f.band, f.path, None, None) if f.key == "forced_src-i" else f for f in fake.files
    )
    with FakeLFSServer(fake.objects) as server:
        with pytest.raises(hsc.IngestError, match=r"no Git LFS pointer .*/forced_src-HSC-I-0-10,7.fits"):
            hsc.download_and_ingest(repo, lfs_url=server.url, cache=cache, files=files, progress=False)
        assert server.count() == 0
    assert _cache_files(cache) == []


# ---------------------------------------------------------------------------------------------------------
# Success
# ---------------------------------------------------------------------------------------------------------
def test_download_and_ingest(repo, cache, fake):
    with FakeLFSServer(fake.objects) as server:
        summary, messages = _ingest(repo, server.url, cache, fake)
        posts = [r for r in server.requests if r["method"] == "POST"]
        gets = [r for r in server.requests if r["method"] == "GET"]

    # The batch API, as git-lfs defines it: one request per object, by SHA-256 and size.
    assert len(posts) == 5
    for post in posts:
        assert post["accept"] == post["content_type"] == "application/vnd.git-lfs+json"
        body = json.loads(post["body"])
        assert body["operation"] == "download" and body["transfers"] == ["basic"]
        (obj,) = body["objects"]
        assert obj in [{"oid": f.oid, "size": f.size} for f in fake.files]
    # Catalogs whole; calexps by a ranged request for their headers only.
    calexp_oids = {_file(fake, f"calexp-{b}").oid for b in "ri"}
    assert all(g["range"] is None for g in gets if g["oid"] not in calexp_oids)
    assert all(g["range"] == "bytes=0-65535" for g in gets if g["oid"] in calexp_oids)
    assert summary.header_sources == {"r": "ranged request", "i": "ranged request"}
    assert any("Downloading ref-0-10,7.fits" in m for m in messages)

    # The repository: a new run and chain, a second sky map beside the simulated one, the simulation untouched.
    assert {"HSC/runs/simulated", "tutorial", "HSC/validation", "validation"} <= _collections(repo)
    assert _skymaps(repo) == {"discrete", "hsc_validation"}
    assert summary.patch == 15 * 7 + 10 and summary.skymap_report.num_patches == (15, 13)
    assert summary.skymap_report.max_offset_pixels < 0.01
    assert summary.zero_points["r"] == pytest.approx(27.0) and summary.zero_points["i"] == pytest.approx(27.0215, 1e-4)
    assert all(m.already_in_order and m.n_filled == 0 and m.n_dropped == 0 for m in summary.matches.values())

    from lsst.daf.butler import Butler

    butler = Butler(str(repo), collections="validation")
    data_id = summary.data_id
    ref = butler.get("deepCoadd_ref", data_id)
    forced_i = butler.get("deepCoadd_forced_src", data_id, band="i")
    assert len(ref) == len(fake.ref)
    np.testing.assert_array_equal(ref["id"], fake.ref["id"])
    # Old names modernized, values and units kept, the Gen2 name in the description.
    assert "base_PsfFlux_flux" not in forced_i.colnames
    np.testing.assert_allclose(forced_i["base_PsfFlux_instFlux"], fake.forced["i"]["base_PsfFlux_flux"])
    np.testing.assert_allclose(forced_i["base_PsfFlux_instFluxErr"], fake.forced["i"]["base_PsfFlux_fluxSigma"])
    assert str(forced_i["base_PsfFlux_instFlux"].unit) == "ct"
    assert "Gen2 name: base_PsfFlux_flux" in forced_i["base_PsfFlux_instFlux"].description
    # The forced table keeps its own ids and its objectId link; rows are in reference order.
    np.testing.assert_array_equal(forced_i["objectId"], ref["id"])
    np.testing.assert_array_equal(forced_i["id"], fake.forced["i"]["id"])
    assert "base_ClassificationExtendedness_value" not in forced_i.colnames
    # The calibration from FLUXMAG0, and the header.
    calib = butler.get("deepCoadd_calexp.photoCalib", data_id, band="i")
    assert calib.getInstFluxAtZeroMagnitude() == pytest.approx(FLUXMAG0["i"])
    metadata = butler.get("deepCoadd_calexp.metadata", data_id, band="r")
    assert metadata["FILTER"] == "HSC-R" and metadata["FLUXMAG0"] == pytest.approx(FLUXMAG0["r"])
    # The data ID also works with the Gen2 patch coordinates, as lesson 8 writes it.
    gen2_id = {"skymap": "hsc_validation", "tract": 0, "patch.cell_x": 10, "patch.cell_y": 7}
    assert len(butler.get("deepCoadd_ref", gen2_id)) == len(ref)
    skymap = butler.get("skyMap", skymap="hsc_validation")
    assert skymap[0].getPatchInfo("10,7").getSequentialIndex() == summary.patch
    # Simulated data still read as before.
    assert len(Butler(str(repo), collections="tutorial").get("deepCoadd_ref", skymap="discrete", tract=0, patch=4))

    # The cache: only complete, verified files (plus the headers read by range), no temporary files.
    names = _cache_files(cache)
    assert names == sorted(
        [
            "hsc-validation/forced_src-HSC-I-0-10,7.fits",
            "hsc-validation/forced_src-HSC-R-0-10,7.fits",
            "hsc-validation/ref-0-10,7.fits",
            "hsc-validation/headers/calexp-HSC-I-0-10,7.fits.header",
            "hsc-validation/headers/calexp-HSC-I-0-10,7.fits.header.json",
            "hsc-validation/headers/calexp-HSC-R-0-10,7.fits.header",
            "hsc-validation/headers/calexp-HSC-R-0-10,7.fits.header.json",
        ]
    )


def test_the_lesson_on_the_ingested_data(repo, cache, fake):
    """Lesson 8's steps, with the library calls the notebook makes, on the ingested fake data."""
    with FakeLFSServer(fake.objects) as server:
        _ingest(repo, server.url, cache, fake)
    from lsst.daf.butler import Butler

    data_id = {"skymap": "hsc_validation", "tract": 0, "patch.cell_x": 10, "patch.cell_y": 7}
    butler = Butler(str(repo), collections="validation")
    ref = butler.get("deepCoadd_ref", data_id)
    forced = {b: butler.get("deepCoadd_forced_src", data_id, band=b) for b in ("r", "i")}
    photo_calib = {b: butler.get("deepCoadd_calexp.photoCalib", data_id, band=b) for b in ("r", "i")}
    header = {b: butler.get("deepCoadd_calexp.metadata", data_id, band=b) for b in ("r", "i")}

    with pytest.raises(selection.RowMismatchError, match="match_column='objectId'"):
        selection.Selection(ref, forced, reference_band="i")
    sel = selection.Selection(ref, forced, reference_band="i", match_column="objectId", photo_calib=photo_calib)
    assert sel.check_primary().consistent
    with pytest.raises(selection.MissingColumnError, match="base_ClassificationExtendedness_value"):
        sel.mask(["point_source"])
    point_like = np.asarray(ref["base_ClassificationExtendedness_value"]) < 0.5
    keep = sel.mask(["primary", "good_psf_flux"], band="i") & point_like
    assert checks_real.check_real_selection(keep, ref, forced["i"])
    assert checks_real.check_zero_point(2.5 * np.log10(header["i"]["FLUXMAG0"]), header["i"]["FLUXMAG0"])
    mag = {b: sel.magnitude(b) for b in ("r", "i")}
    r_i = mag["r"] - mag["i"]
    assert np.count_nonzero(np.isfinite(r_i[keep])) > 20
    assert np.nanmin(mag["i"][keep]) > 15 and np.nanmax(mag["i"][keep]) < 30


def test_the_notebook_runs_on_ingested_data(repo, cache, fake, tmp_path):
    """Lesson 8 itself, executed top to bottom in a kernel, on a repository holding the (fake) real data."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    with FakeLFSServer(fake.objects) as server:
        _ingest(repo, server.url, cache, fake)
    folder = tmp_path / "notebooks"  # beside the repository copy, so REPO = "../DATA" finds it
    folder.mkdir()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    resources = {"metadata": {"path": folder}}
    client = nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3", resources=resources)
    client.execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            assert output.get("name") != "stderr", output  # no warnings
            texts.append(output.get("text", "") + output.get("data", {}).get("text/plain", ""))
    text = "\n".join(texts)
    assert "Real HSC data found in ../DATA, collection 'validation'." in text
    assert "Gen2 patch '10,7' is Gen3 patch 115" in text
    assert text.count("Correct:") == 2
    assert "RowMismatchError" in text and "MissingColumnError" in text
    assert text.count("<Figure size") == 2  # two inline figures


def test_the_stored_notebook_is_the_offline_run():
    """Stored outputs come from a run without the real data, so nbval passes on a machine that never downloaded."""
    notebook = json.loads(NOTEBOOK.read_text())
    text = json.dumps([cell.get("outputs", []) for cell in notebook["cells"]])
    assert "The real HSC data are not in ../DATA" in text
    assert "python -m data_fetch download hsc-validation" in text


# ---------------------------------------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------------------------------------
def test_a_second_run_is_served_from_the_cache(repo, cache, fake, tmp_path, simulated_repo):
    with FakeLFSServer(fake.objects) as server:
        _ingest(repo, server.url, cache, fake)
    before = _cache_files(cache)
    # Into a fresh repository, with no server at all: everything comes from the cache.
    other = tmp_path / "OTHER"
    shutil.copytree(simulated_repo, other)
    with FakeLFSServer(fake.objects) as server:
        summary, messages = _ingest(other, server.url, cache, fake)
        assert server.count() == 0
    summary_offline, _ = _ingest(tmp_path / "NEW", _closed_port_url(), cache, fake)
    assert summary.header_sources == {"r": "cached header", "i": "cached header"}
    assert not any("Downloading" in m for m in messages)
    assert summary_offline.created_repository and _skymaps(tmp_path / "NEW") == {"hsc_validation"}
    assert _cache_files(cache) == before
    # Into the same repository again: already there, nothing asked.
    with FakeLFSServer(fake.objects) as server:
        again, _ = _ingest(repo, server.url, cache, fake)
        assert server.count() == 0
    assert again.already_present and again.patch == 115 and again.n_ref == len(fake.ref)


def test_a_damaged_cached_file_is_downloaded_again(repo, cache, fake):
    with FakeLFSServer(fake.objects) as server:
        _ingest(repo, server.url, cache, fake)
    cached = cache / "hsc-validation" / "ref-0-10,7.fits"
    cached.write_bytes(b"\0" * cached.stat().st_size)
    header = cache / "hsc-validation" / "headers" / "calexp-HSC-I-0-10,7.fits.header"
    header.write_bytes(header.read_bytes().replace(b"HSC-I", b"HSC-X"))
    with FakeLFSServer(fake.objects) as server:  # into a new repository: only the damaged entries are fetched
        hsc.download_and_ingest(
            repo.parent / "NEW", lfs_url=server.url, cache=cache, files=fake.files, progress=False, log=lambda m: None
        )
        fetched = {r["oid"] for r in server.requests if r["method"] == "GET"}
    assert fetched == {_file(fake, "ref").oid, _file(fake, "calexp-i").oid}
    with FakeLFSServer(fake.objects) as server:  # --force drops every cached ranged header: both are read again
        hsc.download_and_ingest(
            repo, lfs_url=server.url, cache=cache, files=fake.files, progress=False, force=True, log=lambda m: None
        )
        fetched = {r["oid"] for r in server.requests if r["method"] == "GET"}
    assert fetched == {_file(fake, "calexp-r").oid, _file(fake, "calexp-i").oid}
    assert download.verified_path(cache / "hsc-validation", _file(fake, "ref").remote()) is not None


def test_the_cache_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "env-cache"))
    assert download.cache_dir(subfolder="x") == tmp_path / "env-cache" / "x"
    assert download.cache_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv(download.CACHE_ENV)
    assert "multiband-tutorial" in str(download.cache_dir())


# ---------------------------------------------------------------------------------------------------------
# Temporary files: only data_fetch's own are ever removed from the cache
# ---------------------------------------------------------------------------------------------------------
#: A user's files in the cache folder, of names a looser pattern (``tmp*.part``, ``*.part``) would match.
USER_FILES = {"tmp_notes.part": "my notes", "notes.part": "draft", ".part": "x"}
#: Files that look like data_fetch's temporary files but are not of their exact shape.
NEAR_MISSES = (
    f"{download.TEMPORARY_PREFIX}{download.TEMPORARY_SUFFIX}",
    f"{download.TEMPORARY_PREFIX}notes{download.TEMPORARY_SUFFIX}",
    f"{download.TEMPORARY_PREFIX}k3j_x9q2{download.TEMPORARY_SUFFIX}.bak",
    f"{download.TEMPORARY_PREFIX}K3J_X9Q2{download.TEMPORARY_SUFFIX}",
)
#: Downloads one object into a cache folder, as data_fetch does (argv: LFS URL, folder, oid, size), to be killed.
_FETCH_SCRIPT = """
import sys
from pathlib import Path
from data_fetch import download, lfs
url, folder, oid, size = sys.argv[1:]
obj = download.RemoteObject("ref-0-10,7.fits", lfs.LFSPointer(oid, int(size)))
download.fetch(obj, download.DownloadOptions(url, Path(folder), retries=0, progress=False, timeout=60.0))
"""


def _with_user_files(cache: Path, names=()) -> Path:
    """The data set's cache folder, holding :data:`USER_FILES` and empty files ``names``."""
    folder = cache / hsc.CACHE_SUBFOLDER
    folder.mkdir(parents=True)
    for name, text in USER_FILES.items():
        (folder / name).write_text(text)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


def _user_files(folder: Path) -> dict:
    return {name: (folder / name).read_text() for name in USER_FILES if (folder / name).is_file()}


def _temporary_files(folder: Path) -> list[Path]:
    return [p for p in folder.glob(download.TEMPORARY_FILES) if p.name not in USER_FILES]


def test_a_download_keeps_the_users_part_files_in_the_cache(tmp_path, cache, fake, monkeypatch):
    folder = _with_user_files(cache)
    made = []
    real_mkstemp = download.tempfile.mkstemp

    def recording_mkstemp(*args, **kwargs):  # (the one tempfile module: atomic_write's files are seen too)
        fd, name = real_mkstemp(*args, **kwargs)
        if Path(name).parent == folder:
            made.append(Path(name).name)
        return fd, name

    monkeypatch.setattr(download.tempfile, "mkstemp", recording_mkstemp)
    with FakeLFSServer(fake.objects) as server:
        summary, messages = _ingest(tmp_path / "NEW", server.url, cache, fake)
    assert summary.created_repository and summary.n_ref == len(fake.ref)
    assert _user_files(folder) == USER_FILES
    assert not any("Removed" in m for m in messages)
    # Every temporary file the download made is of the exact shape the clean-up removes; no user name is.
    assert len(made) == 3 and all(fnmatch.fnmatchcase(name, download.TEMPORARY_FILES) for name in made)
    assert not any(fnmatch.fnmatchcase(name, download.TEMPORARY_FILES) for name in USER_FILES)
    assert _temporary_files(folder) == []


def test_a_killed_download_leaves_a_temporary_file_that_the_next_run_removes_and_nothing_else(tmp_path, cache, fake):
    folder = _with_user_files(cache)
    ref = _file(fake, "ref")
    script = [sys.executable, "-c", _FETCH_SCRIPT]
    with FakeLFSServer(fake.objects, Behaviour(stall={ref.oid})) as server:  # 100 bytes, then nothing
        child = subprocess.Popen([*script, server.url, str(folder), ref.oid, str(ref.size)], cwd=tmp_path)
        try:
            deadline = time.monotonic() + 30
            while not _temporary_files(folder) and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            child.kill()  # SIGKILL: no clean-up runs, as when the machine or the terminal goes away
            child.wait()
    (orphan,) = _temporary_files(folder)
    assert child.returncode == -signal.SIGKILL and _user_files(folder) == USER_FILES
    with FakeLFSServer(fake.objects) as server:
        summary, messages = _ingest(tmp_path / "NEW", server.url, cache, fake)
    assert not orphan.exists() and _temporary_files(folder) == []
    assert any(f"Removed 1 temporary file(s) in {folder}" in m for m in messages)
    assert _user_files(folder) == USER_FILES
    assert summary.created_repository and summary.n_ref == len(fake.ref)


def test_only_temporary_files_of_the_exact_shape_are_removed(cache):
    orphans = [f"{download.TEMPORARY_PREFIX}{random}{download.TEMPORARY_SUFFIX}" for random in ("k3j_x9q2", "a1b2c3d4")]
    folder = _with_user_files(cache, (*orphans, *NEAR_MISSES))
    messages = []
    with pytest.raises(download.DownloadError, match="are you offline"):  # the clean-up comes first
        hsc.download_and_ingest(
            cache.parent / "NEW",
            lfs_url=_closed_port_url(),
            cache=cache,
            progress=False,
            log=messages.append,
            retries=0,
        )
    assert not any((folder / name).exists() for name in orphans)
    assert any(f"Removed 2 temporary file(s) in {folder}" in m for m in messages)
    assert all((folder / name).is_file() for name in NEAR_MISSES) and _user_files(folder) == USER_FILES


# ---------------------------------------------------------------------------------------------------------
# Failures: nothing half-written anywhere
# ---------------------------------------------------------------------------------------------------------
def _assert_untouched(repo, cache, allowed=()):
    assert "validation" not in _collections(repo) and "HSC/validation" not in _collections(repo)
    assert _skymaps(repo) == {"discrete"}
    assert not (repo / "HSC" / "validation").exists()
    assert [n for n in _cache_files(cache) if n not in allowed] == []


def test_a_checksum_mismatch_discards_the_file(repo, cache, fake):
    ref_oid = _file(fake, "ref").oid
    with FakeLFSServer(fake.objects, Behaviour(corrupt={ref_oid})) as server:
        with pytest.raises(download.ChecksumError) as error:
            _ingest(repo, server.url, cache, fake, retries=1)
        assert sum(1 for r in server.requests if r.get("oid") == ref_oid and r["method"] == "GET") == 2
    message = str(error.value)
    assert "ref-0-10,7.fits" in message and "SHA-256" in message and "discarded" in message
    _assert_untouched(repo, cache)


def test_a_dropped_connection_is_retried(repo, cache, fake):
    ref_oid = _file(fake, "ref").oid
    with FakeLFSServer(fake.objects, Behaviour(drop={ref_oid: 1})) as server:
        summary, _ = _ingest(repo, server.url, cache, fake, retries=2)
        assert sum(1 for r in server.requests if r.get("oid") == ref_oid) == 2
    assert summary.n_ref == len(fake.ref)
    assert "validation" in _collections(repo)


def test_a_connection_that_keeps_dropping_fails_clearly(repo, cache, fake):
    forced_oid = _file(fake, "forced_src-r").oid
    with FakeLFSServer(fake.objects, Behaviour(drop={forced_oid: 10})) as server:
        with pytest.raises(download.DownloadError, match="connection was lost") as error:
            _ingest(repo, server.url, cache, fake, retries=1)
        assert server.count("GET") >= 2
    assert hsc.OFFLINE_HINT in str(error.value)
    # The reference table, complete and verified before the failure, stays in the cache; nothing else.
    _assert_untouched(repo, cache, allowed={"hsc-validation/ref-0-10,7.fits"})


def test_a_dropped_header_read_is_retried(repo, cache, fake):
    calexp_oid = _file(fake, "calexp-r").oid
    with FakeLFSServer(fake.objects, Behaviour(drop={calexp_oid: 1})) as server:
        summary, _ = _ingest(repo, server.url, cache, fake, retries=1)
        assert sum(1 for r in server.requests if r.get("oid") == calexp_oid) == 2
    assert summary.header_sources["r"] == "ranged request"


@pytest.mark.parametrize("status, words", [(404, "HTTP 404"), (403, "HTTP 403"), (500, "HTTP 500")])
def test_the_batch_api_refusing_is_one_clear_message(repo, cache, fake, capsys, status, words):
    with FakeLFSServer(fake.objects, Behaviour(batch_status=status)) as server:
        code = main(
            [
                "download",
                "hsc-validation",
                "--repo",
                str(repo),
                "--lfs-url",
                server.url,
                "--cache",
                str(cache),
                "--retries",
                "0",
                "--quiet",
            ]
        )
    assert code == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    assert words in err[0] and "refused" in err[0]
    assert "simulated data need none: `make data`" in err[0]
    assert captured.out == ""
    _assert_untouched(repo, cache)


def test_an_object_the_server_cannot_serve(repo, cache, fake):
    oid = _file(fake, "forced_src-i").oid
    with (
        FakeLFSServer(fake.objects, Behaviour(object_errors={oid: (410, "Object removed")})) as server,
        pytest.raises(download.DownloadError, match="cannot serve object .*error 410: Object removed"),
    ):
        _ingest(repo, server.url, cache, fake)
    earlier = {"hsc-validation/ref-0-10,7.fits", "hsc-validation/forced_src-HSC-R-0-10,7.fits"}
    _assert_untouched(repo, cache, allowed=earlier)


def test_offline_is_one_clear_message(repo, cache, capsys):
    code = main(
        [
            "download",
            "hsc-validation",
            "--repo",
            str(repo),
            "--lfs-url",
            _closed_port_url(),
            "--cache",
            str(cache),
            "--retries",
            "0",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "cannot reach the Git LFS server" in err[0] and "are you offline?" in err[0]
    assert "the lessons' default, simulated data need none" in err[0]
    assert not cache.exists()
    _assert_untouched(repo, cache)


def test_a_failed_ingest_leaves_the_repository_as_it_was(repo, cache, fake, monkeypatch):
    real_put = hsc.put_deterministic
    calls = []

    def failing_put(butler, obj, dataset_type, run, **data_id):
        calls.append(dataset_type)
        if len(calls) == 4:
            raise OSError("disk full (simulated)")
        return real_put(butler, obj, dataset_type, run, **data_id)

    monkeypatch.setattr(hsc, "put_deterministic", failing_put)
    with FakeLFSServer(fake.objects) as server, pytest.raises(OSError, match="disk full"):
        _ingest(repo, server.url, cache, fake)
    assert len(calls) == 4
    _assert_untouched(repo, cache, allowed=set(_cache_files(cache)))
    monkeypatch.undo()
    summary, _ = _ingest(repo, _closed_port_url(), cache, fake)  # served from the cache
    assert summary.patch == 115 and "validation" in _collections(repo)


def test_a_failed_new_repository_leaves_nothing(tmp_path, cache, fake, monkeypatch):
    monkeypatch.setattr(hsc, "make_chain", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with FakeLFSServer(fake.objects) as server, pytest.raises(RuntimeError, match="boom"):
        _ingest(tmp_path / "NEW", server.url, cache, fake)
    assert not (tmp_path / "NEW").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".NEW")] == []


def test_force_replaces_the_run(repo, cache, fake):
    with FakeLFSServer(fake.objects) as server:
        _ingest(repo, server.url, cache, fake)
        again, _ = _ingest(repo, server.url, cache, fake, force=True)
    assert not again.already_present and again.patch == 115
    from lsst.daf.butler import Butler

    butler = Butler(str(repo))
    assert len(butler.query_datasets("deepCoadd_forced_src", collections="HSC/validation")) == 2
    assert list(butler.collections.get_info("validation").children) == ["HSC/validation"]


def test_the_ingest_refuses_a_repository_holding_files_data_fetch_did_not_make(repo, cache, fake):
    """The ingest copies the repository and records every file in its new manifest, so a learner's file would
    become data_fetch's (and a later --force would delete it); it is refused, named, and left in place."""
    (repo / "my_notes.txt").write_text("mine")
    with FakeLFSServer(fake.objects) as server, pytest.raises(safety.SafetyError, match=r"did not make \(my_notes"):
        _ingest(repo, server.url, cache, fake)
    assert (repo / "my_notes.txt").read_text() == "mine" and "validation" not in _collections(repo)


def test_a_server_without_ranges_downloads_the_whole_calexp(repo, cache, fake):
    with FakeLFSServer(fake.objects, Behaviour(ranges=False)) as server:
        summary, messages = _ingest(repo, server.url, cache, fake)
    size = download.format_size(_file(fake, "calexp-i").size)
    assert any("does not allow partial downloads" in m and size in m for m in messages)
    assert summary.header_sources == {"r": "whole file", "i": "whole file"}
    assert "hsc-validation/calexp-HSC-I-0-10,7.fits" in _cache_files(cache)


def test_a_header_longer_than_the_first_range_is_read_in_more_steps(repo, cache, fake, monkeypatch):
    monkeypatch.setattr(download, "FIRST_HEADER_BYTES", 2880)  # the primary header only
    calexp_oid = _file(fake, "calexp-i").oid
    with FakeLFSServer(fake.objects) as server:
        summary, _ = _ingest(repo, server.url, cache, fake)
        ranges = [r["range"] for r in server.requests if r.get("oid") == calexp_oid]
    assert ranges == ["bytes=0-2879", "bytes=0-11519"]
    assert summary.header_sources["i"] == "ranged request" and summary.patch == 115


def test_the_command_line_success(repo, cache, fake, capsys, monkeypatch):
    monkeypatch.setattr(hsc, "FILES", fake.files)
    with FakeLFSServer(fake.objects) as server:
        code = main(
            [
                "download",
                "hsc-validation",
                "--repo",
                str(repo),
                "--lfs-url",
                server.url,
                "--cache",
                str(cache),
                "--quiet",
            ]
        )
    assert code == 0
    out = capsys.readouterr().out
    assert "Gen2 patch 10,7 is Gen3 patch 115" in out
    assert "{'skymap': 'hsc_validation', 'tract': 0, 'patch': 115}" in out
    assert "zero point 27.0000" in out


# ---------------------------------------------------------------------------------------------------------
# The pieces
# ---------------------------------------------------------------------------------------------------------
def _tables(n=6):
    ref = Table(
        {
            "id": np.arange(10, 10 + n, dtype=np.int64),
            "parent": np.zeros(n, dtype=np.int64),
            "deblend_nChild": np.zeros(n, dtype=np.int32),
        }
    )
    forced = Table(
        {
            "id": np.arange(100, 100 + n, dtype=np.int64),
            "objectId": ref["id"].copy(),
            "parentObjectId": np.zeros(n, dtype=np.int64),
            "deblend_nChild": np.zeros(n, dtype=np.int32),
            "base_PsfFlux_instFlux": np.arange(n, dtype=float),
            "base_PsfFlux_flag": np.zeros(n, dtype=bool),
            "base_PsfFlux_flag_edge": np.zeros(n, dtype=bool),
        }
    )
    return ref, forced


def test_matching_reorders_fills_and_drops():
    ref, forced = _tables()
    shuffled = forced[[3, 0, 5, 1]]  # rows 2 and 4 missing, order changed
    extra = Table(shuffled[:1])
    extra["objectId"] = [999]  # not a reference object
    from astropy.table import vstack

    aligned, report = hsc.match_forced_to_ref(ref, vstack([shuffled, extra]), "i")
    assert (report.n_matched, report.n_filled, report.n_dropped, report.already_in_order) == (4, 2, 1, False)
    np.testing.assert_array_equal(aligned["objectId"], ref["id"])
    np.testing.assert_array_equal(aligned["id"], [100, 101, -1, 103, -1, 105])  # tutorial_lib.matching.fill_value
    assert np.isnan(aligned["base_PsfFlux_instFlux"][[2, 4]]).all()
    assert aligned["base_PsfFlux_flag"][[2, 4]].all() and not aligned["base_PsfFlux_flag_edge"][[2, 4]].any()
    assert "2 without a forced row" in str(report) and "1 forced rows not in the reference table" in str(report)


def test_matching_refuses_what_cannot_be_matched():
    ref, forced = _tables()
    forced["objectId"][1] = forced["objectId"][0]
    with pytest.raises(hsc.IngestError, match="several rows with objectId 10"):
        hsc.match_forced_to_ref(ref, forced, "r")
    forced.remove_column("objectId")
    with pytest.raises(hsc.IngestError, match="no 'objectId' column"):
        hsc.match_forced_to_ref(ref, forced, "r")


def _headers(data: bytes):
    parsed, end = download.parse_fits_headers(data, len(data))
    return download.FitsHeaders(parsed[0], parsed[1] if len(parsed) > 1 else None, end, "test")


def test_the_sky_map_comes_from_the_calexp_header():
    skymap, report = hsc.skymap_from_calexp_header(_headers(make_calexp_header("i")))
    tract = skymap[0]
    assert skymap.name == "hsc_validation" and tract.getNumPatches() == (15, 13)
    assert report.tangent_pixel == (29999.0, 25999.0) and report.patch_id == 115
    assert report.pixel_scale_arcsec == pytest.approx(0.168)
    outer = tract.getPatchInfo((10, 7)).getOuterBBox()
    assert (outer.x_min, outer.y_min, outer.x_max, outer.y_max) == (39900, 27900, 44099, 32099)


def test_a_header_that_is_not_patch_10_7_is_refused():
    data = make_calexp_header("i").replace(b"LTV1    =             -39900.0", b"LTV1    =             -39000.0")
    with pytest.raises(hsc.IngestError, match="this is not the sky map assumed here"):
        hsc.skymap_from_calexp_header(_headers(data))
    primary_only = make_calexp_header("i")[:2880]
    with pytest.raises(hsc.IngestError, match="no image WCS"):
        hsc.skymap_from_calexp_header(_headers(primary_only))
    with pytest.raises(hsc.IngestError, match="no FLUXMAG0"):
        hsc.photo_calib_from_header(_headers(primary_only.replace(b"FLUXMAG0=", b"FLUXMAGX=")), "calexp")


def test_fits_header_parsing():
    data = make_calexp_header("r")
    assert download.parse_fits_headers(data[:2880], None) is None  # the extension's header is still to come
    headers, end = download.parse_fits_headers(data, len(data))
    assert end == len(data) and headers[0]["FILTER"] == "HSC-R" and headers[1]["NAXIS1"] == 4200
    with pytest.raises(download.DownloadError, match="FITS"):
        download.parse_fits_headers(b"<html>not found</html>" + b" " * 3000, None)
    false = b"SIMPLE  = " + b"F".rjust(20) + data[30:]  # SIMPLE = F: not a standard FITS file
    assert false[:30] == b"SIMPLE  =                    F"
    with pytest.raises(download.DownloadError, match="does not start with a FITS header"):
        download.parse_fits_headers(false, len(false))


# ---------------------------------------------------------------------------------------------------------
# Lesson 8's self-checks
# ---------------------------------------------------------------------------------------------------------
def test_check_zero_point():
    f0 = 10**10.8
    assert checks_real.check_zero_point(27.0, f0)
    assert "Correct" in repr(checks_real.check_zero_point(27.0004, f0))
    assert checks_real.check_zero_point(u.Magnitude(27.0, u.ABmag), f0)  # the AB magnitude of one count
    assert "sign" in checks_real.check_zero_point(-27.0 * u.ABmag, f0).message
    for answer, words in [
        (-27.0, "sign"),
        (2.5 * np.log(f0), "natural logarithm"),
        (f0, "FLUXMAG0 itself"),
        (10 ** (0.4 * 31.4) / f0, "calibrationMean"),
        (4.4, "31.4 minus"),
        (25.0, "not the magnitude of one count"),
        (..., "replace the ..."),
        ("27", "one number"),
    ]:
        result = checks_real.check_zero_point(answer, f0)
        assert not result and words in result.message, (answer, result.message)


def test_check_real_selection(fake):
    ref = fake.ref.copy()
    forced = fake.forced["i"]
    primary = np.asarray(ref["detect_isPrimary"])
    ref["base_ClassificationExtendedness_value"][np.flatnonzero(primary)[0]] = np.nan  # a primary row, unmeasured
    ext = np.asarray(ref["base_ClassificationExtendedness_value"])
    with np.errstate(invalid="ignore"):
        point = ext < 0.5
    flag = np.asarray(forced["base_PsfFlux_flag"])
    right = primary & point & ~flag
    assert checks_real.check_real_selection(right, ref, forced)
    assert checks_real.check_real_selection(right.astype(int), ref, forced)
    for answer, words in [
        (point & ~flag, "detect_isPrimary is missing"),
        (primary & ~flag, "point-source cut is missing"),
        (primary & point, "good-PSF-flux cut is missing"),
        (primary & point & flag, "inverted"),
        (primary & ~(ext == 1) & ~flag, "NaN"),
        (right[:-1], "reference table has"),
        (None, "replace the ..."),
        (np.linspace(0, 1, len(ref)), "dtype"),
    ]:
        result = checks_real.check_real_selection(answer, ref, forced)
        assert not result and words in result.message, (words, result.message)
    # The forced table in another order (matched through objectId) gives the same answer.
    shuffled = forced[np.random.default_rng(1).permutation(len(forced))]
    assert checks_real.check_real_selection(right, ref, shuffled)


def test_a_batch_answer_dripped_a_byte_at_a_time_ends_at_the_timeout(fake):
    oid, data = next(iter(fake.objects.items()))
    pointer = lfs.LFSPointer(oid, len(data))
    # The answer (some 300 bytes, a byte every 0.2 s) would take a minute; no single read waits 1 s.
    expected = r"did not finish its answer within 1 s \(--timeout\)"
    with (
        FakeLFSServer(fake.objects, Behaviour(batch_drip=0.2)) as server,
        pytest.raises(lfs.LFSUnavailableError, match=expected),
    ):
        lfs.request_download(server.url, [pointer], timeout=1.0, retries=0)
