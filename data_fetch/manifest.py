"""The repository manifest: every file with its size and SHA-256, and the registry's dataset counts.

:func:`write_manifest` is the last step of every build and ingest (in the staging folder, before the swap).
:func:`verify` (``python -m data_fetch verify``) reads every byte and names each file that differs. The fast check
that ``--if-stale`` and the lessons run is :func:`tutorial_lib.repository.check_repository`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import pooch

from tutorial_lib.repository import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    RepositoryError,
    dataset_counts,
    file_problems,
    read_manifest,
)

from .safety import SafetyError, atomic_write, cannot_tell

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
    """What replacing ``root`` would delete that data_fetch did not write there, as paths relative to ``root``:
    every entry (file, link, pipe, folder) that neither ``recorded`` nor ``own`` names and that holds no recorded
    file. A folder of such entries is named once, with a trailing ``/``.

    Raises
    ------
    data_fetch.safety.SafetyError
        A folder under ``root`` cannot be listed, so what it holds cannot be told.
    """
    known = set(recorded) | set(own)
    holders = {str(parent) for name in known for parent in PurePosixPath(name).parents} - {"."}
    found, folders = [], [""]
    while folders:  # a loop, not recursion: any depth
        folder = folders.pop()
        try:
            entries = list(os.scandir(root / folder))
        except OSError as error:
            raise SafetyError(
                f"{root / folder} cannot be listed ({error.strerror}), so data_fetch cannot tell whether it holds "
                f"files of yours; {root} is left as it is. Make the folder readable, or move it out of {root}."
            ) from None
        for entry in entries:
            name = f"{folder}/{entry.name}" if folder else entry.name
            if entry.is_dir(follow_symlinks=False) and name in holders:
                folders.append(name)
            elif entry.is_dir(follow_symlinks=False):
                found.append(f"{name}/")
            elif name not in known:
                found.append(name)
    return sorted(found)


def foreign_files(repo: Path) -> list[str]:
    """What replacing the Butler repository ``repo`` would delete that its manifest does not record (see
    :func:`unrecorded_files`).

    Raises
    ------
    data_fetch.safety.SafetyError
        No readable manifest: its own files cannot be told from anyone else's.
    """
    try:
        files = read_manifest(repo)["files"]
    except RepositoryError as error:
        raise SafetyError(cannot_tell(repo, str(error))) from None
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
