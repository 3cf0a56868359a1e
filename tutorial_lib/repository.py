"""Open the lessons' Butler repository after a fast check, so damage gives one message naming the fix.

``python -m data_fetch`` writes two files into every repository it makes (see :mod:`data_fetch.safety`):

- :data:`MARKER_NAME`, which says that ``data_fetch`` made the folder, so that ``--force`` may replace it;
- :data:`MANIFEST_NAME`, a JSON list of every file of the repository with its size and SHA-256, and the number of
  datasets of each type the registry holds.

:func:`check_repository` is the fast check (a fraction of a second for the lessons' repository): every file of
the manifest is there with its size, and the registry opens and lists the datasets the manifest expects. It does
not read the files' bytes; ``python -m data_fetch verify`` checks every SHA-256. :func:`open_butler` runs the check
and returns a Butler, or raises :class:`RepositoryError` whose message says what is wrong and that ``make data``
rebuilds the repository.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lsst.daf.butler import Butler


__all__ = [
    "file_problems",
    "MANIFEST_NAME",
    "MARKER_NAME",
    "RepositoryError",
    "RepositoryMissingError",
    "check_repository",
    "dataset_counts",
    "open_butler",
    "read_manifest",
]

#: File listing every file of the repository (size, SHA-256) and the dataset counts; written last by data_fetch.
MANIFEST_NAME = "MANIFEST.json"
#: File saying that data_fetch made the repository (so ``--force`` may replace it).
MARKER_NAME = "DATA_FETCH_REPOSITORY"
#: Format tag of the manifest.
MANIFEST_FORMAT = "multiband-tutorial repository manifest 1"
#: What the messages tell a learner to run.
FIX = "run `make data` in the project folder (or `python -m data_fetch simulate --if-stale`) to rebuild it"
#: Problems listed by name before the rest are only counted.
_MAX_LISTED = 5


class RepositoryError(RuntimeError):
    """The repository is missing or damaged; the message says what is wrong and how to fix it."""


class RepositoryMissingError(RepositoryError):
    """There is no repository at the path given."""


def read_manifest(repo: str | os.PathLike) -> dict:
    """The manifest of ``repo`` as a dict (``files``: path -> {size, sha256}; ``datasets``: type -> count).

    Parameters
    ----------
    repo : str or os.PathLike
        The repository folder.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    RepositoryError
        No manifest, or one that is not a manifest written by data_fetch.
    """
    path = Path(repo) / MANIFEST_NAME
    if not path.is_file():
        raise RepositoryError(f"{repo} has no {MANIFEST_NAME} (it was not built by this version of data_fetch)")
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise RepositoryError(f"{path} cannot be read ({type(error).__name__})") from None
    valid = (
        isinstance(manifest, dict)
        and manifest.get("format") == MANIFEST_FORMAT
        and isinstance(manifest.get("files"), dict)
        and isinstance(manifest.get("datasets"), dict)
        and all(isinstance(v, dict) and isinstance(v.get("size"), int) for v in manifest["files"].values())
    )
    if not valid:
        raise RepositoryError(f"{path} is not a data_fetch manifest")
    return manifest


def dataset_counts(butler: Butler, dataset_types: Iterable[str] | None = None) -> dict[str, int]:
    """Number of datasets of each type (default: every registered type) over all RUN collections of ``butler``.

    Give a Butler without default collections: with them, queries are also constrained by the default data ID the
    Butler infers from those collections.

    Parameters
    ----------
    butler : lsst.daf.butler.Butler
        The Butler, without default collections.
    dataset_types : iterable of str, optional
        Dataset types to count; default every registered one.

    Returns
    -------
    dict of {str: int}
        Datasets per type.
    """
    from lsst.daf.butler import CollectionType

    runs = [info.name for info in butler.collections.query_info("*", collection_types={CollectionType.RUN})]
    if dataset_types is None:
        dataset_types = sorted(t.name for t in butler.registry.queryDatasetTypes())
    return {
        name: len(butler.query_datasets(name, collections=runs, find_first=False, explain=False)) if runs else 0
        for name in dataset_types
    }


def file_problems(repo: Path, manifest: dict) -> list[str]:
    """One phrase per file of the manifest that is missing from ``repo`` or has another size (the fast check).

    Parameters
    ----------
    repo : pathlib.Path
        The repository folder.
    manifest : dict
        Its manifest (:func:`read_manifest`).

    Returns
    -------
    list of str
        One phrase per missing or mis-sized file; empty when all are there.
    """
    problems = []
    for name, entry in sorted(manifest["files"].items()):
        path = repo / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != entry["size"]:
            problems.append(f"{name} has {path.stat().st_size:,} bytes, not {entry['size']:,}")
    return problems


@contextlib.contextmanager
def _butler_errors_unlogged() -> Iterator[None]:
    """Without the Butler's own log line for a registry it cannot open: the caller reports that in its words."""
    logger = logging.getLogger("lsst.daf.butler.direct_butler")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _registry_problems(repo: Path, manifest: dict, collections=None):
    """Open the registry and count the datasets; returns (problems, butler or None)."""
    from lsst.daf.butler import Butler

    try:
        # No default collections while counting: the Butler infers a default data ID (e.g. the sky map) from them.
        with _butler_errors_unlogged():
            butler = Butler.from_config(str(repo), writeable=False)
        found = dataset_counts(butler, manifest["datasets"])
        butler = butler.clone(collections=collections) if collections is not None else butler
    except Exception as error:  # noqa: BLE001 (SQLAlchemy, YAML, Butler: any failure means a damaged registry)
        text = str(error).strip().splitlines()[0][:120] if str(error).strip() else ""
        return [f"the Butler registry cannot be opened ({type(error).__name__}{': ' + text if text else ''})"], None
    problems = [
        f"the registry lists {found[name]} {name} datasets, not {count}"
        for name, count in sorted(manifest["datasets"].items())
        if found[name] != count
    ]
    return problems, butler


def check_repository(repo: str | os.PathLike, *, open_registry: bool = True) -> list[str]:
    """What is wrong with ``repo``, fast: an empty list when nothing is.

    Checks that the folder, ``butler.yaml`` and the manifest are there, that every file of the manifest has its
    size, and (``open_registry``) that the registry opens and holds the datasets the manifest counts.

    Parameters
    ----------
    repo : str or os.PathLike
        The repository folder.
    open_registry : bool
        Also open the registry and count its datasets (slower).

    Returns
    -------
    list of str
        One phrase per problem; empty when there is none.
    """
    return _check(Path(repo), open_registry)[0]


def _check(repo: Path, open_registry: bool, collections=None):
    if not repo.is_dir():
        return [f"{repo} does not exist" if not repo.exists() else f"{repo} is not a folder"], None
    try:
        manifest = read_manifest(repo)
    except RepositoryError as error:
        return [str(error)], None
    problems = file_problems(repo, manifest)
    if problems or not open_registry:
        return problems, None
    return _registry_problems(repo, manifest, collections)


def describe(problems: list[str]) -> str:
    """The problems as one phrase: the first few by name, the rest counted.

    Parameters
    ----------
    problems : list of str
        As :func:`check_repository` returns them.

    Returns
    -------
    str
        One phrase.
    """
    text = "; ".join(problems[:_MAX_LISTED])
    if len(problems) > _MAX_LISTED:
        text += f"; and {len(problems) - _MAX_LISTED} more"
    return text


def _open_foreign(path: Path, repo, collections):
    """A repository data_fetch did not make (your own, or one built before manifests): opened as it is."""
    from lsst.daf.butler import Butler

    try:
        return Butler.from_config(str(path), collections=collections, writeable=False)
    except Exception as error:  # noqa: BLE001 (SQLAlchemy, YAML, Butler: say what, not how deep)
        text = " ".join(str(error).split())[:160]
        raise RepositoryError(
            f"The Butler repository {repo} cannot be opened ({type(error).__name__}: {text}). Check REPO in the data "
            f"cell; if it is the lessons' repository, {FIX}."
        ) from None


def open_butler(repo: str | os.PathLike, collections: str | list[str]) -> Butler:
    """A read-only Butler on ``repo`` searching ``collections``, after :func:`check_repository`.

    A repository that data_fetch did not make (no marker, no manifest: your own, as in the README) is opened without
    the check; a failure to open it still gives one :class:`RepositoryError`.

    Parameters
    ----------
    repo : str or os.PathLike
        The repository folder.
    collections : str or list of str
        Collections to search, e.g. the lesson's ``"lesson/run"``.

    Returns
    -------
    lsst.daf.butler.Butler
        A read-only Butler.

    Raises
    ------
    RepositoryMissingError
        There is no repository at ``repo``.
    RepositoryError
        The repository is damaged (a file missing or of the wrong size, a registry that does not open or lacks
        datasets); the message lists what is wrong and says how to rebuild it.
    """
    path = Path(repo)
    if not path.exists():
        raise RepositoryMissingError(f"There is no Butler repository at {repo}: {FIX}.")
    if not path.is_dir():
        raise RepositoryError(
            f"{repo} is a file, not a repository folder: give the folder that holds butler.yaml "
            f"(open_butler({str(path.parent)!r}, ...))."
        )
    if not (path / MARKER_NAME).exists() and not (path / MANIFEST_NAME).exists():
        return _open_foreign(path, repo, collections)
    problems, butler = _check(path, open_registry=True, collections=collections)
    if problems:
        raise RepositoryError(f"The Butler repository {repo} is damaged: {describe(problems)}. To fix it, {FIX}.")
    return butler
