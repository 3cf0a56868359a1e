"""How the pipelines chose "unique objects" (``detect_isPrimary``) in each era, and what the columns are called.

Each function below reproduces one released version of ``setPrimaryFlags`` / ``getDeblendPrimaryFlags``
exactly, as numpy on catalogue columns, and cites the file and version it follows. Read with ``git show
<tag>:<path>`` in ``lsst/pipe_tasks`` (to 2024) and ``lsst/meas_algorithms`` (from 2024-02).

What the code says, era by era (checked against the repositories, December 2026):

* **2015-10 to v21 (meas_deblender; the 2016 and the 2018 lesson's pipelines)**: pipe_tasks
  ``python/lsst/pipe/tasks/setPrimaryFlags.py`` at tags 12.0 (2016-05-23), 12.1 (2016-09-20) and 16.0 (2018):
  ``isPrimary = isPatchInner & isTractInner & ~merge_peak_sky``, set only where ``deblend_nChild == 0``. The sky
  term (``pseudoFilterList = ['sky']``) has been there since pipe_tasks commit ae40ca1 (2015-10-17, DM-1336,
  "Added the ability to add 'sky' sources"), and the 2016 rerun ``20160805`` of lsst-dm/legacy-validation_data_hsc
  was configured with ``mergeCoaddDetections.nSkySourcesPerPatch=100`` (``DATA/rerun/20160805/config/
  multiBandDriver.py``). So the 2016 definition *does* have the sky term; it is the same as 2018's.
* **v22.0.0 (2021) to v29.2.0 (2025-08), meas_deblender branch**: pipe_tasks commit b38cab11 (2021-01-29,
  "Refactor isPrimary to work with scarlet"), moved unchanged to meas_algorithms commit 7c7eda48 (2024-02-02):
  ``fromBlend = parent != 0``, ``isIsolated = (nChild == 0) & (parent == 0)``, ``isDeblendedSource =
  nChild == 0`` (so sky objects get ``isDeblendedSource`` and ``isIsolated`` True), and
  ``isPrimary = isPatchInner & isTractInner & ~merge_peak_sky & isDeblendedSource``.
* **v22.0.0 to v29.2.0, scarlet branch** (chosen when the catalogue has ``deblend_scarletFlux``; the era of DP0.2
  and of DP1, which ``dp1.yaml`` says was made with "Rubin Science Pipelines v29"): from ``deblend_nPeaks``
  and ``deblend_parentNChild``. ``isIsolated`` is written ``isLeaf & ((parent == 0) | parentNChild == 1)``, which
  Python evaluates as ``isLeaf & (((parent == 0) | parentNChild) == 1)``; reproduced as written.
* **v30.0.0 (2025-12-19) to today (w.2026.27), scarlet branch**: meas_algorithms commits b4daed4d
  (2025-11-14) and fae7426f: from ``deblend_parentNChild`` and ``deblend_blendNChild`` (today's scarlet writes
  isolated sources unmodelled, with ``parent == 0`` and ``blendNChild == 0``, and parents to a separate
  catalogue).
* A version built from ``deblend_depth``, ``deblend_nPeaks`` and ``deblend_parentNPeaks`` exists only on the
  unmerged pull request lsst/meas_algorithms#405 (commits f26d6d25, 2024-12-23, and 41c4a60c, 2025-05-22); it
  was never on ``main`` nor in a release. ``deblend_depth`` itself existed in meas_extensions_scarlet only
  between commits 6ac1d62 (2024-12-13) and 49a1513 (2025-06-12). It is kept here, marked as such, because it
  is often quoted.
* No version of ``setPrimaryFlags.py`` in either repository (all branches) has ``detect_isSimpleLeaf`` or
  ``detect_isModelLeaf``.

The official multi-band lesson (lsst/pipelines_lsst_io ``getting-started/multiband-analysis.rst``) switched to
``detect_isDeblendedSource`` in commit 688be3b (2021-05-13) and back to ``deblend_nChild == 0`` with the Gen3
rewrite, commit f427230 (2021-08-19); that is what it still says (2026-05). Its PSF-flux cut requires
``base_PsfFlux_flag`` unset in g, r and i.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from astropy.table import Table


__all__ = [
    "ERAS",
    "NAME_MAP",
    "Era",
    "NameRow",
    "deblend_flags_meas_deblender",
    "deblend_flags_scarlet_pr405",
    "deblend_flags_scarlet_v22",
    "deblend_flags_scarlet_v30",
    "is_primary",
    "is_primary_2016_2018",
]


def _col(table: Any, name: str) -> np.ndarray:
    if name not in (table.colnames if hasattr(table, "colnames") else table):
        raise KeyError(f"the table has no column '{name}', which this era's definition reads")
    return np.asarray(table[name])


def _pseudo(table: Any) -> np.ndarray:
    """``merge_peak_sky`` (the only pseudo-filter of ``pseudoFilterList = ['sky']``)."""
    return _col(table, "merge_peak_sky").astype(bool)


def is_primary_2016_2018(table: Table) -> np.ndarray:
    """``detect_isPrimary`` as pipe_tasks 12.0 (2016) to 16.0 (2018) set it: inner, not sky, no children.

    ``setPrimaryFlags.py`` at those tags sets ``isPrimary = isPatchInner and isTractInner and not isPseudo``
    for records with ``deblend_nChild == 0`` and leaves it False otherwise.

    Parameters
    ----------
    table : astropy.table.Table or mapping of {str: array-like}
        Reference-table columns: ``detect_isPatchInner``, ``detect_isTractInner``, ``merge_peak_sky`` and
        ``deblend_nChild``.

    Returns
    -------
    numpy.ndarray of bool
        The flag, one per row.
    """
    return (
        _col(table, "detect_isPatchInner").astype(bool)
        & _col(table, "detect_isTractInner").astype(bool)
        & ~_pseudo(table)
        & (_col(table, "deblend_nChild") == 0)
    )


def deblend_flags_meas_deblender(table: Table) -> dict[str, np.ndarray]:
    """``getDeblendPrimaryFlags`` for meas_deblender catalogues (pipe_tasks b38cab11, v22; meas_algorithms today).

    Returns ``detect_fromBlend``, ``detect_isIsolated`` and ``detect_isDeblendedSource`` (sky objects included:
    they have no children and no parent).

    Parameters
    ----------
    table : astropy.table.Table or mapping of {str: array-like}
        Reference-table columns: ``deblend_nChild`` and ``parent``.

    Returns
    -------
    dict of {str: numpy.ndarray}
        The deblending flags by column name.
    """
    n_child = _col(table, "deblend_nChild")
    parent = _col(table, "parent")
    return {
        "detect_fromBlend": parent != 0,
        "detect_isIsolated": (n_child == 0) & (parent == 0),
        "detect_isDeblendedSource": n_child == 0,
    }


def deblend_flags_scarlet_v22(table: Table) -> dict[str, np.ndarray]:
    """Scarlet branch of ``getDeblendPrimaryFlags``, v22.0.0 to v29.2.0 (the DP0.2 and DP1 era).

    pipe_tasks commit b38cab11 (2021-01-29) ``python/lsst/pipe/tasks/setPrimaryFlags.py``, moved unchanged to
    meas_algorithms ``python/lsst/meas/algorithms/setPrimaryFlags.py`` (commit 7c7eda48, in tags 27.0.0 to
    29.2.0). Reads ``parent``, ``deblend_nPeaks`` and ``deblend_parentNChild``.

    Parameters
    ----------
    table : astropy.table.Table or mapping of {str: array-like}
        Reference-table columns: ``parent``, ``deblend_nPeaks`` and ``deblend_parentNChild``.

    Returns
    -------
    dict of {str: numpy.ndarray}
        The deblending flags by column name.
    """
    parent = _col(table, "parent")
    n_peaks = _col(table, "deblend_nPeaks")
    parent_n_child = _col(table, "deblend_parentNChild")
    is_leaf = n_peaks == 1
    from_blend = parent_n_child > 1
    # As written: `isLeaf & ((parent == 0) | parentNChild == 1)`; `|` binds before `==` in Python.
    is_isolated = is_leaf & (((parent == 0).astype(parent_n_child.dtype) | parent_n_child) == 1)
    return {
        "detect_fromBlend": from_blend,
        "detect_isIsolated": is_isolated,
        "detect_isDeblendedSource": (from_blend & is_leaf) | (is_isolated & (parent == 0)),
        "detect_isDeblendedModelSource": (parent != 0) & is_leaf,
    }


def deblend_flags_scarlet_v30(table: Table) -> dict[str, np.ndarray]:
    """Scarlet branch of ``getDeblendPrimaryFlags`` from v30.0.0 (2025-12-19) to today (w.2026.27).

    meas_algorithms ``python/lsst/meas/algorithms/setPrimaryFlags.py`` at commits b4daed4d and fae7426f
    (2025-11). Reads ``parent``, ``deblend_parentNChild`` and ``deblend_blendNChild``.

    Parameters
    ----------
    table : astropy.table.Table or mapping of {str: array-like}
        Reference-table columns: ``parent``, ``deblend_parentNChild`` and ``deblend_blendNChild``.

    Returns
    -------
    dict of {str: numpy.ndarray}
        The deblending flags by column name.
    """
    parent = _col(table, "parent")
    parent_n_child = _col(table, "deblend_parentNChild")
    blend_n_child = _col(table, "deblend_blendNChild")
    return {
        "detect_fromBlend": parent_n_child > 1,
        "detect_isIsolated": (blend_n_child == 0) | (parent_n_child == 1),
        "detect_isDeblendedSource": (blend_n_child == 0) | (parent_n_child > 1),
        "detect_isDeblendedModelSource": parent != 0,
    }


def deblend_flags_scarlet_pr405(table: Table) -> dict[str, np.ndarray]:
    """The never-released scarlet branch of pull request lsst/meas_algorithms#405 (41c4a60c, 2025-05-22).

    Reads ``deblend_nChild``, ``deblend_depth``, ``deblend_nPeaks`` and ``deblend_parentNPeaks``. Kept for
    comparison only: no released pipelines version used it.

    Parameters
    ----------
    table : astropy.table.Table or mapping of {str: array-like}
        Reference-table columns: ``deblend_nChild``, ``deblend_depth``, ``deblend_nPeaks`` and ``deblend_parentNPeaks``.

    Returns
    -------
    dict of {str: numpy.ndarray}
        The deblending flags by column name.
    """
    n_child = _col(table, "deblend_nChild")
    depth = _col(table, "deblend_depth")
    n_peaks = _col(table, "deblend_nPeaks")
    is_sibling = _col(table, "deblend_parentNPeaks") > 1
    model = (n_child == 0) & (depth > 0)
    from_blend = model & (is_sibling | (depth > 1))
    isolated_parent = (depth == 0) & (n_peaks == 1)
    return {
        "detect_fromBlend": from_blend,
        "detect_isIsolated": isolated_parent | ((depth == 1) & ~is_sibling),
        "detect_isDeblendedSource": from_blend | isolated_parent,
        "detect_isDeblendedModelSource": model,
    }


def is_primary(table: Table, deblend_flags: Mapping[str, np.ndarray]) -> np.ndarray:
    """``SetPrimaryFlagsTask.run`` for coadds, v22 to today: inner, not sky, and ``isDeblendedSource``.

    Parameters
    ----------
    table : astropy.table.Table or mapping of {str: array-like}
        Reference-table columns: ``detect_isPatchInner``, ``detect_isTractInner`` and ``merge_peak_sky``.
    deblend_flags : mapping of {str: numpy.ndarray}
        An era's deblending flags (one of the ``deblend_flags_*`` functions); ``detect_isDeblendedSource`` is read.

    Returns
    -------
    numpy.ndarray of bool
        The flag, one per row.
    """
    return (
        _col(table, "detect_isPatchInner").astype(bool)
        & _col(table, "detect_isTractInner").astype(bool)
        & ~_pseudo(table)
        & np.asarray(deblend_flags["detect_isDeblendedSource"], dtype=bool)
    )


@dataclass(frozen=True)
class Era:
    """One pipelines era's definition of unique objects.

    Attributes
    ----------
    name : str
        Short name used in the lessons.
    versions : str
        Pipelines versions (and dates) that ran this code.
    source : str
        Repository, file and version the definition is read from.
    primary : str
        ``detect_isPrimary`` in column terms.
    """

    name: str
    versions: str
    source: str
    primary: str


ERAS = (
    Era(
        "2016-2018, meas_deblender",
        "pipe_tasks 12.0 (2016-05) to v21; the 2016 rerun 20160805 and the 2018 lesson (v16)",
        "lsst/pipe_tasks python/lsst/pipe/tasks/setPrimaryFlags.py @ 12.0, 12.1, 16.0",
        "detect_isPatchInner & detect_isTractInner & ~merge_peak_sky & (deblend_nChild == 0)",
    ),
    Era(
        "2021-2025, meas_deblender branch",
        "v22.0.0 to today, for catalogues deblended by meas_deblender",
        "lsst/pipe_tasks setPrimaryFlags.py @ b38cab11 (v22.0.0); lsst/meas_algorithms setPrimaryFlags.py @ 7c7eda48",
        "detect_isPatchInner & detect_isTractInner & ~merge_peak_sky & detect_isDeblendedSource "
        "(= deblend_nChild == 0)",
    ),
    Era(
        "2021-2025, scarlet (DP0.2, DP1)",
        "v22.0.0 (2021) to v29.2.0 (2025-08)",
        "lsst/pipe_tasks setPrimaryFlags.py @ b38cab11; lsst/meas_algorithms setPrimaryFlags.py @ 29.2.0",
        "detect_isPatchInner & detect_isTractInner & ~merge_peak_sky & detect_isDeblendedSource, "
        "isDeblendedSource = (fromBlend & nPeaks == 1) | (isIsolated & parent == 0)",
    ),
    Era(
        "today, scarlet",
        "v30.0.0 (2025-12-19) to w.2026.27",
        "lsst/meas_algorithms python/lsst/meas/algorithms/setPrimaryFlags.py @ fae7426f",
        "detect_isPatchInner & detect_isTractInner & ~merge_peak_sky & detect_isDeblendedSource, "
        "isDeblendedSource = (blendNChild == 0) | (parentNChild > 1)",
    ),
)


@dataclass(frozen=True)
class NameRow:
    """One concept and its name in each era, with where each name was read.

    Attributes
    ----------
    concept : str
        What the column or call holds.
    gen2 : str
        The 2018 lesson (Gen2 Butler, pipelines v16/v17).
    gen3 : str
        Today's Gen3 pipelines (``deepCoadd_*`` tables).
    dp1 : str
        The DP1 ``Object`` table.
    source : str
        Where each name was read.
    """

    concept: str
    gen2: str
    gen3: str
    dp1: str
    source: str


# The last version of the 2018 lesson with the names of pipelines v16 (``base_PsfFlux_flux``), and the first with
# sky objects (``merge_peak_sky``); 30ca5f7 (2018-09-24) renamed the fluxes to ``_instFlux`` ahead of v17.
_LESSON_2018 = "pipelines_lsst_io getting-started/multiband-analysis.rst @ 2fd2b9d (2018-06-21)"
_LESSON_TODAY = "pipelines_lsst_io getting-started/multiband-analysis.rst @ 1ca9c2e (2026-05-26)"
_DP1 = "sdm_schemas python/lsst/sdm/schemas/dp1.yaml @ bbb8cfd, table Object"

#: The Gen2 -> Gen3 -> DP1 name map of the lessons' columns and calls.
NAME_MAP = (
    NameRow(
        "forced photometry of one patch",
        "butler.get('deepCoadd_forced_src', {'filter': 'HSC-R', 'tract': 0, 'patch': '1,1'})",
        "butler.get('deepCoadd_forced_src', band='r', tract=0, patch=4)",
        "butler.get('object', tract=0) (every band in one row; all patches of the tract)",
        f"{_LESSON_2018}; {_LESSON_TODAY}; {_DP1}",
    ),
    NameRow(
        "patch",
        "'1,1' (string 'x,y')",
        "4 (integer nx * y + x)",
        "patch column, 4",
        f"{_LESSON_2018}; {_LESSON_TODAY}; {_DP1}",
    ),
    NameRow(
        "object id",
        "id",
        "id",
        "objectId",
        f"afw src/table/Simple.cc; {_DP1}",
    ),
    NameRow(
        "parent id",
        "parent",
        "parent",
        "parentObjectId",
        f"afw src/table/Source.cc; {_DP1}",
    ),
    NameRow(
        "position",
        "coord_ra, coord_dec (radians)",
        "coord_ra, coord_dec (radians)",
        "coord_ra, coord_dec (degrees)",
        f"afw src/table/Simple.cc; {_DP1}",
    ),
    NameRow(
        "PSF flux",
        "base_PsfFlux_flux (count), to v16",
        "base_PsfFlux_instFlux (count), from v17 (meas_base DM-10302)",
        "{band}_psfFlux (nJy, calibrated)",
        f"meas_base src/PsfFlux.cc @ 16.0 and today; {_DP1}",
    ),
    NameRow(
        "PSF flux error",
        "base_PsfFlux_fluxSigma (count)",
        "base_PsfFlux_instFluxErr (count)",
        "{band}_psfFluxErr (nJy)",
        f"meas_base src/PsfFlux.cc @ 16.0 and today; {_DP1}",
    ),
    NameRow(
        "PSF flux failure flag",
        "base_PsfFlux_flag",
        "base_PsfFlux_flag",
        "{band}_psfFlux_flag",
        f"meas_base src/PsfFlux.cc; {_DP1}",
    ),
    NameRow(
        "CModel flux",
        "modelfit_CModel_flux (count)",
        "modelfit_CModel_instFlux (count)",
        "{band}_cModelFlux (nJy)",
        f"meas_modelfit CModel; {_DP1}",
    ),
    NameRow(
        "extendedness",
        "base_ClassificationExtendedness_value (per band, forced)",
        "base_ClassificationExtendedness_value (per band, forced)",
        "refExtendedness (reference band); {band}_extendedness (measured in that band, not forced)",
        f"meas_base python/lsst/meas/base/classification.py; {_DP1}",
    ),
    NameRow(
        "calibration",
        "Calib: butler.get('deepCoadd_calexp_calib', ...), calib.getMagnitude(flux)",
        "PhotoCalib: butler.get('deepCoadd_calexp.photoCalib', ...), photoCalib.instFluxToMagnitude(...)",
        "none needed: fluxes are in nJy; {band}_psfMag = 31.4 - 2.5 log10({band}_psfFlux)",
        f"{_LESSON_2018}; {_LESSON_TODAY}; {_DP1}",
    ),
    NameRow(
        "unique objects",
        "detect_isPrimary (deepCoadd_ref)",
        "detect_isPrimary (deepCoadd_ref; object tables)",
        "none: every row is a unique, deblended object",
        f"pipe_tasks setPrimaryFlags.py @ 16.0; meas_algorithms setPrimaryFlags.py @ fae7426f; {_DP1}",
    ),
    NameRow(
        "sky objects",
        "merge_peak_sky",
        "merge_peak_sky",
        "none: sky objects are not in the Object table",
        f"pipe_tasks multiBand.py @ 12.0; meas_algorithms skyObjects.py; {_DP1}",
    ),
    NameRow(
        "deblended (no children)",
        "deblend_nChild == 0",
        "detect_isDeblendedSource",
        "deblend_nChild (kept); detect_isIsolated, detect_fromBlend",
        f"meas_deblender deblend.py @ 16.0; meas_algorithms setPrimaryFlags.py; {_DP1}",
    ),
)
