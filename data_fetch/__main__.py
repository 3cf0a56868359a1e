"""Command line: ``python -m data_fetch simulate [--repo DATA] [--seed N] [--patches N] [--force | --if-stale]``.

Also ``python -m data_fetch download hsc-validation [--repo DATA] [--lfs-url URL] [--cache DIR]``: the real HSC data,
and ``python -m data_fetch verify [--repo DATA]``: check every file of a repository against its manifest.

Every failure ends in one line on stderr and a non-zero exit (2: refused or failed, 1: verify found damage,
128 + N: stopped by signal N); nothing half-written is left (see :mod:`data_fetch.safety`).
"""

from __future__ import annotations

import sys

from . import safety

if __name__ == "__main__":  # before the imports below, which take seconds: a signal then ends in one line too
    safety.install_signal_handlers()

#: Our own packages: an ImportError naming one of them is a bug of the project, not a missing package.
_OWN_PACKAGES = ("data_fetch", "tutorial_lib")


def _third_party_module(error: ImportError) -> str | None:
    """The third-party module whose import failed, or None when ``error`` names one of our own modules (a bug).

    Parameters
    ----------
    error : ImportError
        The error an import raised; its ``name`` is the module that could not be imported.

    Returns
    -------
    str or None
        The module's name when the environment lacks it (or holds a broken copy); None otherwise.
    """
    name = error.name
    if not name or name.split(".")[0] in _OWN_PACKAGES:
        return None
    return name


def _report_incomplete_environment(error: ImportError, name: str) -> int:
    """Say on stderr, in one line, that the environment lacks module ``name`` and how to rebuild it; exit status 2."""
    problem = (
        "is missing" if isinstance(error, ModuleNotFoundError) else f"cannot be imported ({_one_line(error)[:200]})"
    )
    from pathlib import Path  # this may run before the module's imports

    venv = Path(__file__).resolve().parents[1] / ".venv"
    if Path(sys.prefix).resolve() != venv.resolve():  # another Python: the project's .venv may be fine
        print(
            f"data_fetch: error: the Python module '{name}' {problem} in {sys.executable}, which is not the "
            "project's: run `.venv/bin/python -m data_fetch ...` or the make target (`make data`).",
            file=sys.stderr,
        )
        return 2
    print(
        f"data_fetch: error: the project's environment is incomplete: the Python module '{name}' {problem}. "
        "Rebuild it with `rm -rf .venv && make venv` (or `make lab`).",
        file=sys.stderr,
    )
    return 2


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


try:
    safety.fault_point("imports")  # a test hook: DATA_FETCH_PAUSE=imports waits here
    import argparse
    import gc
    import os
    import time
    import traceback
    from pathlib import Path
    from typing import TYPE_CHECKING

    from tutorial_lib.repository import RepositoryError

    from . import SIMULATOR_VERSION
    from .simulate import DEFAULT_SEED, MAX_PATCHES_PER_SIDE, SimulationError, build
except KeyboardInterrupt as _interrupt:
    if __name__ != "__main__":
        raise
    sys.exit(safety.report_interrupted(getattr(_interrupt, "signum", 2)))
except ImportError as _error:  # a damaged environment: `simulate` and `verify` import pooch, numpy, ... here
    _missing = _third_party_module(_error)
    if __name__ != "__main__" or _missing is None:
        raise
    sys.exit(_report_incomplete_environment(_error, _missing))

if TYPE_CHECKING:
    from .hsc_validation import IngestSummary

#: The --help line of each command whose options are added only when it runs (:func:`_add_lazily`).
_HELP = {
    "download": "download the original lesson's real HSC files (Git LFS, needs internet) and ingest them",
    "survey": "simulate a survey of many tracts as a HATS catalog (DP1 Object layout + truth) for LSDB",
}


def _patches(text: str) -> tuple[int, int]:
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or NxM patches, got {text[:40]!r}") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(1 <= p <= MAX_PATCHES_PER_SIDE for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected N or NxM patches with 1 <= N, M <= {MAX_PATCHES_PER_SIDE}, got {text[:40]!r}"
        )
    return parts[0], parts[1]


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63 - 1, got {text[:40]}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text[:40]!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 3600, got {text[:40]}")
    return value


def _retries(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
    if not 0 <= value <= 20:
        raise argparse.ArgumentTypeError(f"expected 0 to 20, got {text[:40]}")
    return value


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (no usage block) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _add_lazily(commands, name: str, add_parser, command: str | None) -> None:
    """Add command ``name`` with all its options if it is the ``command`` run (or for the full --help), else only
    its name and help line: `simulate` (``make data``) then never imports the download and survey modules."""
    if command in (None, name):
        add_parser(commands)
    else:
        commands.add_parser(name, help=_HELP[name])


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m data_fetch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sim = commands.add_parser(
        "simulate",
        help="build the simulated HSC Butler repository the lessons read (offline, deterministic)",
        description="Simulate the lesson's HSC coadd catalogues and write them to a Butler repository.",
    )
    sim.add_argument("--repo", default="DATA", help="where to write the repository (default: DATA)")
    sim.add_argument("--seed", type=_seed, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
    sim.add_argument(
        "--patches",
        type=_patches,
        default=(3, 3),
        metavar="N[xM]",
        help="patches per tract (default: 3, the lesson's 3 x 3 tract; larger for benchmarks)",
    )
    group = sim.add_mutually_exclusive_group()
    group.add_argument("--force", action="store_true", help="replace an existing repository")
    group.add_argument(
        "--if-stale",
        action="store_true",
        help="build only if the repository is missing, damaged, or was made by another simulator version "
        "(waits while another command builds it)",
    )
    sim.add_argument(
        "--no-rebuild",
        action="store_true",
        help="with --if-stale: do not rebuild; exit non-zero naming what is wrong (for checks)",
    )
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_lazily(commands, "download", _add_download_parser, command)
    ver = commands.add_parser(
        "verify",
        help="check every file of a repository against the SHA-256 of its manifest",
        description="Check every file of a repository made by data_fetch against its manifest (size and SHA-256).",
    )
    ver.add_argument("--repo", default="DATA", help="the repository to check (default: DATA)")
    _add_lazily(commands, "survey", _add_survey_parser, command)
    return parser


def _add_download_parser(commands) -> None:
    from .download import CACHE_ENV
    from .hsc_validation import LFS_URL

    dl = commands.add_parser(
        "download",
        help=_HELP["download"],
        description=(
            "Download the real HSC data of the original lesson (lsst-dm/legacy-validation_data_hsc, rerun 20160805, "
            "tract 0, patch 10,7: bands r and i, about 90 MB) from Rubin's Git LFS server, verify them, and ingest "
            "them into a Butler repository as the RUN collection HSC/validation (chain: validation)."
        ),
    )
    dl.add_argument("dataset", choices=["hsc-validation"], help="the data set to download")
    dl.add_argument("--repo", default="DATA", help="Butler repository to ingest into (default: DATA)")
    dl.add_argument("--lfs-url", default=LFS_URL, help=f"Git LFS server of the data (default: {LFS_URL})")
    dl.add_argument(
        "--cache", default=None, help=f"download cache folder (default: ${CACHE_ENV}, else your system's cache folder)"
    )
    dl.add_argument("--retries", type=_retries, default=3, help="times to retry a failed download (default: 3)")
    dl.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=60.0,
        help="seconds without progress (no byte, or under 1 kB/s) that end a download (default: 60)",
    )
    dl.add_argument("--force", action="store_true", help="replace the HSC/validation collection if it is there")
    dl.add_argument("--quiet", action="store_true", help="no progress bars")


# --- survey (issue 12): a simulated survey as a HATS catalog ---------------------------------------------
def _add_survey_parser(commands) -> None:
    from .survey import (
        DEFAULT_AREA_DEG2,
        DEFAULT_SEED,
        LESSON_AREA_DEG2,
        LESSON_PARTITION_ROWS,
        MAPPING_ORDER,
        MARGIN_ARCSEC,
        PARTITION_ROWS,
    )

    survey = commands.add_parser(
        "survey",
        help=_HELP["survey"],
        description=(
            "Simulate a survey of many tracts, streamed strip by strip (a row of patches at a time), and write it "
            "as a HATS catalog that LSDB reads. "
            "About 133,000 rows per deg^2: the default 20 deg^2 is about 2.7 million rows (half a minute on one "
            "core); --area 750 gives about 1e8 rows (10 GB on disk, 12 GB while building; about 13 CPU minutes)."
        ),
    )
    survey.add_argument("--out", default="SURVEY", help="where to write the HATS collection (default: SURVEY)")
    survey.add_argument(
        "--area",
        type=float,
        metavar="DEG2",
        help=f"area in deg^2 (default: {DEFAULT_AREA_DEG2:g})",
    )
    survey.add_argument("--seed", type=_seed, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
    survey.add_argument(
        "--margin",
        type=float,
        nargs="?",
        const=MARGIN_ARCSEC,
        default=None,
        metavar="ARCSEC",
        help=f"also write a margin cache (default radius {MARGIN_ARCSEC:g} arcsec; slower to build)",
    )
    survey.add_argument(
        "--partition-rows",
        type=int,
        metavar="N",
        help=(
            f"most rows in one partition, as hats-import's pixel_threshold (default: {PARTITION_ROWS:,}); at least "
            f"the rows of one order-{MAPPING_ORDER} pixel, about 120,000"
        ),
    )
    survey.add_argument(
        "--lesson",
        action="store_true",
        help=(
            f"lesson 10's survey, as `make survey` and the lesson build it: --area {LESSON_AREA_DEG2:g} --margin "
            f"--partition-rows {LESSON_PARTITION_ROWS}"
        ),
    )
    group = survey.add_mutually_exclusive_group()
    group.add_argument("--force", action="store_true", help="replace a survey this command made before")
    group.add_argument(
        "--if-stale",
        action="store_true",
        help="build only if --out is missing or holds a survey made with other options or another version "
        "(waits while another command builds it)",
    )
    survey.add_argument("--quiet", action="store_true", help="no progress bars")


def _survey(args) -> int:
    from .survey import (
        DEFAULT_AREA_DEG2,
        LESSON_AREA_DEG2,
        LESSON_PARTITION_ROWS,
        MARGIN_ARCSEC,
        PARTITION_ROWS,
        SurveyError,
        build_survey,
    )

    given = (args.area, args.margin, args.partition_rows)
    if args.lesson and given != (None, None, None):
        print(
            "data_fetch: error: --lesson sets --area, --margin and --partition-rows; give it or them, not both.",
            file=sys.stderr,
        )
        return 2
    if args.lesson:
        args.area, args.margin, args.partition_rows = LESSON_AREA_DEG2, MARGIN_ARCSEC, LESSON_PARTITION_ROWS
    args.area = DEFAULT_AREA_DEG2 if args.area is None else args.area
    args.partition_rows = PARTITION_ROWS if args.partition_rows is None else args.partition_rows
    try:
        summary = build_survey(
            args.out,
            area_deg2=args.area,
            seed=args.seed,
            force=args.force,
            if_stale=args.if_stale,
            progress=not args.quiet,
            margin_arcsec=args.margin,
            partition_rows=args.partition_rows,
        )
    except SurveyError as error:
        print(f"data_fetch: error: {error}", file=sys.stderr)
        return 2
    if summary.up_to_date:
        print(
            f"{args.out} is up to date (same seed, area, margin, partition rows and survey version; "
            "every file checked)."
        )
        return 0
    print(
        f"Wrote {args.out}: {summary.n_rows:,} rows in {summary.n_tracts} tracts ({summary.area_deg2:.2f} deg^2), "
        f"{summary.n_partitions} HATS partitions, seed {summary.seed} ({summary.seconds:.0f} s)."
    )
    return 0


def _print_ingest(args, summary: IngestSummary) -> None:
    data_id = summary.data_id
    if summary.already_present:
        print(f"{args.repo} already holds the real HSC data (RUN {summary.run}); nothing to do (--force replaces it).")
    else:
        report = summary.skymap_report
        nx, ny = report.num_patches
        print(
            f"Sky map '{summary.skymap}': tract {summary.tract} of {nx} x {ny} patches; Gen2 patch "
            f"{summary.patch_name} is Gen3 patch {summary.patch}."
        )
        print(f"deepCoadd_ref: {summary.n_ref:,} rows.")
        for band, match in summary.matches.items():
            print(f"deepCoadd_forced_src {band}: {match}.")
        where = {
            "ranged request": "its header read by a ranged request",
            "whole file": "the whole file",
            "cached header": "its header, cached",
            "cached file": "the cached file",
        }
        for band, source in summary.header_sources.items():
            print(
                f"deepCoadd_calexp {band}: zero point {summary.zero_points[band]:.4f} "
                f"(FLUXMAG0, from {where.get(source, source)})."
            )
        made = "a new repository " if summary.created_repository else ""
        print(f"Wrote {made}{args.repo}: RUN {summary.run}, CHAINED collection {summary.chain}.")
    repo = args.repo if Path(args.repo).is_absolute() else f"../{args.repo}"  # lessons run in notebooks/
    print(
        f'In a lesson: REPO = "{repo}", COLLECTIONS = "{summary.chain}", DATA_ID = {data_id}, '
        'BANDS = ["r", "i"]; lesson 8 uses them.'
    )


def _download(args) -> int:
    from .hsc_validation import download_and_ingest

    log = (lambda message: None) if args.quiet else print
    summary = download_and_ingest(
        args.repo,
        lfs_url=args.lfs_url,
        cache=args.cache,
        retries=args.retries,
        timeout=args.timeout,
        progress=not args.quiet,
        force=args.force,
        log=log,
    )
    _print_ingest(args, summary)
    return 0


def _simulate(args) -> int:
    if args.no_rebuild and not args.if_stale:
        raise SimulationError("--no-rebuild goes with --if-stale")
    start = time.perf_counter()
    summary = build(
        args.repo,
        seed=args.seed,
        num_patches=args.patches,
        force=args.force,
        if_stale=args.if_stale,
        rebuild=not args.no_rebuild,
        progress=not args.quiet,
    )
    if summary.up_to_date:
        print(f"{args.repo} is up to date (simulator version {SIMULATOR_VERSION}; files and registry checked).")
        return 0
    elapsed = time.perf_counter() - start
    nx, ny = summary.num_patches
    print(
        f"Wrote {args.repo}: 2 tracts of {nx} x {ny} patches, {summary.n_ref_rows} reference rows, "
        f"{summary.n_datasets} datasets, seed {summary.seed} ({elapsed:.1f} s)."
    )
    return 0


def _verify(args) -> int:
    from .manifest import foreign_files, verify

    target = safety.check_target(args.repo, "--repo")
    if os.path.lexists(target) and not target.is_dir():
        raise RepositoryError(
            f"{args.repo} is a file, not a repository folder; give the folder of a repository data_fetch made "
            "(e.g. --repo DATA)."
        )
    if not target.is_dir():
        raise RepositoryError(f"{args.repo} does not exist; run `make data` to build it.")
    with safety.exclusive_lock(target, "python -m data_fetch verify", shared_if_read_only=True):
        problems = verify(target)
        foreign = foreign_files(target)
        read_only = safety.read_only_advice(target, args.repo) if problems else None
    for line in problems:
        print(f"{args.repo}/{line}")
    for name in foreign:
        shown = safety.shown_name(f"{args.repo}/{name}")
        print(f"{shown}: not made by data_fetch (not in the manifest); a rebuild refuses until it is moved out")
    if problems and read_only:
        print(f"data_fetch: {args.repo}: {len(problems)} damaged file(s); {read_only}.", file=sys.stderr)
        return 1
    if problems:
        first = (
            f"move out the {len(foreign)} file(s) or folder(s) listed as not made by data_fetch, then "
            if foreign
            else ""
        )
        print(
            f"data_fetch: {args.repo}: {len(problems)} damaged file(s); {first}rebuild it with "
            f"`python -m data_fetch simulate --repo {args.repo} --if-stale` (make data).",
            file=sys.stderr,
        )
        return 1
    print(f"{args.repo}: every file matches its manifest (size and SHA-256).")
    return 0


_COMMANDS = {"simulate": _simulate, "download": _download, "verify": _verify, "survey": _survey}
#: Errors that end in one line on stderr, by module; a module's errors are caught only once it was imported
#: (each command imports what it needs), so `simulate` does not load the download code to name its errors.
_EXPECTED = {
    "data_fetch.download": "DownloadError",
    "data_fetch.hsc_validation": "IngestError",
    "data_fetch.lfs": "LFSError",
}


def _expected_errors() -> tuple[type[BaseException], ...]:
    loaded = (getattr(sys.modules[module], name) for module, name in _EXPECTED.items() if module in sys.modules)
    return (SimulationError, RepositoryError, safety.SafetyError, *loaded)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:  # the options of `download` and `survey` come from their modules, imported here
        parser = _parser(next((word for word in argv if not word.startswith("-")), None))
    except ImportError as error:
        missing = _third_party_module(error)
        if missing is None:
            raise
        return _report_incomplete_environment(error, missing)
    args = parser.parse_args(argv)
    safety.install_signal_handlers()
    safety.COMPLETED.clear()
    safety.RECEIVED.clear()
    try:
        return _COMMANDS[args.command](args)
    except _expected_errors() as error:
        print(f"data_fetch: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        print(f"data_fetch: error: {error.strerror or _one_line(error)}{where}; nothing was written.", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:
        return safety.report_interrupted(getattr(error, "signum", 2))
    except Exception as error:  # noqa: BLE001 (a bug: one line, the traceback on request)
        if safety.RECEIVED:  # a library turned the signal's exception into its own
            return safety.report_interrupted(safety.RECEIVED[0])
        # An import inside a command (the Butler's, say) found the environment damaged; our own module is a bug.
        if isinstance(error, ImportError) and (missing := _third_party_module(error)) is not None:
            return _report_incomplete_environment(error, missing)
        if os.environ.get("DATA_FETCH_DEBUG"):
            traceback.print_exc()
        print(
            f"data_fetch: internal error: {type(error).__name__}: {_one_line(error)[:300]} (set DATA_FETCH_DEBUG=1 "
            "for the traceback, and please report it); nothing was written.",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    status = main()
    # Everything is written and closed. Spare the interpreter's exit its garbage-collector passes over the Butler's
    # 180,000 objects (about 0.5 s of a 7 s `make data`); they are still freed, and every finalizer still runs.
    gc.freeze()
    sys.exit(status)
