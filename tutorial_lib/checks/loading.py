"""Self-checks for lessons 0 and 1: Gen3 data IDs, finding columns, combining the per-band forced tables.

Each function takes a learner's answer and the data it should be computed from, and returns a
:class:`~tutorial_lib.checks.CheckResult`: right or wrong, with a one-line reason that names the usual mistake
(a Gen2 key left in a data ID, uncertainties caught by a too-wide pattern, rows dropped or re-ordered, ...).
The expected answer is always recomputed from the data passed in, so the checks also work on other data.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ._result import CheckResult, first_mistake, floats, right, self_check, wrong

if TYPE_CHECKING:
    from astropy.table import Table

    from ..skymap import SkyMap


__all__ = ["check_flux_columns", "check_gen3_data_id", "check_multiband_table"]


# --- helpers ------------------------------------------------------------------------------------------------
def _as_int(value: Any) -> int | None:
    """``value`` as an int if it is an integer (not a bool, not a string), else None."""
    return int(value) if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_) else None


def _as_dict(answer: Any) -> dict[str, Any] | None:
    """A data ID as a plain dict: a Mapping, or a ``DataCoordinate`` (which has ``.mapping``)."""
    mapping = getattr(answer, "mapping", answer)
    return dict(mapping) if isinstance(mapping, Mapping) else None


#: Relative tolerance of a copied flux column: a copy kept as float32 (precision 6e-8) is the same column.
_COPY_RTOL = 1e-6


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values (NaN equal to NaN), to float32 precision (the answer may store the column as float32)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=_COPY_RTOL, atol=0.0, equal_nan=True))


def _gen2_filter_to_band(filter_name: str) -> str | None:
    """'HSC-R' -> 'r', 'HSC-I2' -> 'i' (HSC-R2/HSC-I2 replaced HSC-R/HSC-I); a merged 'HSC-R^HSC-I' -> None."""
    if "^" in filter_name:
        return None
    match = re.fullmatch(r"(?:HSC-)?([A-Za-z])2?", filter_name.strip())
    return match.group(1).lower() if match else filter_name


# --- lesson 0 -----------------------------------------------------------------------------------------------
def _band_problem(data_id: Mapping, band: str | None, gen2_filter) -> str | None:
    """What is wrong with the data ID's band (or Gen2 'filter') for a dataset of ``band`` (None: not per band)."""
    if "filter" in data_id:
        return (
            f"'filter' is a Gen2 key. Gen3 coadd data IDs name the band instead: 'band': '{band}' "
            f"(the physical filter {gen2_filter!r} belongs to the band '{band}')."
            if band is not None
            else "'filter' is a Gen2 key; this dataset has no band in Gen3 (it merges all bands), so leave it out."
        )
    if band is not None:
        if "band" not in data_id:
            return f"the data ID needs a band: this dataset has one table per band; add 'band': '{band}'."
        given_band = data_id["band"]
        if isinstance(given_band, str) and given_band == gen2_filter:
            return (
                f"band values are short names: 'band': '{band}'. {gen2_filter!r} is the physical_filter "
                "(the filter in the camera), not the band."
            )
        if given_band != band:
            return f"'band': {given_band!r} is not the band of {gen2_filter!r}; that band is '{band}'."
    elif "band" in data_id:
        return "this dataset is not per band (its Gen2 filter merges all bands): remove 'band'."
    return None


def _patch_problem(data_id: Mapping, x: int, y: int, nx: int) -> str | None:
    """What is wrong with the data ID's patch for Gen2 patch ``'x,y'`` of a tract ``nx`` patches wide, or None."""
    patch_id = nx * y + x
    if "patch" not in data_id:
        return f"the data ID needs a patch: add 'patch': <the Gen3 id of Gen2 patch '{x},{y}'>."
    given_patch = data_id["patch"]
    if isinstance(given_patch, str):
        return (
            f"'patch': {given_patch!r} is a Gen2 patch name. Gen3 patch ids are integers counted row by row: "
            f"id = nx * y + x with nx = {nx} patches along x."
        )
    given_patch_int = _as_int(given_patch)
    if given_patch_int is None:
        return f"'patch' must be an integer id; got {given_patch!r}."
    if given_patch_int != patch_id:
        if given_patch_int == nx * x + y and x != y:
            return f"x and y are swapped: Gen2 patch '{x},{y}' means x = {x}, y = {y}, and id = nx * y + x (nx = {nx})."
        return (
            f"'patch': {given_patch_int} is not Gen2 patch '{x},{y}': id = nx * y + x with x = {x}, y = {y}, nx = {nx}."
        )
    return None


@self_check
def check_gen3_data_id(answer: Any, gen2_data_id: Mapping, *, skymap: SkyMap | None = None) -> CheckResult:
    """Check a Gen3 data ID written for a Gen2 one, e.g. ``{'filter': 'HSC-I', 'tract': 0, 'patch': '2,1'}``.

    Parameters
    ----------
    answer : dict or lsst.daf.butler.DataCoordinate
        The learner's Gen3 data ID.
    gen2_data_id : dict
        The Gen2 data ID of the old lesson: ``filter`` (``'HSC-I'``; a merged ``'HSC-R^HSC-I'`` means the
        dataset has no band, as ``deepCoadd_ref``), ``tract`` and ``patch`` (``"x,y"``).
    skymap : tutorial_lib.skymap.SkyMap, optional
        The repository's sky map: its name and its tracts' number of patches along x. Default: the lesson's
        ``'discrete'`` sky map with 3 x 3 patches per tract.

    Returns
    -------
    CheckResult
        Right when the answer has exactly the keys ``skymap``, ``tract``, ``patch`` (and ``band``) with the
        values the Butler expects; otherwise says which key is wrong and why.
    """
    data_id = _as_dict(answer)
    if data_id is None:
        return wrong(
            f"a data ID is a dict such as {{'skymap': 'discrete', 'tract': 0, 'patch': 4, 'band': 'r'}}; "
            f"got a {type(answer).__name__}."
        )
    skymap_name = getattr(skymap, "name", None) or "discrete"
    tract_id = int(gen2_data_id["tract"])
    try:
        nx = skymap[tract_id].getNumPatches()[0] if skymap is not None else 3
    except (KeyError, IndexError, TypeError):
        nx = 3
    x, y = (int(part) for part in str(gen2_data_id["patch"]).split(","))
    patch_id = nx * y + x
    gen2_filter = gen2_data_id.get("filter")
    band = _gen2_filter_to_band(gen2_filter) if gen2_filter is not None else None
    expected = {"skymap": skymap_name, "tract": tract_id, "patch": patch_id}
    if band is not None:
        expected["band"] = band

    problem = _band_problem(data_id, band, gen2_filter) or _patch_problem(data_id, x, y, nx)
    if problem is not None:
        return wrong(problem)

    if "tract" not in data_id:
        return wrong(f"the data ID needs a tract: add 'tract': {tract_id}.")
    if _as_int(data_id["tract"]) != tract_id:
        return wrong(f"'tract': {data_id['tract']!r} is not the tract of the Gen2 data ID ({tract_id}).")
    if "skymap" not in data_id:
        return wrong(
            f"Gen3 coadd data IDs also name the sky map, because tract and patch numbers only mean something "
            f"within one sky map: add 'skymap': '{skymap_name}'."
        )
    if data_id["skymap"] != skymap_name:
        return wrong(f"'skymap': {data_id['skymap']!r} is not this repository's sky map ('{skymap_name}').")
    extra = sorted(set(data_id) - set(expected))
    if extra:
        return wrong(
            f"remove {', '.join(map(repr, extra))}: the dataset's dimensions are only {', '.join(map(repr, expected))}."
        )
    return right(
        f"{expected}. Gen2 patch '{x},{y}' is x = {x}, y = {y}, so its Gen3 id is {nx} * {y} + {x} = {patch_id}."
    )


# --- lesson 1 -----------------------------------------------------------------------------------------------
@self_check
def check_flux_columns(answer: Any, table: Table, *, suffix: str = "_instFlux") -> CheckResult:
    """Check a list of the table's instrumental-flux columns (names ending in ``suffix``), in any order.

    Parameters
    ----------
    answer : list of str
        The learner's column names.
    table : astropy.table.Table
        The forced-photometry table whose columns were searched.
    suffix : str, optional
        How the wanted names end; ``_instFlux`` (fluxes, not their ``_instFluxErr`` uncertainties).

    Returns
    -------
    CheckResult
    """
    if isinstance(answer, str):
        return wrong("give a list of column names, e.g. ['a', 'b'], not one string.")
    if not isinstance(answer, Iterable):
        return wrong(f"give a list of column names; got a {type(answer).__name__}.")
    names = list(answer)
    not_text = [name for name in names if not isinstance(name, str)]
    if not_text:
        return wrong(
            f"give the column names (strings), not the columns themselves; got a {type(not_text[0]).__name__}."
        )
    colnames = list(table.colnames)
    expected = [name for name in colnames if name.endswith(suffix)]
    given = set(names)
    unknown = sorted(given - set(colnames))
    if unknown:
        return wrong(f"not columns of this table: {', '.join(unknown)} (check the spelling against table.colnames).")
    errors = sorted(name for name in given if name.endswith(suffix + "Err"))
    if errors:
        return wrong(
            f"{len(errors)} of these are uncertainties ({errors[0]}, ...): the pattern also matched "
            f"'{suffix}Err'. Anchor it at the end: fnmatch '*{suffix}' or the regex r'{suffix}$'."
        )
    others = sorted(given - set(expected))
    if others:
        if len(others) == 1:
            return wrong(f"{others[0]} is not a flux column (it does not end in '{suffix}').")
        return wrong(f"{', '.join(others)} are not flux columns (they do not end in '{suffix}').")
    missing = [name for name in expected if name not in given]
    if missing:
        return wrong(
            f"{len(missing)} flux column{'s are' if len(missing) != 1 else ' is'} missing, e.g. {missing[0]}: "
            f"search all of table.colnames for names ending in '{suffix}'."
        )
    if len(names) != len(given):
        return wrong("some names appear twice; list each column once.")
    return right(
        f"the table has {len(expected)} flux columns: {', '.join(expected)}. "
        f"Each has a matching '{suffix}Err' uncertainty."
    )


@self_check
def check_multiband_table(
    answer: Any,
    ref: Table,
    forced: Mapping,
    *,
    flux: str = "base_PsfFlux",
    name: str = "{band}_psfInstFlux",
) -> CheckResult:
    """Check a one-row-per-object table of ``id`` and one flux column per band, built from the forced tables.

    Parameters
    ----------
    answer : astropy.table.Table
        The learner's table.
    ref : astropy.table.Table
        The patch's ``deepCoadd_ref`` table: the answer must have its rows, in its order.
    forced : mapping of str to astropy.table.Table
        ``{band: deepCoadd_forced_src table}`` of the same patch.
    flux : str, optional
        Measurement whose ``<flux>_instFlux`` column goes into the answer.
    name : str, optional
        Name of each band's column in the answer, with ``{band}`` replaced by the band.

    Returns
    -------
    CheckResult
    """
    if not hasattr(answer, "colnames"):
        return wrong(f"build an astropy Table (astropy.table.Table); got a {type(answer).__name__}.")
    bands = list(forced)
    wanted = ["id"] + [name.format(band=band) for band in bands]
    missing = [column for column in wanted if column not in answer.colnames]
    if missing:
        return wrong(f"the table needs the columns {', '.join(wanted)}; missing: {', '.join(missing)}.")
    n_ref, n = len(ref), len(answer)
    if n != n_ref:
        hint = (
            " Keep every row, even those with NaN fluxes or flags: row k must stay the same object in every "
            "band and in deepCoadd_ref. Select rows later, with one mask for all bands."
        )
        return wrong(f"the table has {n:,} rows but the patch has {n_ref:,}.{hint}")
    ref_ids = np.asarray(ref["id"])
    ids = np.asarray(answer["id"])
    if not np.array_equal(ids, ref_ids):
        if np.array_equal(np.sort(ids), np.sort(ref_ids)):
            return wrong(
                "the rows are re-ordered: keep deepCoadd_ref's order (do not sort), so that row k of your "
                "table is row k of every forced table."
            )
        return wrong("the id column differs from deepCoadd_ref's ids: take it from ref['id'] (or any forced table).")
    for band in bands:
        problem = _flux_column_problem(answer, forced, band, name.format(band=band), flux)
        if problem is not None:
            return wrong(problem)
    return right(
        f"{n:,} rows in deepCoadd_ref's order, with {', '.join(wanted[1:])}. Because the tables are row-for-row, "
        "no matching by position was needed."
    )


def _flux_column_problem(answer: Table, forced: Mapping[str, Table], band: str, column: str, flux: str) -> str | None:
    """What is wrong with the answer's flux column of ``band`` (None if nothing)."""
    values, fluxes = floats(answer[column]), floats(forced[band][f"{flux}_instFlux"])
    if _same(values, fluxes):
        return None
    usable = np.isfinite(values) & np.isfinite(fluxes) & (fluxes != 0)
    ratio = float(values[usable][0] / fluxes[usable][0]) if usable.any() else 1.0
    mistakes: dict[str, Any] = {
        f"the column {column} holds the {other}-band fluxes; take it from forced['{band}'].": floats(
            table[f"{flux}_instFlux"]
        )
        for other, table in forced.items()
        if other != band
    }
    mistakes[f"the column {column} holds the uncertainties ({flux}_instFluxErr), not the fluxes."] = floats(
        forced[band][f"{flux}_instFluxErr"]
    )
    scaled = (
        f"the column {column} has the opposite sign of the {flux}_instFlux column: copy it as it is (a negative "
        "forced flux stays negative)."
        if np.isclose(ratio, -1.0)
        else f"the column {column} is {ratio:.4g} times the {flux}_instFlux column: this exercise keeps the "
        "instrumental fluxes in counts (lesson 2 calibrates them)."
    )
    mistakes[scaled] = None if np.isclose(ratio, 1.0) else ratio * fluxes
    n_bad = int(np.count_nonzero(~np.isclose(values, fluxes, rtol=_COPY_RTOL, atol=0.0, equal_nan=True)))
    return first_mistake(values, mistakes, _same) or (
        f"the column {column} differs from forced['{band}']['{flux}_instFlux'] in {n_bad} rows."
    )
