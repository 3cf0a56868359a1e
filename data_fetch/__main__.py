"""Command line: ``python -m data_fetch simulate [--repo DATA] [--seed N] [--patches N] [--force]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import SIMULATOR_VERSION
from .simulate import DEFAULT_SEED, STAMP_FILE, SimulationError, build, read_stamp


def _patches(text: str) -> tuple[int, int]:
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or NxM patches, got {text!r}") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected N or NxM patches with N, M >= 1, got {text!r}")
    return parts[0], parts[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_fetch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sim = commands.add_parser(
        "simulate",
        help="build the simulated HSC Butler repository the lessons read (offline, deterministic)",
        description="Simulate the lesson's HSC coadd catalogues and write them to a Butler repository.",
    )
    sim.add_argument("--repo", default="DATA", help="where to write the repository (default: DATA)")
    sim.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
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
        help="build only if the repository is missing or was made by another simulator version",
    )
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _simulate(args) -> int:
    repo = Path(args.repo)
    force = args.force
    if args.if_stale and repo.exists():
        stamp = read_stamp(repo)
        if stamp is None or not (repo / "butler.yaml").is_file():
            raise SimulationError(
                f"{repo} exists but is not a complete simulated repository (no {STAMP_FILE} or butler.yaml); "
                f"it is left alone. Remove it, or run `python -m data_fetch simulate --force --repo {repo}`."
            )
        if stamp == SIMULATOR_VERSION:
            print(f"{repo} is up to date (simulator version {stamp}).")
            return 0
        print(f"{repo} was made by simulator version {stamp}; rebuilding with version {SIMULATOR_VERSION}.")
        force = True
    start = time.perf_counter()
    summary = build(repo, seed=args.seed, num_patches=args.patches, force=force, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    nx, ny = summary.num_patches
    print(
        f"Wrote {args.repo}: 2 tracts of {nx} x {ny} patches, {summary.n_ref_rows} reference rows, "
        f"{summary.n_datasets} datasets, seed {summary.seed} ({elapsed:.1f} s)."
    )
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "simulate":
            return _simulate(args)
    except SimulationError as error:
        print(f"data_fetch: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("data_fetch: interrupted; nothing was written.", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
