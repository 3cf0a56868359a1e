"""The repository manifest: every file with its size and SHA-256, and the registry's dataset counts.

:func:`write_manifest` is the last step of every build and ingest (in the staging folder, before the swap).
:func:`verify` (``python -m data_fetch verify``) reads every byte and names each file that differs. The fast check
that ``--if-stale`` and the lessons run is :func:`tutorial_lib.repository.check_repository`.
"""

from __future__ import annotations

import json
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

__all__ = ["sha256_file", "verify", "write_manifest"]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks (pooch's ``file_hash``)."""
    return pooch.file_hash(str(path), alg="sha256")


def _repository_files(repo: Path) -> list[Path]:
    return sorted(p for p in repo.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)


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
    files = {
        str(path.relative_to(repo)): {"size": path.stat().st_size, "sha256": sha256_file(path)}
        for path in _repository_files(repo)
    }
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
    manifest = read_manifest(repo)
    problems = file_problems(repo, manifest)  # missing or resized: the fast check's answer
    damaged = {line.split()[0] for line in problems}
    for name, entry in sorted(manifest["files"].items()):
        if name not in damaged and sha256_file(repo / name) != entry.get("sha256"):
            problems.append(f"{name}: its SHA-256 differs from the manifest's (same size; its bytes changed)")
    return problems


__all__ += ["RepositoryError"]
