"""The explorer's data: the tables of each patch, read from a Butler.

This is the explorer's only contact with the Butler. It returns :class:`PatchTables`, which any state
(:class:`tutorial_lib.explorer.state.ExplorerState`) takes as input.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from astropy.table import Table

__all__ = ["ALL_PATCHES", "PatchTables", "load_patch", "load_patches"]

#: Patch-chooser value meaning every loaded patch of the tract.
ALL_PATCHES = "all"


@dataclass
class PatchTables:
    """The tables of one patch, as the explorer needs them.

    Attributes
    ----------
    ref : astropy.table.Table
        Reference table (``deepCoadd_ref``).
    forced : dict of {str: astropy.table.Table}
        Forced tables (``deepCoadd_forced_src``) by band, row-for-row with ``ref`` or (2016 tables) linked to it
        through ``objectId``; a band may be missing.
    photo_calib : PhotoCalib or dict of {str: PhotoCalib}, optional
        Calibration per band (``deepCoadd_calexp.photoCalib``); without it magnitudes come from a
        ``base_PsfFlux_mag`` column, else are unavailable.
    truth : astropy.table.Table, optional
        ``truth_match`` (``truth_type``, ``truth_id``), row-for-row with ``ref``; None for real data.
    notes : list of str
        What could not be loaded (shown in the widget).
    """

    ref: Table
    forced: Mapping[str, Table] = field(default_factory=dict)
    photo_calib: Any = None
    truth: Table | None = None
    notes: list[str] = field(default_factory=list)


def load_patch(butler: Any, data_id: Mapping[str, Any], bands: Sequence[str]) -> PatchTables:
    """Read one patch's tables; a missing forced table, calibration or truth table becomes a note.

    Parameters
    ----------
    butler : lsst.daf.butler.Butler
        A Butler with default collections.
    data_id : dict
        ``{"skymap": ..., "tract": ..., "patch": ...}``.
    bands : sequence of str
        Bands of the forced tables and calibrations.

    Returns
    -------
    PatchTables
        The patch's tables.

    Raises
    ------
    LookupError
        If the patch has no ``deepCoadd_ref``.
    """
    label = f"patch {data_id['patch']}"
    try:
        ref = butler.get("deepCoadd_ref", data_id)
    except LookupError as err:
        raise LookupError(f"no deepCoadd_ref for {dict(data_id)}: {err}") from None
    forced: dict[str, Table] = {}
    calibs: dict[str, Any] = {}
    notes: list[str] = []
    for band in bands:
        try:
            forced[band] = butler.get("deepCoadd_forced_src", data_id, band=band)
        except LookupError:
            notes.append(f"{label} has no {band}-band deepCoadd_forced_src")
            continue
        # Without a calibration Selection reads a base_PsfFlux_mag column, or reports the band as missing.
        with contextlib.suppress(LookupError):
            calibs[band] = butler.get("deepCoadd_calexp.photoCalib", data_id, band=band)
    try:
        truth = butler.get("truth_match", data_id)
    except LookupError:
        truth = None
    return PatchTables(ref, forced, calibs or None, truth, notes)


def load_patches(
    butler: Any,
    data_id: Mapping[str, Any],
    bands: Sequence[str],
    patches: str | Iterable[int] | None = ALL_PATCHES,
) -> dict[Hashable, PatchTables]:
    """Read the tables of several patches of one tract.

    Parameters
    ----------
    butler : lsst.daf.butler.Butler
        A Butler with default collections.
    data_id : dict
        ``{"skymap": ..., "tract": ..., "patch": ...}``; its patch comes first (``patch`` may be omitted when
        ``patches`` lists them).
    bands : sequence of str
        Bands of the forced tables and calibrations.
    patches : "all", int, list of int or None
        ``"all"``: every patch of the tract with a ``deepCoadd_ref``; a patch id or a list: those patches;
        None: only the data ID's patch.

    Returns
    -------
    dict of {int: PatchTables}
        The tables by patch id.
    """
    base = {k: v for k, v in dict(data_id).items() if k not in ("patch", "band")}
    if patches is None:
        if "patch" not in data_id:
            raise ValueError("data_id has no 'patch'; give patches='all' or a list of patch ids")
        wanted = [data_id["patch"]]
    elif isinstance(patches, str):
        if patches != ALL_PATCHES:
            raise ValueError(f"patches must be 'all', a list of patch ids or None, got {patches!r}")
        refs = butler.query_datasets("deepCoadd_ref", data_id=base, find_first=True, explain=False)
        wanted = sorted({int(ref.dataId["patch"]) for ref in refs})
        if not wanted:
            raise LookupError(f"no deepCoadd_ref in the Butler's collections for {base}")
    elif isinstance(patches, numbers.Integral) and not isinstance(patches, bool):
        wanted = [int(patches)]  # one patch
    else:
        wanted = list(patches)
    if "patch" in data_id and data_id["patch"] not in wanted:
        wanted.insert(0, data_id["patch"])
    return {patch: load_patch(butler, {**base, "patch": patch}, bands) for patch in wanted}
