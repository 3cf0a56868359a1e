"""Build the simulated HSC Butler repository that every lesson reads (``python -m data_fetch simulate``).

The build is deterministic for a given seed: all random numbers come from one ``numpy.random.SeedSequence``,
with a child stream per stage and per patch, so a patch's rows do not depend on the order of the build. It
is atomic and never replaces what it did not make: the repository is written in a staging folder beside the
target, with data_fetch's marker and a manifest of every file, and swapped into place under a lock
(:mod:`data_fetch.safety`), so an interrupted build leaves nothing at the target and loses nothing.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from tutorial_lib.exposure import CoaddExposure
from tutorial_lib.photocalib import PhotoCalib
from tutorial_lib.repository import MARKER_NAME, check_repository, describe
from tutorial_lib.skymap import SkyMap, make_lesson_skymap

from . import SIMULATOR_VERSION, safety, workers
from .manifest import RepositoryError, foreign_files, verify, write_manifest
from .measure import (
    BANDS,
    ZERO_POINT,
    Sources,
    TractSources,
    detect_and_deblend,
    dp1_object_rows,
    measure_patch,
    scarlet_era_patch,
)
from .population import make_true_sky
from .schema import (
    DP1_OBJECT_COLUMNS,
    DP1_TRUTH_COLUMNS,
    FORCED_COLUMNS,
    REF_COLUMNS,
    SCARLET_REF_COLUMNS,
    TRUTH_COLUMNS,
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
    #: Datasets per type, for the manifest (empty when up to date).
    datasets: dict[str, int] = field(default_factory=dict)
    up_to_date: bool = False
    replaced: bool = False


def _sky_box(skymap: SkyMap) -> tuple[tuple[float, float], tuple[float, float]]:
    """RA and Dec ranges (degrees) covering every tract."""
    corners = np.concatenate([tract.getVertexList() for tract in skymap])
    return (corners[:, 0].min(), corners[:, 0].max()), (corners[:, 1].min(), corners[:, 1].max())


def read_stamp(repo: Path) -> str | None:
    """The simulator version a repository was built with, or None if it has no readable stamp."""
    stamp = Path(repo) / STAMP_FILE
    try:
        words = stamp.read_bytes().decode("ascii").split() if stamp.is_file() else []
    except (OSError, UnicodeDecodeError):
        return None
    return words[0] if words else None


#: Patches queued for the sky process to measure after the sky: it finishes the sky about a second before this
#: process has imported the Butler and created the registry, and measures and sends a patch in 20 to 140 ms.
EARLY_PATCHES = 48
#: When this process is ready, it waits for the sky process's patches if at most this many are unfinished and
#: there are no others; else it measures the unstarted ones itself. Taking over costs the transfer of the sky's
#: sources to this process (about 0.6 s), which waiting for a dozen patches does not.
MAX_PATCHES_TO_WAIT_FOR = 12


class _PatchMeasurer:
    """Measures the patches of one simulated sky: each patch's tables, the same in whichever process.

    A patch draws from its own ``SeedSequence(entropy, spawn_key=(tract, patch))``, so its tables do not depend
    on which process measures it or in what order.
    """

    def __init__(self, sources: Sources, skymap: SkyMap, patch_seed: np.random.SeedSequence) -> None:
        self.sources, self._skymap, self._entropy = sources, skymap, patch_seed.entropy
        self._tracts = {tract.getId(): tract for tract in skymap}
        self._buckets: dict[int, TractSources] = {}

    def __call__(self, tract_id: int, patch_id: int) -> tuple:
        """``(ref, forced, truth, scarlet_ref, scarlet_truth)`` of one patch."""
        tract = self._tracts[tract_id]
        if tract_id not in self._buckets:
            self._buckets = {tract_id: TractSources(self.sources, tract)}  # one tract's buckets at a time
        rng = np.random.default_rng(np.random.SeedSequence(self._entropy, spawn_key=(tract_id, patch_id)))
        ref, forced, truth = measure_patch(rng, self.sources, self._skymap, tract, patch_id, self._buckets[tract_id])
        return (ref, forced, truth, *scarlet_era_patch(ref, truth))


#: In the sky process: the measurer of the sky it simulated (:func:`_simulate_sky` sets it).
_sky_process_measurer: _PatchMeasurer | None = None


def _simulate_sky(population_seed, detection_seed, patch_seed, skymap: SkyMap) -> int:
    """Simulate the true sky and detect its sources; returns the number of true objects. The process keeps the
    detected sources (all that the build needs of the true sky) to measure patches
    (:func:`_measure_in_sky_process`) and sends them only if asked (:func:`_sources_in_sky_process`)."""
    global _sky_process_measurer
    ra_range, dec_range = _sky_box(skymap)
    sky = make_true_sky(np.random.default_rng(population_seed), ra_range, dec_range)
    sources = detect_and_deblend(np.random.default_rng(detection_seed), sky)
    _sky_process_measurer = _PatchMeasurer(sources, skymap, patch_seed)
    return len(sky)


def _sky_process_measurer_or_fail() -> _PatchMeasurer:
    if _sky_process_measurer is None:
        raise RuntimeError("_simulate_sky must run first, in the same process")
    return _sky_process_measurer


def _measure_in_sky_process(tract_id: int, patch_id: int) -> tuple:
    return _sky_process_measurer_or_fail()(tract_id, patch_id)


def _sources_in_sky_process() -> Sources:
    return _sky_process_measurer_or_fail().sources


def _forget_sky() -> None:
    """Drop the sky's sources kept for measuring: where the helper is a thread (``workers.FORK`` false), they are
    this process's, and would otherwise stay in memory after the build."""
    global _sky_process_measurer
    _sky_process_measurer = None


def _write_repository(path: Path, seed: int, num_patches: tuple[int, int], progress: bool) -> BuildSummary:
    skymap = make_lesson_skymap(num_patches)
    root = np.random.SeedSequence(seed)
    population_seed, detection_seed, patch_seed = root.spawn(3)
    patches = [(tract.getId(), patch.getSequentialIndex()) for tract in skymap for patch in tract]
    # The sky is simulated in a helper process, which then measures the first patches, while this one imports
    # the Butler (about 1 s, which is why this module imports it only here; tests/test_simulation.py checks) and
    # creates the registry.
    sky_process = workers.start(1, "SkySimulator")
    try:
        simulated = sky_process.submit(_simulate_sky, population_seed, detection_seed, patch_seed, skymap)
        early = {key: sky_process.submit(_measure_in_sky_process, *key) for key in patches[:EARLY_PATCHES]}
        from lsst.daf.butler import DatasetType

        from .butler_repo import PHYSICAL_FILTERS, BatchWriter, create_repository, make_chain, register_skymap

        butler = create_repository(path)
        register_skymap(butler, skymap)
        butler.registry.registerRun(RUN)
        butler.registry.registerRun(SCARLET_RUN)
        butler.registry.registerRun(DP1_RUN)
        for name, (dimensions, storage_class) in _EXTRA_DATASET_TYPES.items():
            butler.registry.registerDatasetType(
                DatasetType(name, dimensions, storage_class, universe=butler.dimensions)
            )
        n_true_objects = simulated.result()
        unfinished = [future for future in early.values() if not future.done()]
        if len(patches) > len(early) or len(unfinished) > MAX_PATCHES_TO_WAIT_FOR:
            for future in unfinished:
                future.cancel()  # only if not started
        measured = {key: future.result() for key, future in early.items() if not future.cancelled()}
        # The sources (tens of MB) cross to this process only if it has patches left to measure.
        sources = sky_process.submit(_sources_in_sky_process).result() if len(measured) < len(patches) else None
    finally:
        sky_process.shutdown(wait=True, cancel_futures=True)
        _forget_sky()
    measure_here = _PatchMeasurer(sources, skymap, patch_seed) if sources is not None else None
    # The writers are forked now that the sky process's thread in this one has ended: a fork copies only the
    # calling thread.
    with BatchWriter(butler, path) as writer:
        writer.put(skymap, "skyMap", RUN, skymap=skymap.name)
        photo_calib = PhotoCalib.from_zero_point(ZERO_POINT)
        metadata_base = {"BUNIT": "count", "FLUXMAG0": round(photo_calib.getInstFluxAtZeroMagnitude(), 3)}
        n_rows = 0
        tract_tables: list = []  # (patch, ref, forced, truth) of the patches of tract `tables_tract`
        tables_tract = None

        def write_objects(tract_id):
            objects, object_truth = dp1_object_rows(tract_tables, tract_id, photo_calib)
            writer.put_table(DP1_OBJECT_COLUMNS, objects, "object", DP1_RUN, skymap=skymap.name, tract=tract_id)
            writer.put_table(
                DP1_TRUTH_COLUMNS, object_truth, "object_truth", DP1_RUN, skymap=skymap.name, tract=tract_id
            )
            tract_tables.clear()

        for tract_id, patch_id in tqdm(patches, desc="Simulating patches", unit="patch", disable=not progress):
            if tract_tables and tables_tract != tract_id:
                write_objects(tables_tract)
            tables_tract = tract_id
            key = (tract_id, patch_id)
            if key in measured:
                tables = measured.pop(key)
            else:
                assert measure_here is not None  # the sources came because patches were left to measure
                tables = measure_here(*key)
            ref, forced, truth, scarlet_ref, scarlet_truth = tables
            data_id = {"skymap": skymap.name, "tract": tract_id, "patch": patch_id}
            writer.put_table(REF_COLUMNS, ref, "deepCoadd_ref", RUN, **data_id)
            writer.put_table(TRUTH_COLUMNS, truth, "truth_match", RUN, **data_id)
            writer.put_table(SCARLET_REF_COLUMNS, scarlet_ref, "deepCoadd_ref", SCARLET_RUN, **data_id)
            writer.put_table(TRUTH_COLUMNS, scarlet_truth, "truth_match", SCARLET_RUN, **data_id)
            tract_tables.append((patch_id, ref, forced, truth))
            for band in BANDS:
                filter_name = next(name for name, b in PHYSICAL_FILTERS.items() if b == band)
                writer.put_table(FORCED_COLUMNS, forced[band], "deepCoadd_forced_src", RUN, band=band, **data_id)
                exposure = CoaddExposure(photo_calib, {**metadata_base, "FILTER": filter_name})
                writer.put(exposure, "deepCoadd_calexp", RUN, band=band, **data_id)
            n_rows += len(ref["id"])
        if tract_tables:
            write_objects(tables_tract)
        ingested = writer.ingest(progress)
    make_chain(butler, CHAIN, [RUN])
    make_chain(butler, SCARLET_CHAIN, [SCARLET_RUN])
    make_chain(butler, DP1_CHAIN, [DP1_RUN])
    (path / STAMP_FILE).write_text(f"{SIMULATOR_VERSION}\nseed {seed}\npatches {num_patches[0]}x{num_patches[1]}\n")
    # Every dataset went through the writer, so its counts are the registry's (tests/test_simulation.py compares
    # them with tutorial_lib.repository.dataset_counts); the other registered types have none.
    datasets = {dataset_type.name: 0 for dataset_type in butler.registry.queryDatasetTypes()} | ingested
    return BuildSummary(
        path, seed, num_patches, n_true_objects, n_rows, sum(ingested.values()), dict(sorted(datasets.items()))
    )


#: Disk and memory a build needs, per patch of the 2 tracts, measured on the project's 2-core test machine with
#: ``/usr/bin/time -v`` since the scarlet and DP1 collections were added: 6 x 6 patches per tract (72) wrote 210 MB
#: with a peak of 661 MB; 2 x 2 (8) 25.4 MB, peak 232 MB; 1 x 1 (2) 7.1 MB, peak 185 MB. (Before those
#: collections, 1.8 MB per patch: the estimate let a build start on a disk that could not hold it.)
DISK_PER_PATCH = 3.0e6
MEMORY_BASE = 230e6
MEMORY_PER_PATCH = 6.0e6
#: Seconds per patch on that machine (11 s for 18 patches, 66 s for 72, with other jobs running).
SECONDS_PER_PATCH = 0.9
#: Largest --patches per side: 100 x 100 would already need 20,000 patches, 60 GB and 120 GB of memory.
MAX_PATCHES_PER_SIDE = 100
#: Safety margin on the estimates.
MARGIN = 1.5


def estimate(num_patches: tuple[int, int]) -> tuple[float, float, float]:
    """Disk bytes, peak memory bytes and seconds a build of ``num_patches`` per tract needs (2 tracts)."""
    n = 2 * num_patches[0] * num_patches[1]
    return DISK_PER_PATCH * n, MEMORY_BASE + MEMORY_PER_PATCH * n, SECONDS_PER_PATCH * n


def _check_options(seed: int, num_patches: tuple[int, int]) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise SimulationError(f"--seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    nx, ny = num_patches
    if not (1 <= nx <= MAX_PATCHES_PER_SIDE and 1 <= ny <= MAX_PATCHES_PER_SIDE):
        raise SimulationError(f"--patches must be 1 to {MAX_PATCHES_PER_SIDE} per side, got {nx}x{ny}")


def _check_resources(parent: Path, num_patches: tuple[int, int], replaced: Path | None) -> None:
    disk, memory, _ = estimate(num_patches)
    what = f"--patches {num_patches[0]}x{num_patches[1]}"
    safety.require_free_space(parent, int(disk * MARGIN), f"A build with {what}")
    available = safety.available_memory()
    if available is not None and memory * MARGIN > available:
        raise SimulationError(
            f"a build with {what} needs about {safety.format_bytes(memory)} of memory and "
            f"{safety.format_bytes(available)} is available; choose fewer --patches. Nothing was written."
        )


def _stamp_text(seed: int, num_patches: tuple[int, int]) -> str:
    return f"{SIMULATOR_VERSION}\nseed {seed}\npatches {num_patches[0]}x{num_patches[1]}\n"


def staleness(repo: Path, seed: int, num_patches: tuple[int, int]) -> str | None:
    """Why the data_fetch repository ``repo`` must be rebuilt (version, options or damage), or None if it is current."""
    stamp = repo / STAMP_FILE
    try:
        text = stamp.read_bytes().decode("ascii") if stamp.is_file() else None
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None:
        return f"its {STAMP_FILE} file is missing or unreadable"
    version = text.split()[0] if text.split() else "(none)"
    if version != SIMULATOR_VERSION:
        return f"it was made by simulator version {version[:20]}, this is version {SIMULATOR_VERSION}"
    if text != _stamp_text(seed, num_patches):
        return f"it was built with other options ({' '.join(text.split()[1:])[:60]})"
    if not (repo / MARKER_NAME).is_file():
        return "it was built by an older data_fetch, without a manifest to check it by"
    problems = check_repository(repo)  # files by size, and the registry's datasets
    if not problems:
        try:  # every byte, as `verify` reads it, so that --if-stale repairs what verify reports
            problems = verify(repo)
        except RepositoryError as error:
            problems = [str(error)]
    return f"it is damaged: {describe(problems)}" if problems else None


def build(
    repo: str | os.PathLike = "DATA",
    *,
    seed: int = DEFAULT_SEED,
    num_patches: tuple[int, int] = (3, 3),
    force: bool = False,
    if_stale: bool = False,
    rebuild: bool = True,
    progress: bool = True,
    log=print,
) -> BuildSummary:
    """Simulate the lesson's data and write a Butler repository at ``repo``, atomically.

    Parameters
    ----------
    repo : path-like
        Where the repository goes. It must not exist unless ``force`` or ``if_stale`` is given.
    seed : int
        Random seed; the same seed gives the same repository, dataset UUIDs included.
    num_patches : tuple of int
        Patches per tract along x and y (3 x 3 is the lesson's tract).
    force : bool
        Replace an existing repository at ``repo``, if data_fetch made it (it holds the marker).
    if_stale : bool
        Build only if ``repo`` is missing, was made by another simulator version or with other options, or is
        damaged (:func:`tutorial_lib.repository.check_repository`); else return a summary with ``up_to_date``.
    rebuild : bool
        With ``if_stale``: False refuses (SimulationError naming what is wrong) instead of rebuilding.
    progress : bool
        Show a progress bar.
    log : callable
        Where messages about recovered or refused folders go.

    Raises
    ------
    SimulationError
        Bad options, a folder that must not be replaced, not enough disk or memory.
    data_fetch.safety.SafetyError
        A path refused, a repository to replace that is read-only, another process building the same repository
        (without ``if_stale``, which waits for it and says so through ``log``),
        or a folder that appeared meanwhile.
    """
    _check_options(seed, num_patches)
    target = safety.check_target(os.fspath(repo), "--repo", log)
    parent = target.parent
    safety.require_parent_folder(target, "--repo")
    # An --if-stale check of a repository shared read-only only reads it (see safety.exclusive_lock); a build
    # needs to write its lock file and staging folder beside it.
    if not os.access(parent, os.W_OK) and not (if_stale and safety.is_data_fetch_repository(target)):
        raise SimulationError(f"cannot write in {parent}; choose a --repo in a folder you can write to.")
    with safety.exclusive_lock(target, "python -m data_fetch simulate", wait=log if if_stale else None):
        safety.recover(target, log)
        if os.path.lexists(target):
            if not target.is_dir():
                raise SimulationError(f"{repo} exists and is not a directory; remove it or choose another --repo.")
            if not safety.is_data_fetch_repository(target):
                fix = safety.empty_folder_fix(target, os.fspath(repo)) or "it is left as it is. Move it away"
                raise SimulationError(
                    f"{repo} already exists and was not made by data_fetch (no {MARKER_NAME} file; "
                    f"{safety.describe_folder(target)}); {fix}, or choose another --repo."
                )
            if if_stale:
                reason = staleness(target, seed, num_patches)
                if reason is None:
                    return BuildSummary(target, seed, num_patches, 0, 0, 0, up_to_date=True)
                if not rebuild:
                    raise SimulationError(f"{repo}: {reason}. It was left as it is (--no-rebuild); run `make data`.")
            elif not force:
                raise SimulationError(
                    f"{repo} already exists; it is left as it is. Use --force to replace it, or --repo to build "
                    "elsewhere."
                )
            safety.refuse_foreign(target, foreign_files(target), listed_by=f"python -m data_fetch verify --repo {repo}")
            safety.require_writable(target, os.fspath(repo), "--repo", reason if if_stale else None)
            if if_stale:
                log(f"{repo}: {reason}; rebuilding it.")
        elif if_stale and not rebuild:
            raise SimulationError(f"{repo} does not exist and --no-rebuild was given; run `make data`.")
        replacing = os.path.lexists(target)
        _check_resources(parent, num_patches, target if replacing else None)
        staging = safety.make_staging(target, "building")
        try:
            safety.fault_point("before-write")
            summary = _write_repository(staging / "repo", seed, num_patches, progress)
            safety.write_marker(staging / "repo", "simulated")
            write_manifest(staging / "repo", summary.datasets)
            safety.swap_into_place(staging / "repo", target, staging, replace=replacing, foreign=foreign_files)
            summary.replaced = replacing
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise SimulationError(
                    f"the disk holding {parent} is full ({error.strerror}); the partial build was removed and "
                    f"nothing was written. Free some space and run the command again."
                ) from None
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    summary.path = target
    return summary
