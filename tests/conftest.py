"""Shared fixtures: where the real LSST-written test files are, and the simulated Butler repository."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Environment variable naming the folder that holds ``realdata/`` and ``reference/``; ``.ci/run`` sets it.
SHARED_ENV = "MULTIBAND_TUTORIAL_SHARED"


def shared_dir() -> Path:
    """The shared folder: ``$MULTIBAND_TUTORIAL_SHARED``, else ``../shared`` beside the repository."""
    return Path(os.environ.get(SHARED_ENV, REPO_ROOT.parent / "shared"))


def _missing(what: str, path: Path):
    reason = (
        f"{what} not found at {path}; set {SHARED_ENV} to the folder holding realdata/ "
        "(in CI it is ../shared beside the clone)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def realdata_dir() -> Path:
    """Folder of real LSST-written files (``../shared/realdata``): skip without it, fail under CI=true."""
    path = shared_dir() / "realdata"
    if not path.is_dir():
        _missing("real LSST test data", path)
    return path


@pytest.fixture(scope="session")
def simulated_repo(tmp_path_factory) -> Path:
    """The default simulated repository: ``DATA/`` when it is current (``make`` builds it), else a fresh build."""
    from data_fetch import SIMULATOR_VERSION
    from data_fetch.simulate import build, read_stamp

    data = REPO_ROOT / "DATA"
    if read_stamp(data) == SIMULATOR_VERSION and "seed 20160805" in (data / "SIMULATOR_VERSION").read_text():
        from tutorial_lib.repository import check_repository

        if not check_repository(data):  # made by this data_fetch (manifest) and undamaged
            return data
    return build(tmp_path_factory.mktemp("sim") / "DATA", progress=False).path


@pytest.fixture(scope="session")
def lesson_survey(tmp_path_factory) -> Path:
    """Lesson 10's survey catalog: ``SURVEY/`` when it is current (``make survey`` builds it), else a fresh build."""
    from data_fetch import survey

    options = {
        "area_deg2": survey.LESSON_AREA_DEG2,
        "seed": survey.DEFAULT_SEED,
        "margin_arcsec": survey.MARGIN_ARCSEC,
        "partition_rows": survey.LESSON_PARTITION_ROWS,
    }
    if survey.staleness(REPO_ROOT / "SURVEY", **options) is None:
        return REPO_ROOT / "SURVEY"
    return survey.build_survey(tmp_path_factory.mktemp("survey") / "SURVEY", progress=False, **options).path


#: Area of the small test survey, deg^2: four tracts of 0.01 deg^2, 5,326 rows.
SMALL_SURVEY_AREA = 0.04
#: Its partitions hold at most this many rows, so it has two (of order 6; its fullest order-6 pixel has 4,642).
SMALL_SURVEY_PARTITION_ROWS = 5_000


@pytest.fixture
def quiet_lsdb_warnings():
    """Silence the deprecation warnings that LSDB, hats and nested-pandas raise inside the survey tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*inplace keyword.*")
        yield


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory) -> Path:
    """A small survey spooled in many chunks (2,500 rows each), with a 5 arcsec margin; built once per session."""
    import warnings

    from data_fetch import survey

    path = tmp_path_factory.mktemp("survey") / "SURVEY"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        survey.build_survey(
            path,
            area_deg2=SMALL_SURVEY_AREA,
            seed=7,
            progress=False,
            chunk_rows=2500,
            margin_arcsec=5.0,
            partition_rows=SMALL_SURVEY_PARTITION_ROWS,
        )
    return path


@pytest.fixture(scope="session")
def butler(simulated_repo):
    from lsst.daf.butler import Butler

    return Butler(str(simulated_repo), collections="tutorial")


def run_cli(capsys, *args: str) -> tuple[int, str, list[str]]:
    """Run ``python -m data_fetch`` in-process: (exit status, stdout, the non-blank stderr lines)."""
    from data_fetch.__main__ import main

    try:
        code = main(list(args))
    except SystemExit as done:  # argparse
        code = done.code
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.strip()]
