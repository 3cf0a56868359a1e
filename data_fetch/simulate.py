"""Build the simulated HSC Butler repository that every lesson reads (``python -m data_fetch simulate``).

The build is deterministic for a given seed: all random numbers come from one ``numpy.random.SeedSequence``,
with a child stream per stage and per patch, so a patch's rows do not depend on the order of the build. It
is atomic: the repository is written in a temporary directory beside the target and renamed into place only
when complete, so an interrupted build leaves nothing at the target.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lsst.daf.butler import DatasetType
from tqdm.auto import tqdm

from tutorial_lib.exposure import CoaddExposure
from tutorial_lib.photocalib import PhotoCalib
from tutorial_lib.skymap import SkyMap, make_lesson_skymap

from . import SIMULATOR_VERSION
from .butler_repo import PHYSICAL_FILTERS, create_repository, make_chain, put_deterministic, register_skymap
from .measure import (
    BANDS,
    ZERO_POINT,
    TractSources,
    detect_and_deblend,
    dp1_object_rows,
    measure_patch,
    scarlet_era_patch,
)
from .population import make_true_sky
from .schema import (
    DP1_TRUTH_COLUMNS,
    FORCED_COLUMNS,
    REF_COLUMNS,
    SCARLET_REF_COLUMNS,
    TRUTH_COLUMNS,
    make_table,
)

__all__ = [
    "DEFAULT_SEED",
    "RUN",
    "CHAIN",
    "SCARLET_RUN",
    "SCARLET_CHAIN",
    "DP1_RUN",
    "DP1_CHAIN",
    "STAMP_FILE",
    "SimulationError",
    "build",
    "read_stamp",
]

DEFAULT_SEED = 20160805  # the rerun name of the lesson's original ci_hsc data
RUN = "HSC/runs/simulated"
CHAIN = "tutorial"
#: The same sky as the scarlet deblender of v22 to v29 (DP0.2, DP1) books it: ``deepCoadd_ref`` and
#: ``truth_match`` per patch (``data_fetch.measure.scarlet_era_patch``). A second RUN, so that the 2018 tables
#: of :data:`RUN`, which the lessons 1 to 8 read, stay as they are.
SCARLET_RUN = "HSC/runs/simulated_scarlet"
SCARLET_CHAIN = "tutorial_scarlet"
#: The same sky as a DP1-style ``object`` table per tract (only primary rows), with ``object_truth``.
DP1_RUN = "HSC/runs/simulated_dp1"
DP1_CHAIN = "tutorial_dp1"
#: Dataset types of the two extra RUNs that the lesson repository's base types do not have.
_EXTRA_DATASET_TYPES = {
    "object": (("skymap", "tract"), "ArrowAstropy"),
    "object_truth": (("skymap", "tract"), "ArrowAstropy"),
}
#: File in the repository root recording the simulator version and the options it was built with.
STAMP_FILE = "SIMULATOR_VERSION"


class SimulationError(RuntimeError):
    """A build that cannot proceed; the message names the problem and the fix."""


@dataclass
class BuildSummary:
    path: Path
    seed: int
    num_patches: tuple[int, int]
    n_true_objects: int
    n_ref_rows: int
    n_datasets: int


def _sky_box(skymap: SkyMap) -> tuple[tuple[float, float], tuple[float, float]]:
    """RA and Dec ranges (degrees) covering every tract."""
    corners = np.concatenate([tract.getVertexList() for tract in skymap])
    return (corners[:, 0].min(), corners[:, 0].max()), (corners[:, 1].min(), corners[:, 1].max())


def read_stamp(repo: Path) -> str | None:
    """The simulator version a repository was built with, or None if it has no stamp."""
    stamp = Path(repo) / STAMP_FILE
    if not stamp.is_file():
        return None
    return stamp.read_text().split()[0] if stamp.read_text().strip() else None


def _write_repository(path: Path, seed: int, num_patches: tuple[int, int], progress: bool) -> BuildSummary:
    skymap = make_lesson_skymap(num_patches)
    root = np.random.SeedSequence(seed)
    population_seed, detection_seed, patch_seed = root.spawn(3)
    ra_range, dec_range = _sky_box(skymap)
    sky = make_true_sky(np.random.default_rng(population_seed), ra_range, dec_range)
    sources = detect_and_deblend(np.random.default_rng(detection_seed), sky)

    butler = create_repository(path)
    register_skymap(butler, skymap)
    butler.registry.registerRun(RUN)
    butler.registry.registerRun(SCARLET_RUN)
    butler.registry.registerRun(DP1_RUN)
    for name, (dimensions, storage_class) in _EXTRA_DATASET_TYPES.items():
        butler.registry.registerDatasetType(DatasetType(name, dimensions, storage_class, universe=butler.dimensions))
    put_deterministic(butler, skymap, "skyMap", RUN, skymap=skymap.name)
    photo_calib = PhotoCalib.from_zero_point(ZERO_POINT)
    metadata_base = {"BUNIT": "count", "FLUXMAG0": round(photo_calib.getInstFluxAtZeroMagnitude(), 3)}

    patches = [(tract, patch.getSequentialIndex()) for tract in skymap for patch in tract]
    n_rows = 0
    n_datasets = 1
    by_tract = {}
    tract_tables: list = []

    def write_objects(tract_id):
        objects, object_truth = dp1_object_rows(tract_tables, tract_id, photo_calib)
        put_deterministic(butler, objects, "object", DP1_RUN, skymap=skymap.name, tract=tract_id)
        put_deterministic(
            butler,
            make_table(DP1_TRUTH_COLUMNS, object_truth),
            "object_truth",
            DP1_RUN,
            skymap=skymap.name,
            tract=tract_id,
        )
        tract_tables.clear()

    for tract, patch_id in tqdm(patches, desc="Simulating patches", unit="patch", disable=not progress):
        if tract.getId() not in by_tract:
            if by_tract:
                write_objects(next(iter(by_tract)))
                n_datasets += 2
            by_tract = {tract.getId(): TractSources(sources, tract)}  # one tract's buckets at a time
        rng = np.random.default_rng(np.random.SeedSequence(patch_seed.entropy, spawn_key=(tract.getId(), patch_id)))
        ref, forced, truth = measure_patch(rng, sources, skymap, tract, patch_id, by_tract[tract.getId()])
        data_id = {"skymap": skymap.name, "tract": tract.getId(), "patch": patch_id}
        put_deterministic(butler, make_table(REF_COLUMNS, ref), "deepCoadd_ref", RUN, **data_id)
        put_deterministic(butler, make_table(TRUTH_COLUMNS, truth), "truth_match", RUN, **data_id)
        scarlet_ref, scarlet_truth = scarlet_era_patch(ref, truth)
        put_deterministic(butler, make_table(SCARLET_REF_COLUMNS, scarlet_ref), "deepCoadd_ref", SCARLET_RUN, **data_id)
        put_deterministic(butler, make_table(TRUTH_COLUMNS, scarlet_truth), "truth_match", SCARLET_RUN, **data_id)
        tract_tables.append((patch_id, ref, forced, truth))
        for band in BANDS:
            filter_name = next(name for name, b in PHYSICAL_FILTERS.items() if b == band)
            table = make_table(FORCED_COLUMNS, forced[band])
            put_deterministic(butler, table, "deepCoadd_forced_src", RUN, band=band, **data_id)
            exposure = CoaddExposure(photo_calib, {**metadata_base, "FILTER": filter_name})
            put_deterministic(butler, exposure, "deepCoadd_calexp", RUN, band=band, **data_id)
        n_rows += len(ref["id"])
        n_datasets += 4 + 2 * len(BANDS)
    if by_tract:
        write_objects(next(iter(by_tract)))
        n_datasets += 2
    make_chain(butler, CHAIN, [RUN])
    make_chain(butler, SCARLET_CHAIN, [SCARLET_RUN])
    make_chain(butler, DP1_CHAIN, [DP1_RUN])
    (path / STAMP_FILE).write_text(f"{SIMULATOR_VERSION}\nseed {seed}\npatches {num_patches[0]}x{num_patches[1]}\n")
    return BuildSummary(path, seed, num_patches, len(sky), n_rows, n_datasets)


def build(
    repo: str | os.PathLike = "DATA",
    *,
    seed: int = DEFAULT_SEED,
    num_patches: tuple[int, int] = (3, 3),
    force: bool = False,
    progress: bool = True,
) -> BuildSummary:
    """Simulate the lesson's data and write a Butler repository at ``repo``, atomically.

    Parameters
    ----------
    repo : path-like
        Where the repository goes. It must not exist unless ``force`` is given.
    seed : int
        Random seed; the same seed gives the same repository, dataset UUIDs included.
    num_patches : tuple of int
        Patches per tract along x and y (3 x 3 is the lesson's tract).
    force : bool
        Replace an existing repository at ``repo``.
    progress : bool
        Show a progress bar.
    """
    target = Path(repo).absolute()
    if target.exists() and not force:
        raise SimulationError(
            f"{repo} already exists; it is left as it is. Use --force to replace it, or --repo to build elsewhere."
        )
    if target.exists() and not target.is_dir():
        raise SimulationError(f"{repo} exists and is not a directory; remove it or choose another --repo.")
    parent = target.parent
    if not parent.is_dir():
        raise SimulationError(f"the folder {parent} does not exist; create it first or choose another --repo.")
    if not os.access(parent, os.W_OK):
        raise SimulationError(f"cannot write in {parent}; choose a --repo in a folder you can write to.")
    if num_patches[0] < 1 or num_patches[1] < 1:
        raise SimulationError(f"--patches must be at least 1, got {num_patches[0]}x{num_patches[1]}")

    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=parent))
    try:
        summary = _write_repository(staging / "repo", seed, num_patches, progress)
        if target.exists():
            # Keep the old repository until the new one is in place, so a failure loses nothing.
            retired = staging / "previous"
            target.rename(retired)
        (staging / "repo").rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    summary.path = target
    return summary
