"""The benchmarks' survey catalogs: ``data_fetch.survey.build_survey`` without a margin cache (the benchmarks
read none), written once into ``benchmarks/results`` and kept while current.

A catalog is rebuilt when the survey version, seed or area changes (the builder's marker says so); a folder the
builder did not make is refused, as by ``python -m data_fetch survey``.
"""

from __future__ import annotations

from pathlib import Path

from data_fetch import survey

#: Marker file of a catalog the builder made (a target without it is never replaced).
MARKER_FILE = survey.MARKER_FILE


def read_record(path: Path) -> dict | None:
    """The builder's marker of the catalog at ``path`` (with ``n_rows`` and ``n_partitions``), or None."""
    return survey.read_marker(path)


def write_survey(path: Path, area_deg2: float, *, seed: int | None = None, progress: bool = True) -> dict:
    """The simulated survey of ``area_deg2`` at ``path``, built first unless a current one is there.

    Returns
    -------
    dict
        The builder's marker record, with ``n_rows`` and ``n_partitions``.
    """
    seed = survey.DEFAULT_SEED if seed is None else seed
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    survey.build_survey(path, area_deg2=area_deg2, seed=seed, if_stale=True, progress=progress)
    record = survey.read_marker(path)
    assert record is not None  # build_survey writes it last, or raises
    return record
