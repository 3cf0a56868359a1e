"""The repository manifest: every file with its size and SHA-256, and the registry's dataset counts.

:func:`write_manifest` is the last step of every build and ingest (in the staging folder, before the swap).
:func:`verify` (``python -m data_fetch verify``) reads every byte and names each file that differs. The fast check
that ``--if-stale`` and the lessons run is :func:`tutorial_lib.repository.check_repository`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pooch

from tutorial_lib.repository import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    RepositoryError,
    dataset_counts,
    file_problems,
    read_manifest,
)

from .safety import atomic_write

__all__ = [
    "changed_files",
    "file_records",
    "foreign_files",
    "sha256_file",
    "unrecorded_files",
    "verify",
    "write_manifest",
]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks (pooch's ``file_hash``)."""
    return pooch.file_hash(str(path), alg="sha256")


def file_records(root: Path, skip: str = MANIFEST_NAME) -> dict[str, dict]:
    """Size and SHA-256 of every file under ``root`` but ``skip`` (the file that records them), by relative path."""
    return {
        str(path.relative_to(root)): {"size": path.stat().st_size, "sha256": sha256_file(path)}
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != skip
    }


def changed_files(root: Path, files: dict[str, dict]) -> list[str]:
    """One line per file of ``files`` (as :func:`file_records` gives them) that is missing under ``root``, has
    another size, or other bytes; empty when all match. Reads every file."""
    problems = file_problems(root, {"files": files})  # missing or resized: the fast check's answer
    damaged = {line.split()[0] for line in problems}
    for name, entry in sorted(files.items()):
        if name not in damaged and sha256_file(root / name) != entry.get("sha256"):
            problems.append(f"{name}: its SHA-256 differs from the one recorded (same size; its bytes changed)")
    return problems


def unrecorded_files(root: Path, recorded: Iterable[str], own: Iterable[str] = (MANIFEST_NAME,)) -> list[str]:
    """The files under ``root`` (relative paths; symbolic links too) that neither ``recorded`` nor ``own`` names:
    files data_fetch did not write there, which replacing ``root`` would delete."""
    known = set(recorded) | set(own)
    found = (path for path in sorted(root.rglob("*")) if path.is_file() or path.is_symlink())
    return [name for name in (str(path.relative_to(root)) for path in found) if name not in known]


def foreign_files(repo: Path) -> list[str]:
    """The files of the Butler repository ``repo`` that its manifest does not record (see
    :func:`unrecorded_files`); empty when it has no readable manifest, since then there is nothing to compare
    with and its marker alone says whether data_fetch made it."""
    try:
        files = read_manifest(repo)["files"]
    except RepositoryError:
        return []
    return unrecorded_files(repo, files)


def write_manifest(repo: Path, datasets: dict[str, int] | None = None) -> dict:
    """Write ``MANIFEST.json`` into ``repo``: sizes and SHA-256 of its files, and its dataset counts.

    ``datasets`` are the counts (:func:`tutorial_lib.repository.dataset_counts`) if the caller already has them
    from its own Butler on ``repo``; by default they are counted with a new read-only Butler.
    """
    if datasets is None:
        from lsst.daf.butler import Butler

        butler = Butler.from_config(str(repo), writeable=False)
        datasets = dataset_counts(butler)
        del butler
    files = file_records(repo)
    manifest = {"format": MANIFEST_FORMAT, "made_by": "python -m data_fetch", "files": files, "datasets": datasets}
    atomic_write(repo / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True).encode())
    return manifest


def verify(repo: Path) -> list[str]:
    """One line per damaged file of ``repo`` (missing, wrong size or wrong SHA-256); empty when all match.

    Raises
    ------
    tutorial_lib.repository.RepositoryError
        No readable manifest.
    """
    return changed_files(repo, read_manifest(repo)["files"])


__all__ += ["RepositoryError"]
