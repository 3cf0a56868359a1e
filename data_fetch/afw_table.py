"""Read and write LSST ``afw.table`` FITS catalogs (``src``, ``deepCoadd_meas``, ``forced_src``) without afw.

The layout is the one written by afw ``src/table/io/FitsWriter.cc`` and read back by
``src/table/io/FitsSchemaInputMapper.cc``:

* HDU 0 is an empty primary HDU; HDU 1 is a BINTABLE holding the catalog. Further HDUs (``AR_HDU`` points at
  the first) are the afw persistence archive (Footprints, PSFs, ...); they are not read here.
* Every ``Flag`` field of the schema is packed into one bit column, conventionally column 1 named ``flags``,
  with ``TFORM = '<n>X'`` and the header key ``FLAGCOL`` giving its (1-based) column number. Bit ``k``
  (1-based) is named by ``TFLAGk`` and documented by ``TFDOCk``. FITS stores bit 1 in the most significant bit
  of the first byte; astropy returns the column as an ``(nrows, n)`` bool array.
* The other fields are ordinary columns: ``TTYPEn``, ``TFORMn``, optional ``TUNITn``, the description in
  ``TDOCn`` and the afw field class in ``TCCLSn`` (``Scalar``, ``Angle``, ``Array`` or ``String``). ``Angle``
  columns are stored in radians with ``TUNIT = 'rad'``.
* ``AFW_TYPE`` (``'SOURCE'`` for a SourceCatalog) and ``AFW_TABLE_VERSION`` identify the file; repeated
  ``ALIAS = 'alias:target'`` cards hold the schema's alias map (the slots, e.g.
  ``slot_PsfFlux:base_PsfFlux``).

Table versions differ only in field naming: version 1 wrote uncertainties as ``*Sigma``
(``base_PsfFlux_fluxSigma``), version 2 as ``*Err`` (RFC-333), version 3 calls instrumental fluxes
``instFlux`` (``base_PsfFlux_instFlux``, RFC-322). afw reads old files by adding aliases from the new names to
the old ones; :func:`read_source_catalog` with ``modernize=True`` instead renames the columns, using the same
rules, so that lessons written for current names also work on old files.

Column order
    afw writes the ``TTYPEn`` and ``TFLAGk`` cards in schema order, so the card order in the header records
    where each flag sat among the other fields. :func:`read_source_catalog` restores that order: flag columns
    come right after the measurement they belong to (``base_PsfFlux_flag`` follows ``base_PsfFlux_area``),
    which is the order ``lsst.afw.table.SourceCatalog.asAstropy()`` gives. (pipe_tasks' ``deepCoadd_obj``
    parquet tables instead sort columns by name.) :func:`write_source_catalog` writes the cards in that
    interleaved order, so the order survives a round trip.

Aliases
    Aliases are kept as a dict in ``table.meta['aliases']`` and applied by :func:`resolve_alias`, with afw's
    ``AliasMap`` semantics (prefix substitution). They are not added as extra columns: the slot aliases are
    prefixes (``slot_Centroid`` stands for ``base_SdssCentroid_x``, ``_y``, ``_flag``, ...), so materialising
    them would add dozens of duplicate columns and break round trips. (pipe_tasks' ``deepCoadd_obj`` tables
    do carry the full-name flag aliases, e.g. ``base_PsfFlux_flag_badCentroid``, as columns.)
"""

from __future__ import annotations

import errno
import io
import os
import re
import warnings
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Column, MaskedColumn, Table

from .safety import atomic_write

__all__ = ["SUPPORTED_VERSIONS", "read_source_catalog", "resolve_alias", "write_source_catalog"]

#: ``AFW_TABLE_VERSION`` values this module reads and writes.
SUPPORTED_VERSIONS = (1, 2, 3)

_FLAG_COLUMN_NAME = "flags"
_TCCLS_COMMENT = "Field template used by lsst.afw.table"
_STANDARD_KEYS = frozenset(
    {"XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP"}
    | {"FLAGCOL", "AFW_TABLE_VERSION", "AFW_TYPE", "AR_HDU", "ALIAS", "COMMENT", "HISTORY", ""}
)
_COLUMN_KEY_RE = re.compile(r"(?P<kind>T[A-Z]+?)(?P<num>\d+)")
_TABLE_KEY_KINDS = frozenset(
    {"TTYPE", "TFORM", "TUNIT", "TDOC", "TCCLS", "TFLAG", "TFDOC", "TDIM", "TZERO", "TSCAL", "TNULL", "TDISP"}
)
_ORDER_KEY_RE = re.compile(r"(TTYPE|TFLAG)(\d+)")
_BIT_TFORM_RE = re.compile(r"(\d*)X(\(\d*\))?")

# Units that mark an instrumental flux (afw ``isInstFlux``: the lower-cased TUNIT contains one of these).
_INST_FLUX_UNIT_WORDS = ("count", "dn", "adu")
_INST_FLUX_UNITS = (u.ct, u.adu, u.DN)

# Renames that afw's mechanical rule gets wrong: meas_base renamed the Blendedness fields by hand
# (``base_Blendedness_raw_flux_child`` became ``base_Blendedness_raw_child_instFlux``, and the dimensionless
# ``base_Blendedness_raw_flux`` became ``base_Blendedness_raw``).
_SPECIAL_RENAMES = (
    (
        re.compile(r"(?P<stem>.*_Blendedness_(?:raw|abs))_flux_(?P<who>child|parent)"),
        r"\g<stem>_\g<who>_instFlux",
    ),
    (re.compile(r"(?P<stem>.*_Blendedness_(?:raw|abs))_flux"), r"\g<stem>"),
)

# afw writes these unit names; astropy's short forms (ct, pix, s) would also parse, but afw's own reader
# recognises instrumental fluxes in old files by the word "count".
_AFW_UNIT_NAMES = {"ct": "count", "pix": "pixel", "s": "second"}


# ---------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------


def read_source_catalog(path: str | os.PathLike, modernize: bool = False) -> Table:
    """Read an afw-written FITS catalog into an astropy Table.

    Parameters
    ----------
    path : str or os.PathLike
        FITS file written by ``lsst.afw.table`` (e.g. a Butler ``src``, ``deepCoadd_meas``,
        ``deepCoadd_forced_src`` or ``deepCoadd_ref`` dataset).
    modernize : bool, optional
        Rename fields of ``AFW_TABLE_VERSION`` 1 and 2 files to the current (version 3) names, with the rules
        afw uses to alias them: a name ending in ``Sigma`` gets ``Err`` (version 1 only), and ``flux`` becomes
        ``instFlux`` in columns that are instrumental fluxes (unit containing count, DN or ADU, or a
        ``modelfit_CModel`` column without unit, as CModel was written before DM-16068). So
        ``base_PsfFlux_flux`` -> ``base_PsfFlux_instFlux``, ``base_PsfFlux_fluxSigma`` and ``_fluxErr`` ->
        ``base_PsfFlux_instFluxErr``, ``base_SdssCentroid_xSigma`` -> ``base_SdssCentroid_xErr``. Flag
        columns are never renamed (``base_PsfFlux_flag`` is already current). The Blendedness fields get their
        current meas_base names, and the unitless CModel fluxes of old files get their unit, ``ct``.
        Renames are listed in ``meta['renamed']``; alias targets follow them.

    Returns
    -------
    astropy.table.Table
        One column per field and one bool column per flag bit, in the file's schema order (flags next to
        the measurement they belong to; see the module docstring). Columns carry ``unit`` (``rad`` for
        ``Angle`` fields) and ``description`` (``TDOCn`` / ``TFDOCn``). Array fields are 2-d columns,
        strings are ``str``. ``meta`` holds ``AFW_TABLE_VERSION``, ``AFW_TYPE`` (when present),
        ``aliases`` (dict alias -> target, see :func:`resolve_alias`), ``renamed`` (dict old -> new,
        empty unless ``modernize``) and ``metadata`` (the remaining header cards, e.g. the aperture radii;
        a key that repeats maps to a list).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not FITS, or HDU 1 is not an afw catalog (no ``FLAGCOL``/``TFLAGn`` flag columns and no
        ``AFW_TYPE``), or its table version is not one of :data:`SUPPORTED_VERSIONS`.

    Examples
    --------
    >>> src = read_source_catalog("src.fits", modernize=True)  # doctest: +SKIP
    >>> src[resolve_alias(src, "slot_PsfFlux_instFlux")].unit  # doctest: +SKIP
    Unit("ct")
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, f"afw catalog file not found: {path}", str(path))
    with warnings.catch_warnings():  # "File may have been truncated": _check_complete says it in one line
        warnings.filterwarnings("ignore", message="File may have been truncated")
        try:
            hdul = fits.open(path, memmap=False)
        except OSError as err:
            if err.errno is not None:  # a real I/O problem (permissions, ...), not a malformed file
                raise
            raise ValueError(f"{path} is not a FITS file ({err}); expected an afw.table FITS catalog") from err
        with hdul:
            if len(hdul) < 2 or not isinstance(hdul[1], fits.BinTableHDU):
                raise ValueError(
                    f"{path} is not an afw.table catalog: expected an empty primary HDU followed by a binary "
                    f"table (BINTABLE) in HDU 1, found {[type(hdu).__name__ for hdu in hdul]}"
                )
            hdu = hdul[1]
            header = hdu.header
            version = _check_afw_header(header, path)
            _check_complete(hdul, path)
            columns, renamed = _read_columns(hdu, path, version, modernize)
            aliases = _read_aliases(header, path)
            metadata = _read_metadata(header)

    table = Table(columns, copy=False)
    if renamed:
        aliases = {alias: renamed.get(target, target) for alias, target in aliases.items()}
    table.meta["AFW_TABLE_VERSION"] = version
    if "AFW_TYPE" in header:
        table.meta["AFW_TYPE"] = str(header["AFW_TYPE"]).strip()
    table.meta["aliases"] = aliases
    table.meta["renamed"] = renamed
    table.meta["metadata"] = metadata
    return table


def _check_complete(hdul: fits.HDUList, path: Path) -> None:
    """Refuse a file cut short: the table's rows (``NAXIS1 * NAXIS2`` bytes and the heap) must all be there."""
    header = hdul[1].header
    rows = int(header["NAXIS1"]) * int(header["NAXIS2"])
    needed = hdul.fileinfo(1)["datLoc"] + rows + int(header.get("PCOUNT", 0))
    size = path.stat().st_size
    if size < needed:
        raise ValueError(
            f"{path} is truncated: its table of {int(header['NAXIS2']):,} rows needs {needed:,} bytes, the file has "
            f"{size:,}; it was cut short (an interrupted copy or download): get the file again."
        )


def _check_afw_header(header: fits.Header, path: Path) -> int:
    """Refuse non-afw tables and return the effective ``AFW_TABLE_VERSION``."""
    has_flags = "FLAGCOL" in header or any(key.startswith("TFLAG") for key in header)
    if not has_flags and "AFW_TYPE" not in header:
        found = ""
        if header.get("EXTTYPE") == "ARCHIVE_INDEX":
            found = (
                " It is an afw persistence archive (EXTTYPE='ARCHIVE_INDEX'), i.e. a persisted object such "
                "as a PhotoCalib, Psf or Wcs, not a catalog."
            )
        raise ValueError(
            f"{path} is not an afw.table catalog: HDU 1 has neither a packed flag column (FLAGCOL / TFLAGn "
            f"keys) nor an AFW_TYPE key, as afw's FitsWriter writes for a SourceCatalog.{found}"
        )
    # afw (DM-590): without AFW_TABLE_VERSION, a file with AFW_TYPE predates versioning (version 0).
    version = int(header.get("AFW_TABLE_VERSION", 0 if "AFW_TYPE" in header else SUPPORTED_VERSIONS[-1]))
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"{path} has AFW_TABLE_VERSION={version}; this reader supports versions {SUPPORTED_VERSIONS} "
            "(version 0 files, from before 2015, use dotted names and compound Point/Moments fields)"
        )
    return version


def _read_columns(
    hdu: fits.BinTableHDU, path: Path, version: int, modernize: bool
) -> tuple[list[Column], dict[str, str]]:
    """Build the table's columns in schema order; return them and the renames (old -> new)."""
    header = hdu.header
    data = hdu.data
    nrows = header["NAXIS2"]
    flag_col = _flag_column_number(header, hdu.columns, path)

    bits = None
    if flag_col is not None:
        tform = str(header[f"TFORM{flag_col}"]).strip()
        match = _BIT_TFORM_RE.fullmatch(tform)
        if match is None:
            raise ValueError(f"{path}: flag column {flag_col} has TFORM {tform!r}, not '<n>X'")
        n_bits = int(match.group(1) or 1)
        bits = np.asarray(data.field(flag_col - 1), dtype=bool).reshape(nrows, n_bits)

    columns: list[Column] = []
    renamed: dict[str, str] = {}
    seen_bits: set[int] = set()
    for card in header.cards:
        match = _ORDER_KEY_RE.fullmatch(card.keyword)
        if match is None:
            continue
        kind, number = match.group(1), int(match.group(2))
        if kind == "TFLAG":
            if bits is None or number > bits.shape[1]:
                width = 0 if bits is None else bits.shape[1]
                raise ValueError(f"{path}: TFLAG{number} names bit {number} of a flag column of {width} bits")
            name = str(card.value).strip()
            if not name:
                raise ValueError(
                    f"{path}: TFLAG{number} is empty, so flag bit {number} has no name; afw names every bit "
                    "(the file is damaged or was not written by afw)."
                )
            doc = str(header.get(f"TFDOC{number}", card.comment))
            columns.append(Column(np.ascontiguousarray(bits[:, number - 1]), name=name, description=doc))
            seen_bits.add(number)
        elif number != flag_col:
            columns.append(_read_field(header, data, number, version, modernize, renamed))
    if bits is not None and len(seen_bits) < bits.shape[1]:
        missing = sorted(set(range(1, bits.shape[1] + 1)) - seen_bits)
        warnings.warn(f"{path}: flag bits {missing} have no TFLAGn name and were skipped", stacklevel=3)

    names = [column.name for column in columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate field names {duplicates}")
    return columns, renamed


def _flag_column_number(header: fits.Header, coldefs: fits.ColDefs, path: Path) -> int | None:
    """1-based number of the packed flag column (``FLAGCOL``; else a bit column named ``flags``), or None."""
    if "FLAGCOL" in header:
        number = header["FLAGCOL"]
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(coldefs):
            raise ValueError(
                f"{path}: FLAGCOL = {number!r} names no column of this table of {len(coldefs)} columns; afw writes "
                "the number of its packed flag column (usually 1): the file is damaged or was not written by afw."
            )
        return number
    for number, column in enumerate(coldefs, start=1):
        if column.name == _FLAG_COLUMN_NAME and str(column.format).endswith("X"):
            return number
    return None


def _read_field(
    header: fits.Header, data: fits.FITS_rec, number: int, version: int, modernize: bool, renamed: dict
) -> Column:
    """Column ``number`` (1-based) as an astropy Column with unit and description."""
    name = str(header[f"TTYPE{number}"])
    tccls = str(header.get(f"TCCLS{number}", "Scalar")).strip()
    tunit = str(header.get(f"TUNIT{number}", "")).strip()
    # afw uses the TTYPE comment as the description when there is no TDOC.
    doc = str(header.get(f"TDOC{number}", header.comments[f"TTYPE{number}"]))
    values = np.asarray(data.field(number - 1))
    if values.dtype.kind in "SU":
        if values.dtype.kind == "S":
            values = np.char.decode(values, "ascii", "replace")
        values = np.char.rstrip(values.astype(str))
    elif values.dtype.kind != "O":
        values = values.astype(values.dtype.newbyteorder("="), copy=False)
        if tccls == "Array" and values.ndim == 1:  # a one-element Array field stays an array
            values = values.reshape(-1, 1)
    if tccls == "Angle" and not tunit:
        tunit = "rad"  # afw accepts Angle columns without TUNIT (old files); Angles are always radians
    unit = u.Unit(tunit, parse_strict="silent") if tunit else None

    if modernize and version < 3:
        new_name = _modern_name(name, tunit, version)
        if new_name != name:
            renamed[name] = new_name
            name = new_name
            if unit is None and "modelfit_CModel" in name and "instFlux" in name:
                unit = u.ct  # unitless before DM-16068, "should have been count" (afw)
    return Column(values, name=name, unit=unit, description=doc)


def _modern_name(name: str, tunit: str, version: int) -> str:
    """Current (version 3) name of a non-flag field of an older file (afw ``FitsSchemaInputMapper``)."""
    if version < 3:
        for pattern, replacement in _SPECIAL_RENAMES:
            if pattern.fullmatch(name):
                return pattern.sub(replacement, name)
    new = name
    if version < 2 and new.endswith("Sigma"):
        new = new.replace("Sigma", "Err", 1)
    if version < 3 and _is_inst_flux(name, tunit):
        new = new.replace("flux", "instFlux", 1)
    return new


def _is_inst_flux(name: str, tunit: str) -> bool:
    """afw's ``isInstFlux``: 'flux' in the name and an instrumental unit (or an unitless old CModel flux)."""
    if "flux" not in name:
        return False
    if "modelfit_CModel" in name and not tunit:
        return True  # CModel fluxes were written without units before DM-16068
    if any(word in tunit.lower() for word in _INST_FLUX_UNIT_WORDS):
        return True
    # Also accept astropy spellings ("ct"), which afw itself does not write.
    unit = u.Unit(tunit, parse_strict="silent") if tunit else None
    bases = getattr(unit, "bases", ())
    return any(base in _INST_FLUX_UNITS for base in bases)


def _read_aliases(header: fits.Header, path: Path) -> dict[str, str]:
    """The ``ALIAS = 'alias:target'`` cards as a dict in file order (as in afw, the first definition wins)."""
    aliases: dict[str, str] = {}
    for card in header.cards:
        if card.keyword != "ALIAS":
            continue
        alias, sep, target = str(card.value).partition(":")
        if not sep:
            raise ValueError(f"{path}: malformed alias definition {card.value!r} (expected 'alias:target')")
        aliases.setdefault(alias.strip(), target.strip())
    return aliases


def _read_metadata(header: fits.Header) -> dict[str, object]:
    """Header cards that do not describe the table layout (task metadata such as aperture radii)."""
    metadata: dict[str, object] = {}
    for card in header.cards:
        key = card.keyword
        match = _COLUMN_KEY_RE.fullmatch(key)
        if key in _STANDARD_KEYS or (match and match.group("kind") in _TABLE_KEY_KINDS):
            continue
        if key in metadata:
            previous = metadata[key]
            metadata[key] = [*previous, card.value] if isinstance(previous, list) else [previous, card.value]
        else:
            metadata[key] = card.value
    return metadata


# ---------------------------------------------------------------------------------------------------------
# Aliases
# ---------------------------------------------------------------------------------------------------------


def resolve_alias(table: Table, name: str) -> str:
    """Return the name of the column that ``name`` refers to, applying the table's afw aliases.

    A column of that name wins. Otherwise the aliases in ``table.meta['aliases']`` are applied as afw's
    ``AliasMap`` does (``src/table/AliasMap.cc``): an alias matches when it equals ``name`` or is a prefix of
    it, the matched prefix is replaced by the target, and this repeats until no alias matches. So with
    ``slot_PsfFlux -> base_PsfFlux``, ``slot_PsfFlux_instFlux`` resolves to ``base_PsfFlux_instFlux``. When
    several aliases are prefixes, the longest wins (afw finds the same one whenever it finds one). Finally, an
    old field name of a table read with ``modernize=True`` maps to its new name (``meta['renamed']``).

    Parameters
    ----------
    table : astropy.table.Table
        Table from :func:`read_source_catalog` (or any table with ``meta['aliases']``).
    name : str
        Column name, alias or alias-prefixed name, e.g. ``"slot_Centroid_x"``.

    Returns
    -------
    str
        A name in ``table.colnames``; use ``table[resolve_alias(table, name)]`` for the column.

    Raises
    ------
    KeyError
        If ``name`` does not resolve to a column (the message lists the resolution and near names).
    ValueError
        If the aliases form a cycle.
    """
    if name in table.colnames:
        return name
    aliases: Mapping[str, str] = table.meta.get("aliases", {}) or {}
    renamed: Mapping[str, str] = table.meta.get("renamed", {}) or {}
    resolved = name
    for _ in range(len(aliases) + 1):
        match = max((alias for alias in aliases if resolved.startswith(alias)), key=len, default=None)
        if match is None:
            break
        resolved = aliases[match] + resolved[len(match) :]
    else:
        raise ValueError(f"cycle in the table's aliases while resolving {name!r}")
    resolved = resolved if resolved in table.colnames else renamed.get(resolved, resolved)
    if resolved in table.colnames:
        return resolved
    near = [col for col in table.colnames if col.startswith(resolved)][:8]
    via = f" (resolved through aliases to {resolved!r})" if resolved != name else ""
    hint = f"; columns starting with it: {near}" if near else ""
    raise KeyError(f"no column {name!r} in the table{via}{hint}")


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------


def write_source_catalog(
    table: Table,
    path: str | os.PathLike,
    afw_table_version: int = 3,
    aliases: Mapping[str, str] | None = None,
) -> Path:
    """Write ``table`` as an afw SourceCatalog FITS file, atomically.

    The layout is afw's (see the module docstring): empty primary HDU; BINTABLE with every bool column
    packed into the bit column ``flags`` (column 1, ``FLAGCOL = 1``, names in ``TFLAGk``, descriptions in
    ``TFDOCk``); the other columns in table order with ``TDOCn`` (description), ``TUNITn`` (afw spelling,
    e.g. ``count``, ``pixel^2``) and ``TCCLSn``: ``String`` for text, ``Array`` for 2-d columns, ``Angle``
    for float64 columns in ``rad``, else ``Scalar``. The header cards follow the table's column order, so
    flags keep their place among the other fields when the file is read back. ``AFW_TYPE = 'SOURCE'``,
    ``AFW_TABLE_VERSION`` and one ``ALIAS`` card per alias follow, then ``table.meta['metadata']`` (as
    :func:`read_source_catalog` fills it) as plain header cards. No afw archive HDUs (Footprints) are
    written, and other ``meta`` entries are not stored.

    The file is written to a temporary file in the same directory and moved over ``path`` with
    :func:`os.replace`, so readers never see a half-written file and an existing ``path`` is replaced.

    Parameters
    ----------
    table : astropy.table.Table
        Catalog to write. Bool 1-d columns become flags. Other columns must be ints, floats, str, or 2-d
        arrays of those; masked values are only allowed in float columns (written as NaN).
    path : str or os.PathLike
        Destination file.
    afw_table_version : int, optional
        ``AFW_TABLE_VERSION`` to record (1, 2 or 3). Column names are written as they are: to make a file in
        an old layout, give the table old names (``base_PsfFlux_flux``, ``_fluxSigma``) and the old version. A
        warning is given when names and version disagree (e.g. ``_flux`` in counts with version 3).
    aliases : mapping, optional
        Alias -> target. Defaults to ``table.meta['aliases']`` (none if absent).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        For an unsupported version, a column named ``flags`` that is not a flag, masked non-float values,
        non-ASCII text or a malformed alias.
    TypeError
        For a column type the afw layout cannot hold (object, complex, float16, >2-d arrays).
    """
    if afw_table_version not in SUPPORTED_VERSIONS:
        raise ValueError(f"afw_table_version must be one of {SUPPORTED_VERSIONS}, not {afw_table_version!r}")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"directory does not exist: {path.parent}", str(path.parent))
    aliases = dict(table.meta.get("aliases", {}) if aliases is None else aliases)
    for alias, target in aliases.items():
        if not alias or ":" in alias or not target:
            raise ValueError(f"alias {alias!r} -> {target!r} cannot be written as 'alias:target'")
    _warn_on_old_names(table, afw_table_version)

    raw = _serialize(table, afw_table_version, aliases, dict(table.meta.get("metadata", {}) or {}))
    atomic_write(path, raw)
    return path


def _is_flag(column) -> bool:
    return column.dtype == np.bool_ and column.ndim == 1


def _filled(column, fill) -> np.ndarray:
    return np.asarray(column.filled(fill) if isinstance(column, MaskedColumn) else column)


def _warn_on_old_names(table: Table, version: int) -> None:
    """Warn when column names use a naming older than the ``AFW_TABLE_VERSION`` being written."""
    old = []
    for name in table.colnames:
        column = table[name]
        if _is_flag(column):
            continue
        tunit = _afw_unit_string(getattr(column, "unit", None)) or ""
        if (version >= 2 and name.endswith("Sigma")) or (version >= 3 and _is_inst_flux(name, tunit)):
            old.append(name)
    if old:
        warnings.warn(
            f"writing AFW_TABLE_VERSION={version}, but columns {old[:5]}{' ...' if len(old) > 5 else ''} use "
            "older naming (*Sigma / *_flux); afw will not alias them. Rename them (read with modernize=True) "
            "or write the version they come from.",
            UserWarning,
            stacklevel=3,
        )


def _serialize(table: Table, version: int, aliases: dict[str, str], metadata: dict) -> bytes:
    """The FITS file as bytes, with the BINTABLE header cards in afw's interleaved order."""
    flag_names = [name for name in table.colnames if _is_flag(table[name])]
    field_names = [name for name in table.colnames if not _is_flag(table[name])]
    if not table.colnames:
        raise ValueError("cannot write a table without columns")
    if _FLAG_COLUMN_NAME in table.colnames:
        raise ValueError(f"a column named {_FLAG_COLUMN_NAME!r} clashes with afw's packed flag column")

    fits_columns: list[fits.Column] = []
    cards: dict[str, list[fits.Card]] = {}  # afw cards to add, per logical item, in the order afw writes them
    if flag_names:
        bits = np.column_stack([_filled(table[name], False).astype(bool) for name in flag_names])
        bits = bits.reshape(len(table), len(flag_names))
        fits_columns.append(fits.Column(name=_FLAG_COLUMN_NAME, format=f"{len(flag_names)}X", array=bits))
        cards["flags"] = [fits.Card("FLAGCOL", 1, "Column number for the bitflags.")]
        for bit, name in enumerate(flag_names, start=1):
            cards[name] = [_card(f"TFLAG{bit}", name)]
            if table[name].info.description:
                cards[name].append(_card(f"TFDOC{bit}", str(table[name].info.description)))
    offset = len(fits_columns) + 1
    for number, name in enumerate(field_names, start=offset):
        column, tccls = _fits_column(table[name], name)
        fits_columns.append(column)
        cards[name] = []
        doc = table[name].info.description
        if doc:
            cards[name].append(_card(f"TDOC{number}", str(doc)))
        cards[name].append(_card(f"TCCLS{number}", tccls, _TCCLS_COMMENT))

    hdu = fits.BinTableHDU.from_columns(fits_columns, nrows=len(table))
    header = hdu.header
    for item_cards in cards.values():
        for card in item_cards:
            header.append(card)
    for alias, target in aliases.items():
        header.append(fits.Card("ALIAS", f"{alias}:{target}"))
    for key, value in metadata.items():
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str | int | float | bool):
                kind = type(item).__name__
                raise TypeError(f"metadata {key!r} has a value of type {kind}; FITS cards hold scalars")
            header.append(_card(key, item))
    header.append(_card("AFW_TABLE_VERSION", version))
    header.append(fits.Card("AFW_TYPE", "SOURCE", "Tells lsst::afw to load this as a Source table."))
    # The comment afw puts on TTYPEn is the (truncated) description; handy in fitsheader listings.
    for number, name in enumerate(field_names, start=offset):
        doc = str(table[name].info.description or "")
        _set_short_comment(header, f"TTYPE{number}", doc)
    if flag_names:
        _set_short_comment(header, "TTYPE1", "bits for all Flag fields; see also TFLAGn")

    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
    return _reorder_table_header(buffer.getvalue(), table.colnames, flag_names, field_names, offset)


def _fits_column(column, name: str) -> tuple[fits.Column, str]:
    """A FITS column (with afw's TUNIT spelling) for a non-flag table column, and its afw TCCLS."""
    values = column
    if isinstance(column, MaskedColumn):
        if column.mask.any() and column.dtype.kind != "f":
            raise ValueError(f"column {name!r} has masked values; afw tables have no nulls, fill them first")
        values = column.filled(np.nan) if column.dtype.kind == "f" else column.data.data
    unit = getattr(column, "unit", None)
    tunit = _afw_unit_string(unit)
    values = np.asarray(getattr(values, "value", values))
    kind, size = values.dtype.kind, values.dtype.itemsize
    if values.ndim > 2:
        raise TypeError(f"column {name!r} is {values.ndim - 1}-d per row; afw Array fields are 1-d")
    repeat = values.shape[1] if values.ndim == 2 else 1
    bzero = None
    if kind in "SU":
        try:
            encoded = np.char.encode(values.astype(str), "ascii")
        except UnicodeEncodeError as err:
            raise ValueError(f"column {name!r} has non-ASCII text, which FITS 'A' columns can't hold") from err
        width = max(1, encoded.dtype.itemsize)
        return fits.Column(name=name, format=f"{width}A", unit=tunit, array=encoded), "String"
    if kind == "f" and size in (4, 8):
        code = "E" if size == 4 else "D"
    elif kind == "i" and size in (2, 4, 8):
        code = {2: "I", 4: "J", 8: "K"}[size]
    elif kind == "u" and size == 1:
        code = "B"
    elif kind == "u" and size in (2, 4, 8):
        code, bzero = {2: "I", 4: "J", 8: "K"}[size], 2 ** (8 * size - 1)
    elif kind == "i" and size == 1:
        code, bzero = "B", -128
    elif kind == "b":
        code = "L"
    else:
        raise TypeError(f"column {name!r} has dtype {values.dtype}, which an afw table cannot hold")
    column_def = fits.Column(name=name, format=f"{repeat}{code}", unit=tunit, array=values, bzero=bzero)
    if values.ndim == 2:
        tccls = "Array"
    elif kind == "f" and size == 8 and unit is not None and unit == u.rad:
        tccls = "Angle"
    else:
        tccls = "Scalar"
    return column_def, tccls


def _afw_unit_string(unit) -> str | None:
    """Unit as afw spells it (``count``, ``pixel^2``, ``count*pixel^2``), or None for no unit."""
    if unit is None:
        return None
    if isinstance(unit, u.UnrecognizedUnit):
        return unit.name
    unit = u.Unit(unit)
    if unit == u.dimensionless_unscaled:
        return None
    if unit.scale != 1 or any(Fraction(p).denominator != 1 for p in unit.powers):
        return unit.to_string()
    # Instrumental-flux bases first, so the string reads like afw's ("count*pixel^2").
    terms = sorted(zip(unit.bases, unit.powers, strict=True), key=lambda bp: bp[0] not in _INST_FLUX_UNITS)

    def spell(base, power: int) -> str:
        text = _AFW_UNIT_NAMES.get(base.to_string(), base.to_string())
        return text if power == 1 else f"{text}^{power}"

    numerator = [spell(base, int(p)) for base, p in terms if p > 0]
    denominator = [spell(base, -int(p)) for base, p in terms if p < 0]
    if numerator:
        text = "*".join(numerator) + "".join(f"/{term}" for term in denominator)
    else:
        text = "*".join(spell(base, int(p)) for base, p in terms)
    return text if u.Unit(text, parse_strict="silent") == unit else unit.to_string()


def _card(key: str, value, comment: str = "") -> fits.Card:
    """A header card; keys that are not standard FITS keywords become HIERARCH cards, as afw writes them."""
    if len(key) > 8 or not re.fullmatch(r"[A-Z0-9_-]+", key):
        key = f"HIERARCH {key}"
    return fits.Card(key, value, comment)


def _set_short_comment(header: fits.Header, key: str, comment: str) -> None:
    """Set a comment only as far as it fits on the card (longer ones are cut, silently)."""
    room = 80 - len(fits.Card(key, header[key], "x").image.rstrip()) + 1  # the "x" stands for the comment
    if comment and room > 8 and len(header[key]) <= 68:
        header.comments[key] = comment[:room]


def _reorder_table_header(
    raw: bytes, colnames: list[str], flag_names: list[str], field_names: list[str], offset: int
) -> bytes:
    """Reorder the BINTABLE header cards into afw's order, keeping every card and the data block unchanged.

    astropy always writes TTYPE/TFORM/TUNIT... as one block after TFIELDS, but afw (and hence the column
    order a reader recovers) interleaves each field's TTYPEn/TFORMn/TDOCn/TUNITn/TCCLSn with the TFLAGk/TFDOCk
    cards of the flags, in schema order. Reordering cards keeps the header length, so the bytes are patched.
    """
    with fits.open(io.BytesIO(raw)) as hdul:
        info = hdul[1].fileinfo()
        written = hdul[1].header.copy()
    by_column: dict[int, list[str]] = {}
    for card in written.cards:
        match = _COLUMN_KEY_RE.fullmatch(card.keyword)
        if match and match.group("kind") in _TABLE_KEY_KINDS - {"TFLAG", "TFDOC"}:
            by_column.setdefault(int(match.group("num")), []).append(card.keyword)

    def column_keys(number: int) -> list[str]:
        keys = by_column.get(number, [])
        first = [f"TTYPE{number}", f"TFORM{number}", f"TDOC{number}", f"TUNIT{number}"]
        last = [f"TCCLS{number}"]
        rest = [key for key in keys if key not in first and key not in last]
        return [key for key in first + rest + last if key in keys]

    order: list[str] = []
    if flag_names:
        order += column_keys(1) + ["FLAGCOL"]
    bit_of = {name: bit for bit, name in enumerate(flag_names, start=1)}
    number_of = {name: number for number, name in enumerate(field_names, start=offset)}
    for name in colnames:
        if name in bit_of:
            bit = bit_of[name]
            order += [key for key in (f"TFLAG{bit}", f"TFDOC{bit}") if key in written]
        else:
            order += column_keys(number_of[name])

    tfields_at = written.index("TFIELDS") + 1
    placed = set(order)
    cards = list(written.cards)
    new_cards = cards[:tfields_at] + [written.cards[key] for key in order]
    new_cards += [card for card in cards[tfields_at:] if card.keyword not in placed]
    new_header = fits.Header(new_cards)
    block = new_header.tostring().encode("ascii")
    start, stop = info["hdrLoc"], info["datLoc"]
    if len(new_cards) != len(cards) or len(block) != stop - start:
        raise RuntimeError("internal error: reordering the afw header changed its size")  # pragma: no cover
    return raw[:start] + block + raw[stop:]
