"""The original lesson's real HSC data: download them from Git LFS and ingest them into the Butler repository.

``python -m data_fetch download hsc-validation`` runs :func:`download_and_ingest`.

Where the data are
    The 2018 lesson read Gen2 ``ci_hsc`` outputs of rerun ``20160805``. They are kept in the public GitHub
    repository ``lsst-dm/legacy-validation_data_hsc``, whose large files are Git LFS objects on Rubin's LFS server
    (its ``.lfsconfig``: ``lfs.url = https://git-lfs.lsst.cloud/lsst-dm/legacy-validation_data_hsc``). The
    repository itself holds only the LFS pointer files; :data:`FILES` copies, from them, the SHA-256 and size of
    the five files of tract 0, Gen2 patch ``10,7`` that the lesson needs. Downloads are checked against them.

What is downloaded
    The reference table (``ref``, 84.7 MB) and the forced photometry in r and i (``forced_src``, 2.7 MB each)
    whole; of the two coadds (``calexp``, 177 and 178 MB) only the FITS headers, by a ranged request, since the
    lessons need their calibration (the ``FLUXMAG0`` keyword) and geometry, not their pixels. If the server
    ignores ranges, the command says so and downloads the whole calexp. See :mod:`data_fetch.download`.

How it is ingested
    Into the same Butler repository as the simulated data, as the RUN collection :data:`RUN` with the CHAINED
    collection :data:`CHAIN` over it, and its own sky map :data:`SKYMAP_NAME` beside the simulated ``discrete``
    one. Dataset type names are those of the simulated data, since the content matches:

    - ``deepCoadd_ref`` and ``deepCoadd_forced_src`` (bands r and i): the afw FITS tables read with
      :func:`data_fetch.afw_table.read_source_catalog` and ``modernize=True``, so the 2016 names
      (``base_PsfFlux_flux``, ``base_PsfFlux_fluxSigma``) become today's (``base_PsfFlux_instFlux``,
      ``base_PsfFlux_instFluxErr``); each renamed column's description ends with its Gen2 name. Every column is
      kept, with its unit and description.
    - The forced tables are **matched to the reference rows**. Gen2 forced photometry gives each forced row its
      own ``id`` and links it to the reference table through ``objectId`` (and ``parentObjectId``), as the
      rerun's configuration says (``forcedPhotCoadd.copyColumns = {'id': 'objectId', 'parent':
      'parentObjectId', 'deblend_nChild': 'deblend_nChild'}``). The ingest reorders each forced table so that
      row k has ``objectId == ref['id'][k]``: the tables are then row for row with the reference table, as the
      simulated ones are, while every column, the forced ``id`` and ``objectId`` included, keeps its value. A
      reference row with no forced row (none is expected: forced photometry measures every reference object)
      gets a filler row: NaN measurements, measurement failure flags (``*_flag``) set, other flags unset,
      ``id = 0``, and ``objectId``, ``parentObjectId`` and ``deblend_nChild`` from the reference row. A forced
      row whose ``objectId`` is not in the reference table is left out. Both are counted and reported.
      Because the forced ``id`` is not the reference ``id``, ``Selection`` needs ``match_column="objectId"``.
    - ``deepCoadd_calexp``: a :class:`~tutorial_lib.exposure.CoaddExposure` holding the calibration,
      ``PhotoCalib.from_fluxmag0(FLUXMAG0, FLUXMAG0ERR)``, and the primary header's keywords as ``metadata``.
    - ``skyMap``: a :class:`~tutorial_lib.skymap.SkyMap` named :data:`SKYMAP_NAME`, built by
      :func:`skymap_from_calexp_header` from the calexp's WCS and position in the tract (see there). It is not
      the simulated sky map: patch ``10,7`` belongs to a larger tract 0.

    Nothing else is there: no g band and no ``truth_match`` table. The forced tables of this rerun have no
    ``base_ClassificationExtendedness`` (it was not run in forced photometry) and no CModel; the reference table's
    extendedness was measured in each object's reference band from the Gaussian and PSF fluxes
    (``fluxRatio = 0.925``; ``DATA/rerun/20160805/config/multiBandDriver.py``).

    The write never touches the repository in place: under a lock, the repository is copied into a staging folder
    beside it (or a new one is made there), the run is written there in one Butler transaction, the manifest is
    written, and the result is swapped into place (:mod:`data_fetch.safety`). ``--force`` removes the earlier run in
    the copy, so a kill at any moment leaves the old repository whole.

Trusting a header read by range
    A calexp header read with an HTTP Range request cannot be checked against the file's SHA-256. It is used (and
    cached) only when it agrees with the verified reference table: its WCS must put the table's
    ``coord_ra``/``coord_dec`` on its centroids within :data:`WCS_TOLERANCE_PIXELS`, and its zero point must lie
    in :data:`COADD_ZERO_POINT_RANGE`. Otherwise it is discarded and the whole calexp is downloaded and verified.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS, FITSFixedWarning

from tutorial_lib.exposure import CoaddExposure
from tutorial_lib.matching import MatchError, match_rows, take_table
from tutorial_lib.photocalib import PhotoCalib
from tutorial_lib.repository import MANIFEST_NAME, MARKER_NAME, check_repository, describe
from tutorial_lib.skymap import HSC_PATCH_BORDER, HSC_PATCH_INNER, SkyMap, TractInfo

from . import download, lfs, safety
from .afw_table import read_source_catalog
from .butler_repo import DATASET_TYPES, PHYSICAL_FILTERS, create_repository, make_chain, put_deterministic
from .manifest import foreign_files, write_manifest

__all__ = [
    "BANDS",
    "CHAIN",
    "FILES",
    "LFS_URL",
    "OFFLINE_HINT",
    "PATCH_INDEX",
    "RUN",
    "SKYMAP_NAME",
    "TRACT",
    "IngestError",
    "IngestSummary",
    "ValidationFile",
    "download_and_ingest",
    "match_forced_to_ref",
    "skymap_from_calexp_header",
]

#: The GitHub repository holding the pointer files, and its Git LFS server (``.lfsconfig``).
REPOSITORY = "lsst-dm/legacy-validation_data_hsc"
LFS_URL = "https://git-lfs.lsst.cloud/lsst-dm/legacy-validation_data_hsc"
RERUN = "20160805"
TRACT = 0
#: The lesson's patch, Gen2 name "10,7" (x, y).
PATCH_INDEX = (10, 7)
BANDS = ("r", "i")
SKYMAP_NAME = "hsc_validation"
RUN = "HSC/validation"
CHAIN = "validation"
#: Sub-folder of the download cache.
CACHE_SUBFOLDER = "hsc-validation"
#: Said with every network failure: the user can still do every lesson.
OFFLINE_HINT = (
    "Downloading the real HSC data needs internet access; the lessons' default, simulated data need none: "
    "`make data` (or `.venv/bin/python -m data_fetch simulate`)."
)


class IngestError(RuntimeError):
    """The downloaded files cannot be ingested as they are; the message says why. Nothing was written."""


@dataclass(frozen=True)
class ValidationFile:
    """One file of the data set: what it is, its path in the GitHub repository, and its LFS pointer."""

    kind: str  # "ref", "forced_src" or "calexp"
    band: str | None
    path: str
    oid: str | None
    size: int | None

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def key(self) -> str:
        return self.kind if self.band is None else f"{self.kind}-{self.band}"

    def remote(self) -> download.RemoteObject:
        """The LFS object to fetch; refuses a file whose pointer is not known."""
        if self.oid is None or self.size is None:
            raise IngestError(
                f"no Git LFS pointer (SHA-256 and size) is recorded for {self.path}, so it cannot be downloaded "
                "and verified; add its pointer to data_fetch.hsc_validation.FILES."
            )
        return download.RemoteObject(self.name, lfs.LFSPointer(self.oid, self.size), f"{REPOSITORY}:{self.path}")


_RESULTS = f"DATA/rerun/{RERUN}/deepCoadd-results"

#: The five files, with the SHA-256 and size of their LFS pointer files in ``lsst-dm/legacy-validation_data_hsc``
#: (read from the pointer files at the commits noted; each file has a single version in the repository's history).
FILES: tuple[ValidationFile, ...] = (
    # pointer at commit c48988570c8538ccbb2828c74e987dafc79b3b08
    ValidationFile(
        "ref",
        None,
        f"{_RESULTS}/merged/0/10,7/ref-0-10,7.fits",
        "59e4649dfb0f00ac5a358bf96825115bff93a7d6f96bf4885f66cc60c65d3fa7",
        84_689_280,
    ),
    # pointer at commit c48988570c8538ccbb2828c74e987dafc79b3b08
    ValidationFile(
        "forced_src",
        "r",
        f"{_RESULTS}/HSC-R/0/10,7/forced_src-HSC-R-0-10,7.fits",
        "5ffdd0015d78967f82019837a585af1a7a68a17397c3fe653130592a6fdbb4a7",
        2_664_000,
    ),
    # pointer at commit 275102688adff01c400b741e337dc8e54c7ae82e
    ValidationFile(
        "forced_src",
        "i",
        f"{_RESULTS}/HSC-I/0/10,7/forced_src-HSC-I-0-10,7.fits",
        "30776eca6799c18ffb39a796bce4b2ba86d4833e5f244c861aeff9e4fbbe9ffc",
        2_666_880,
    ),
    # pointer at commit 275102688adff01c400b741e337dc8e54c7ae82e
    ValidationFile(
        "calexp",
        "r",
        f"{_RESULTS}/HSC-R/0/10,7/calexp-HSC-R-0-10,7.fits",
        "967faca0b4f5cad078f672b5da0fc61688424473c66be11a110fd796044b267e",
        177_059_520,
    ),
    # pointer at commit c48988570c8538ccbb2828c74e987dafc79b3b08
    ValidationFile(
        "calexp",
        "i",
        f"{_RESULTS}/HSC-I/0/10,7/calexp-HSC-I-0-10,7.fits",
        "da32e3de407ab0d2a54e195b5d2e4e1c5107e6bdcafa28f8705836d371413659",
        177_603_840,
    ),
)

#: Bytes downloaded when the server allows ranged requests (the calexp headers add a few tens of kB).
DOWNLOAD_SIZE = sum(f.size or 0 for f in FILES if f.kind != "calexp")


# ---------------------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MatchReport:
    """How one forced table was matched to the reference rows through ``objectId``."""

    band: str
    n_forced: int
    n_ref: int
    n_matched: int
    n_filled: int  # reference rows without a forced row: filler rows
    n_dropped: int  # forced rows whose objectId is not a reference id: left out
    already_in_order: bool

    def __str__(self) -> str:
        text = f"{self.n_matched:,} of {self.n_ref:,} reference rows matched by objectId"
        if self.already_in_order:
            text += " (already in reference order)"
        if self.n_filled:
            text += f", {self.n_filled:,} without a forced row (filled)"
        if self.n_dropped:
            text += f", {self.n_dropped:,} forced rows not in the reference table (left out)"
        return text


@dataclass(frozen=True)
class SkyMapReport:
    """What was learnt from the calexp header about the tract, and how well the sky map record reproduces it."""

    num_patches: tuple[int, int]
    center_deg: tuple[float, float]
    pixel_scale_arcsec: float
    patch_id: int
    tangent_pixel: tuple[float, float]  # tract pixel (0-based) of the header WCS's CRVAL
    max_offset_pixels: float  # largest difference, over the patch, between the header WCS and the record's WCS


@dataclass
class IngestSummary:
    """What :func:`download_and_ingest` did."""

    repo: Path
    run: str = RUN
    chain: str = CHAIN
    skymap: str = SKYMAP_NAME
    tract: int = TRACT
    patch: int = -1
    patch_name: str = f"{PATCH_INDEX[0]},{PATCH_INDEX[1]}"
    n_ref: int = 0
    matches: dict[str, MatchReport] = field(default_factory=dict)
    zero_points: dict[str, float] = field(default_factory=dict)
    header_sources: dict[str, str] = field(default_factory=dict)
    skymap_report: SkyMapReport | None = None
    already_present: bool = False
    created_repository: bool = False

    @property
    def data_id(self) -> dict:
        return {"skymap": self.skymap, "tract": self.tract, "patch": self.patch}


# ---------------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------------
def read_catalog(path: str | os.PathLike) -> Table:
    """An afw FITS catalog as a Table with today's column names; renamed columns say their Gen2 name."""
    table = read_source_catalog(path, modernize=True)
    for old, new in table.meta.get("renamed", {}).items():
        description = table[new].info.description or ""
        table[new].info.description = f"{description} (Gen2 name: {old})".strip()
    table.meta.clear()  # aliases and header metadata: the Butler's Arrow tables do not keep them
    return table


def match_forced_to_ref(ref: Table, forced: Table, band: str) -> tuple[Table, MatchReport]:
    """``forced`` reordered to be row for row with ``ref`` through its ``objectId`` column.

    Row k of the result is the forced row with ``objectId == ref['id'][k]``; all columns keep their values.
    Reference rows without a forced row get a filler row, and forced rows whose ``objectId`` is not a reference
    id are left out (see the module docstring); the report counts both.

    Raises
    ------
    IngestError
        No ``objectId`` column, duplicate reference ids, or two forced rows for one object.
    """
    if "objectId" not in forced.colnames:
        raise IngestError(
            f"the {band}-band forced table has no 'objectId' column, so its rows cannot be matched to the reference "
            "table; is it a Gen2 forced_src catalog?"
        )
    if len(forced) == 0:
        raise IngestError(f"the {band}-band forced table is empty.")
    try:
        match = match_rows(ref["id"], forced["objectId"], f"the {band}-band forced table", "objectId")
        aligned = take_table(forced, match)  # the library's one fill rule for rows without a match
    except MatchError as err:
        raise IngestError(str(err)) from None
    missing = ~match.matched
    for name, ref_name in _COPIED_FROM_REF.items():
        if match.n_filled and name in aligned.colnames and ref_name in ref.colnames:
            aligned[name][missing] = np.asarray(ref[ref_name])[missing]
    n_ref, n_filled = len(ref), match.n_filled
    report = MatchReport(
        band, len(forced), n_ref, n_ref - n_filled, n_filled, match.n_unmatched_rows, match.index is None
    )
    return aligned, report


#: Forced columns copied from the reference table (``forcedPhotCoadd.copyColumns`` of the rerun).
_COPIED_FROM_REF = {"objectId": "id", "parentObjectId": "parent", "deblend_nChild": "deblend_nChild"}


# ---------------------------------------------------------------------------------------------------------
# Sky map and calibration from the calexp header
# ---------------------------------------------------------------------------------------------------------
def _image_header(headers: download.FitsHeaders) -> fits.Header:
    """The header that holds the image's WCS: the first extension (afw writes it there), else the primary."""
    for header in (headers.first_extension, headers.primary):
        if header is not None and "CTYPE1" in header and int(header.get("NAXIS", 0)) == 2:
            return header
    raise IngestError(
        "the calexp header has no image WCS (CTYPE1...) with its size (NAXIS1, NAXIS2), neither in the primary "
        "HDU nor in the first extension, so the patch's place on the sky cannot be recorded."
    )


def _xy0(header: fits.Header) -> tuple[int, int]:
    """The image's origin in tract pixels: afw writes ``LTV1 = -x0``, ``LTV2 = -y0`` and a ``LINEAR`` WCS "A"."""
    if "LTV1" in header and "LTV2" in header:
        return -round(float(header["LTV1"])), -round(float(header["LTV2"]))
    if str(header.get("CTYPE1A", "")).strip() == "LINEAR" and "CRVAL1A" in header:
        crpix = float(header.get("CRPIX1A", 1.0)), float(header.get("CRPIX2A", 1.0))
        return round(float(header["CRVAL1A"]) - crpix[0] + 1), round(float(header["CRVAL2A"]) - crpix[1] + 1)
    raise IngestError(
        "the calexp header does not say where the image lies in its tract (no LTV1/LTV2, no LINEAR WCS 'A')."
    )


def skymap_from_calexp_header(
    headers: download.FitsHeaders,
    *,
    name: str = SKYMAP_NAME,
    tract_id: int = TRACT,
    patch_index: tuple[int, int] = PATCH_INDEX,
    patch_inner: tuple[int, int] = HSC_PATCH_INNER,
    patch_border: int = HSC_PATCH_BORDER,
) -> tuple[SkyMap, SkyMapReport]:
    """A sky map with the real tract, as far as the patch's calexp header tells.

    What the header gives (afw writes the WCS, shifted to the image's own pixels, and ``LTV1/2`` into the image
    HDU): the tract's TAN projection (tangent point ``CRVAL``, pixel scale from ``CD``), the tract pixel of the
    tangent point, and the patch's outer box (origin and ``NAXIS1/2``). What it does not give: the tract's size.
    ``lsst.skymap`` builds a tract around its tangent point, grown to a whole number of patches with the centre
    kept to within a pixel (``TractInfo._setupPatches``), so the number of patches along each axis is
    ``round((2 * tangent_pixel + 1) / patch_inner)``. The HSC patch geometry (4000 px inner, 100 px border) is
    checked against the calexp: patch ``10,7`` of that tract must have exactly the calexp's bounding box.

    :class:`~tutorial_lib.skymap.TractInfo` puts its tangent point at the tract's central pixel, which for
    ``lsst.skymap`` tracts of an even number of pixels is half a pixel from the real one; the record therefore
    takes as its centre the sky position of the central pixel under the header's WCS. The two projections then
    agree over the patch to a tiny fraction of a pixel; ``max_offset_pixels`` in the report is the measured
    difference.

    Raises
    ------
    IngestError
        A header without WCS or origin, a projection other than TAN, or a bounding box that is not patch
        ``patch_index`` of such a tract.
    """
    header = _image_header(headers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header, naxis=2)
    ctypes = [str(c) for c in wcs.wcs.ctype]
    if ctypes != ["RA---TAN", "DEC--TAN"]:
        raise IngestError(f"the calexp WCS is {ctypes}, not the RA---TAN/DEC--TAN of an LSST sky map tract.")
    x0, y0 = _xy0(header)
    width, height = int(header["NAXIS1"]), int(header["NAXIS2"])
    cd = wcs.wcs.cd if wcs.wcs.has_cd() else wcs.wcs.get_pc() * wcs.wcs.cdelt[:, None]
    scale_arcsec = math.sqrt(abs(np.linalg.det(cd))) * 3600.0
    tangent = (float(wcs.wcs.crpix[0]) - 1 + x0, float(wcs.wcs.crpix[1]) - 1 + y0)
    num_patches = tuple(max(1, round((2 * t + 1) / inner)) for t, inner in zip(tangent, patch_inner, strict=True))
    tract_size = [n * inner for n, inner in zip(num_patches, patch_inner, strict=True)]
    # Sky position of the tract's central pixel, (size - 1) / 2, in the header's WCS (local pixels = tract - xy0).
    centre_local = ((tract_size[0] - 1) / 2 - x0, (tract_size[1] - 1) / 2 - y0)
    ra, dec = (float(v) for v in wcs.wcs_pix2world([centre_local], 0)[0])
    tract = TractInfo(tract_id, (ra % 360.0, dec), scale_arcsec, num_patches, patch_inner, patch_border)
    try:
        patch = tract.getPatchInfo(patch_index)
    except IndexError:
        raise IngestError(
            f"the calexp's tangent point (tract pixel {tangent[0]:.1f}, {tangent[1]:.1f}) implies a tract of "
            f"{num_patches[0]} x {num_patches[1]} patches, which has no patch {patch_index[0]},{patch_index[1]}."
        ) from None
    outer = patch.getOuterBBox()
    actual = (x0, y0, x0 + width - 1, y0 + height - 1)
    if (outer.x_min, outer.y_min, outer.x_max, outer.y_max) != actual:
        raise IngestError(
            f"the calexp covers tract pixels {actual[:2]} to {actual[2:]}, but patch "
            f"{patch_index[0]},{patch_index[1]} of a tract of {num_patches[0]} x {num_patches[1]} patches of "
            f"{patch_inner[0]} px with a {patch_border} px border covers {outer.getMin()} to {outer.getMax()}; "
            "this is not the sky map assumed here."
        )
    # How far apart the header WCS and the record's WCS put the same sky positions, over the patch.
    xs = np.linspace(actual[0], actual[2], 5)
    ys = np.linspace(actual[1], actual[3], 5)
    grid_x, grid_y = (a.ravel() for a in np.meshgrid(xs, ys))
    sky = wcs.wcs_pix2world(np.column_stack([grid_x - x0, grid_y - y0]), 0)
    back_x, back_y = tract.sky_to_pixel(sky[:, 0], sky[:, 1])
    offset = float(np.max(np.hypot(back_x - grid_x, back_y - grid_y)))
    report = SkyMapReport(
        num_patches=num_patches,
        center_deg=tract.getCtrCoord(),
        pixel_scale_arcsec=scale_arcsec,
        patch_id=patch.getSequentialIndex(),
        tangent_pixel=tangent,
        max_offset_pixels=offset,
    )
    return SkyMap(name, [tract]), report


def photo_calib_from_header(headers: download.FitsHeaders, what: str) -> PhotoCalib:
    """``PhotoCalib.from_fluxmag0`` of the ``FLUXMAG0`` (and ``FLUXMAG0ERR``) keyword: the old ``Calib``."""
    for header in (headers.primary, headers.first_extension):
        if header is not None and "FLUXMAG0" in header:
            try:
                return PhotoCalib.from_fluxmag0(float(header["FLUXMAG0"]), float(header.get("FLUXMAG0ERR", 0.0)))
            except (TypeError, ValueError) as error:
                raise IngestError(f"{what}: unusable FLUXMAG0 = {header['FLUXMAG0']!r} ({error}).") from None
    raise IngestError(f"{what}: no FLUXMAG0 keyword in its header, so its calibration is unknown.")


_STRUCTURAL_KEYS = {"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "COMMENT", "HISTORY", ""}


def header_metadata(header: fits.Header) -> dict:
    """The primary header's keywords as a plain dict (first value of a repeated keyword; no structural keys)."""
    metadata = {}
    for key in header:
        if key in _STRUCTURAL_KEYS or key in metadata:
            continue
        value = header[key]
        if isinstance(value, bool | int | float | str) and not (isinstance(value, float) and not math.isfinite(value)):
            metadata[key] = value
    return metadata


# ---------------------------------------------------------------------------------------------------------
# Download, prepare, write
# ---------------------------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    skymap: SkyMap
    skymap_report: SkyMapReport
    ref: Table
    forced: dict[str, Table]
    matches: dict[str, MatchReport]
    exposures: dict[str, CoaddExposure]
    header_sources: dict[str, str]


#: HSC coadds are scaled to a zero point of 27.0 mag (pipe_tasks ``python/lsst/pipe/tasks/scaleZeroPoint.py``,
#: ``ScaleZeroPointConfig.zeroPoint`` default 27.0, used by the 2016 coadds of rerun 20160805): a ranged header whose
#: FLUXMAG0 gives a zero point outside 27 +- 1 mag is not trusted.
COADD_ZERO_POINT_RANGE = (26.0, 28.0)
#: A ranged header's WCS must put the verified reference table's coord_ra/coord_dec on its centroids this closely
#: (90th percentile over rows with a good centroid): the pipeline computed those coordinates with this very WCS.
WCS_TOLERANCE_PIXELS = 0.1
#: Fewest reference rows with good centroids needed for the WCS check.
WCS_CHECK_MIN_ROWS = 10
_CHECKED = (
    f"zero point within {COADD_ZERO_POINT_RANGE[0]}-{COADD_ZERO_POINT_RANGE[1]} mag, and WCS putting the verified "
    f"deepCoadd_ref coord_ra/coord_dec on its centroids within {WCS_TOLERANCE_PIXELS} px"
)


def header_inconsistencies(headers: download.FitsHeaders, ref: Table) -> list[str]:
    """Why a calexp header read by a ranged request (not verifiable by SHA-256) cannot be trusted; empty if it can.

    It must give a zero point in :data:`COADD_ZERO_POINT_RANGE`, and a WCS that maps the verified reference table's
    ``coord_ra``/``coord_dec`` onto its ``base_SdssCentroid_x``/``_y`` (tract pixels) within
    :data:`WCS_TOLERANCE_PIXELS` for 90% of the rows with a good centroid.
    """
    problems = []
    try:
        zero_point = photo_calib_from_header(headers, "the header").zero_point
    except (IngestError, ValueError) as error:
        problems.append(str(error))
    else:
        low, high = COADD_ZERO_POINT_RANGE
        if not low <= zero_point <= high:
            problems.append(
                f"its zero point {zero_point:.2f} mag is outside {low}-{high} mag (coadds are scaled to 27; pipe_tasks "
                "scaleZeroPoint.py)"
            )
    needed = ("coord_ra", "coord_dec", "base_SdssCentroid_x", "base_SdssCentroid_y")
    if not all(name in ref.colnames for name in needed):
        return [*problems, "the reference table has no coord_ra/coord_dec and base_SdssCentroid_x/_y to check it with"]
    try:
        header = _image_header(headers)
        x0, y0 = _xy0(header)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header, naxis=2)
        ra, dec = (np.degrees(np.asarray(ref[name], dtype=float)) for name in ("coord_ra", "coord_dec"))
        x, y = (np.asarray(ref[name], dtype=float) for name in ("base_SdssCentroid_x", "base_SdssCentroid_y"))
        good = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(x) & np.isfinite(y)
        if "base_SdssCentroid_flag" in ref.colnames:
            good &= ~np.asarray(ref["base_SdssCentroid_flag"], dtype=bool)
        if np.count_nonzero(good) < WCS_CHECK_MIN_ROWS:
            return [*problems, f"fewer than {WCS_CHECK_MIN_ROWS} reference rows have a good centroid to check it with"]
        with np.errstate(invalid="ignore"):
            px, py = wcs.all_world2pix(ra[good], dec[good], 0)
        offset = np.hypot(px + x0 - x[good], py + y0 - y[good])
    except (IngestError, ValueError, KeyError, TypeError, MemoryError) as error:
        return [*problems, f"its WCS cannot be used ({error})"]
    worst = float(np.nanpercentile(offset, 90)) if np.isfinite(offset).any() else math.inf
    if not worst <= WCS_TOLERANCE_PIXELS:
        problems.append(
            f"its WCS puts the verified reference objects {worst:.3g} px from their centroids (90th percentile; at "
            f"most {WCS_TOLERANCE_PIXELS} px expected)"
        )
    return problems


def _with_offline_hint(error: Exception) -> Exception:
    if isinstance(error, download.ChecksumError):
        return error
    kind = type(error) if isinstance(error, download.DownloadError) else download.DownloadError
    return kind(f"{error} {OFFLINE_HINT}")


def _fetch_catalogs(files, options: download.DownloadOptions) -> dict[str, Path]:
    """The reference and forced tables, verified by SHA-256, from the cache or the server."""
    try:
        return {f.key: download.fetch(f.remote(), options) for f in files if f.kind != "calexp"}
    except (lfs.LFSError, download.DownloadError) as error:
        raise _with_offline_hint(error) from None


def _fetch_trusted_headers(files, ref: Table, options: download.DownloadOptions) -> dict[str, download.FitsHeaders]:
    """The calexp headers: from verified whole files, or ranged reads that agree with the verified ``ref``.

    A ranged (or cached ranged) header that fails :func:`header_inconsistencies` is discarded, never cached, and the
    whole file is downloaded and verified instead; one that passes is cached.
    """
    headers = {}
    try:
        for info in (f for f in files if f.kind == "calexp"):
            obj = info.remote()
            found = download.fetch_fits_header(obj, options)
            if found.source in ("ranged request", "cached header"):
                problems = header_inconsistencies(found, ref)
                if problems:
                    download.discard_cached_header(options.cache, obj)
                    options.log(
                        f"The header of {obj.name} from a ranged request does not agree with the verified files "
                        f"({problems[0]}); it was discarded, and the whole file ({download.format_size(obj.size)}) is "
                        "downloaded and verified instead."
                    )
                    found = download.headers_from_whole_file(obj, options)
                elif found.source == "ranged request":
                    download.cache_header(options.cache, obj, found, _CHECKED)
            headers[info.band] = found
    except (lfs.LFSError, download.DownloadError) as error:
        raise _with_offline_hint(error) from None
    return headers


def _read_ref(paths) -> Table:
    try:
        ref = read_catalog(paths["ref"])
    except (ValueError, OSError) as error:
        raise IngestError(f"a downloaded catalog cannot be read as an afw table: {error}") from None
    for needed in ("id", "coord_ra", "coord_dec"):
        if needed not in ref.colnames:
            raise IngestError(f"the reference table has no '{needed}' column; is it a Gen2 deepCoadd_ref?")
    return ref


def _prepare(files, paths, ref: Table, headers) -> _Prepared:
    by_key = {f.key: f for f in files}
    try:
        raw_forced = {band: read_catalog(paths[f"forced_src-{band}"]) for band in BANDS}
    except (ValueError, OSError) as error:
        raise IngestError(f"a downloaded catalog cannot be read as an afw table: {error}") from None
    forced, matches = {}, {}
    for band, table in raw_forced.items():
        forced[band], matches[band] = match_forced_to_ref(ref, table, band)
    skymap, report = skymap_from_calexp_header(headers["i"])
    other = skymap_from_calexp_header(headers["r"])[1]
    same = (
        other.num_patches == report.num_patches
        and other.patch_id == report.patch_id
        and np.allclose(other.center_deg, report.center_deg, rtol=0, atol=1e-8)
        and math.isclose(other.pixel_scale_arcsec, report.pixel_scale_arcsec, rel_tol=1e-9)
    )
    if not same:
        raise IngestError("the r- and i-band calexps disagree on the tract's geometry; they should be one patch.")
    exposures = {}
    for band in BANDS:
        info = by_key[f"calexp-{band}"]
        calib = photo_calib_from_header(headers[band], info.name)
        metadata = header_metadata(headers[band].primary)
        metadata.setdefault("FILTER", next(name for name, b in PHYSICAL_FILTERS.items() if b == band))
        metadata["ORIGIN_FILE"] = f"{REPOSITORY}:{info.path}"
        metadata["ORIGIN_SHA256"] = info.oid
        exposures[band] = CoaddExposure(calib, metadata)
    return _Prepared(skymap, report, ref, forced, matches, exposures, {band: headers[band].source for band in BANDS})


def _expected_datasets() -> dict[str, int]:
    return {"skyMap": 1, "deepCoadd_ref": 1, "deepCoadd_forced_src": len(BANDS), "deepCoadd_calexp": len(BANDS)}


def _run_contents(target: Path, run: str = RUN) -> dict[str, int] | None:
    """Number of datasets of each type in ``run`` of the repository ``target``, or None if there is no such run."""
    from lsst.daf.butler import Butler, MissingCollectionError

    butler = Butler.from_config(str(target))
    try:
        butler.collections.get_info(run)
    except MissingCollectionError:
        return None
    counts = {}
    for name in _expected_datasets():
        counts[name] = len(butler.query_datasets(name, collections=run, find_first=False, explain=False))
    return counts


def _ensure_repository_setup(butler) -> None:
    """The instrument, filters and dataset types the ingest needs (all there in a simulated repository)."""
    from lsst.daf.butler import DatasetType

    registry = butler.registry
    registry.syncDimensionData(
        "instrument",
        {
            "name": "HSC",
            "visit_max": 21_474_800,
            "exposure_max": 21_474_800,
            "detector_max": 200,
            "class_name": "lsst.obs.subaru.HyperSuprimeCam",
        },
    )
    for name, band in PHYSICAL_FILTERS.items():
        registry.syncDimensionData("physical_filter", {"instrument": "HSC", "name": name, "band": band})
    for name in _expected_datasets():
        dimensions, storage_class = DATASET_TYPES[name]
        registry.registerDatasetType(DatasetType(name, dimensions, storage_class, universe=butler.dimensions))


def _register_skymap_once(butler, skymap: SkyMap) -> None:
    """Insert the sky map's records, or check that identical ones are already there."""
    from .butler_repo import register_skymap

    digest = hashlib.sha1(skymap.to_json().encode()).digest()
    existing = [record for record in butler.registry.queryDimensionRecords("skymap") if record.name == skymap.name]
    if existing:
        if existing[0].hash != digest:
            raise IngestError(
                f"the repository already has a sky map named '{skymap.name}' that differs from this one; "
                "remove it or ingest into another --repo."
            )
        return
    register_skymap(butler, skymap)


def _write(butler, prepared: _Prepared) -> None:
    """Everything into the repository, in one transaction: all of it or nothing."""
    from lsst.daf.butler import CollectionType, MissingCollectionError

    try:
        chain_type = butler.collections.get_info(CHAIN).type
    except MissingCollectionError:
        chain_type = None
    if chain_type not in (None, CollectionType.CHAINED):
        raise IngestError(f"the repository has a {chain_type.name} collection named '{CHAIN}'; it must be CHAINED.")
    with butler.transaction():
        _ensure_repository_setup(butler)
        _register_skymap_once(butler, prepared.skymap)
        butler.registry.registerRun(RUN)
        data_id = {"skymap": prepared.skymap.name, "tract": TRACT, "patch": prepared.skymap_report.patch_id}
        put_deterministic(butler, prepared.skymap, "skyMap", RUN, skymap=prepared.skymap.name)
        put_deterministic(butler, prepared.ref, "deepCoadd_ref", RUN, **data_id)
        for band in BANDS:
            put_deterministic(butler, prepared.forced[band], "deepCoadd_forced_src", RUN, band=band, **data_id)
            put_deterministic(butler, prepared.exposures[band], "deepCoadd_calexp", RUN, band=band, **data_id)
        make_chain(butler, CHAIN, [RUN])


def _remove_previous(butler) -> None:
    """For ``--force``: remove the run of an earlier ingest, unlinking it from the chain (sky map records stay)."""
    from lsst.daf.butler import MissingCollectionError

    try:
        butler.collections.get_info(RUN)
    except MissingCollectionError:
        return
    butler.removeRuns([RUN], unlink_from_chains=True)


def download_and_ingest(
    repo: str | os.PathLike = "DATA",
    *,
    lfs_url: str = LFS_URL,
    cache: str | os.PathLike | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    progress: bool = True,
    force: bool = False,
    files: tuple[ValidationFile, ...] | None = None,
    session=None,
    log=print,
) -> IngestSummary:
    """Download the real HSC files of tract 0, patch 10,7 (or use the cached ones) and ingest them into ``repo``.

    The ingest never edits ``repo`` in place: under a lock on ``repo`` it copies the repository into a staging
    folder beside it (or makes a new one there), writes the run there in one transaction, writes the manifest, and
    swaps the result into place (:func:`data_fetch.safety.swap_into_place`), so a failure or a kill at any point
    leaves the previous repository whole.

    Parameters
    ----------
    repo : path-like
        Repository made by data_fetch to ingest into, e.g. the simulated ``DATA``; a new one is made if it does not
        exist.
    lfs_url : str
        The Git LFS server of ``lsst-dm/legacy-validation_data_hsc``.
    cache : path-like, optional
        Download cache folder; default ``$MULTIBAND_TUTORIAL_CACHE``, else the operating system's cache folder.
    retries : int
        How many times a failed download is tried again.
    timeout : float
        Seconds without progress that end a download (see :class:`data_fetch.download.DownloadOptions`).
    progress : bool
        Show download progress bars.
    force : bool
        Replace the RUN collection if an earlier ingest made it; also drops cached ranged headers.
    files : tuple of ValidationFile, optional
        The files and their LFS pointers; default :data:`FILES` (tests give their own).
    session : requests.Session, optional
        HTTP session for every request.
    log : callable
        Where progress messages go.

    Raises
    ------
    data_fetch.download.DownloadError
        Offline, refused by the server, or a download failed (the message says so and that the simulated data
        need no internet). Nothing is left in the repository, and only complete, verified files in the cache.
    IngestError
        The files are not what the ingest expects, or the repository cannot take them. Nothing is written.
    data_fetch.safety.SafetyError
        A path refused, the repository or cache in use by another process, or not enough disk space.
    """
    summary = IngestSummary(repo=Path(repo))
    files = FILES if files is None else tuple(files)
    for info in files:
        info.remote()  # refuses, before any download, a file whose pointer is unknown
    keys = {f.key for f in files}
    wanted = {"ref", *(f"{kind}-{band}" for kind in ("forced_src", "calexp") for band in BANDS)}
    if keys != wanted:
        raise IngestError(f"the file table must list {sorted(wanted)}, got {sorted(keys)}")
    lfs.check_http_url(lfs_url, "--lfs-url")
    target = safety.check_target(os.fspath(repo), "--repo", log)
    safety.require_parent_folder(target, "--repo")
    new_folders = _missing_folders(download.cache_dir(cache, CACHE_SUBFOLDER))
    options = download.DownloadOptions(lfs_url, _cache_folder(cache, log), retries, progress, timeout, session, log)
    try:
        return _ingest_locked(repo, target, files, summary, options, force)
    finally:
        for folder in new_folders:  # cache folders this run made and left empty (offline, refused...)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its parents that do not exist yet, deepest first."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists():
            break
        missing.append(path)
    return missing


def _ingest_locked(
    repo, target: Path, files, summary: IngestSummary, options: download.DownloadOptions, force: bool
) -> IngestSummary:
    """:func:`download_and_ingest` once the paths are checked: under the repository's lock, then the cache's."""
    with safety.exclusive_lock(target, "python -m data_fetch download"):
        safety.recover(target, options.log)
        exists = os.path.lexists(target)
        if exists:
            _check_existing(target, repo)
            contents = _run_contents(target)
            if contents is not None and not force:
                if contents == _expected_datasets():
                    summary.already_present = True
                    _fill_from_repository(summary, target)
                    return summary
                raise IngestError(
                    f"{repo} has a RUN collection '{RUN}' that is incomplete ({contents}); run again with --force to "
                    "replace it."
                )
        existing_size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) if exists else 0
        safety.require_free_space(target.parent, int(1.2 * (existing_size + DOWNLOAD_SIZE)), f"Ingesting into {repo}")
        with safety.exclusive_lock(options.cache, "python -m data_fetch download (cache)"):
            _clean_cache(options.cache, force, options.log)
            paths = _fetch_catalogs(files, options)
            ref = _read_ref(paths)
            headers = _fetch_trusted_headers(files, ref, options)
        prepared = _prepare(files, paths, ref, headers)
        _ingest_in_staging(target, exists, force, prepared)
    summary.created_repository = not exists
    summary.patch = prepared.skymap_report.patch_id
    summary.n_ref = len(prepared.ref)
    summary.matches = prepared.matches
    summary.zero_points = {band: prepared.exposures[band].photoCalib.zero_point for band in BANDS}
    summary.header_sources = prepared.header_sources
    summary.skymap_report = prepared.skymap_report
    return summary


def _cache_folder(cache, log) -> Path:
    """The data set's cache folder, created and writeable, or one clear error."""
    base = download.cache_dir(cache)
    option = download.cache_option(cache)  # the message names what set the folder: an option, or the environment
    checked = safety.check_target(os.fspath(base), option, log, example=None, any_letters=True)
    folder = checked / CACHE_SUBFOLDER
    if os.path.lexists(checked) and not checked.is_dir():
        raise IngestError(f"{option} {base} is a file, not a folder; choose a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise IngestError(
            f"cannot create the cache folder {folder} ({error.strerror}); choose another --cache."
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise IngestError(f"cannot write in the cache folder {folder} (read-only); choose another --cache.")
    return folder


def _clean_cache(folder: Path, force: bool, log) -> None:
    """Remove temporary files a killed download left (we hold the cache lock); with ``force``, cached headers too."""
    safety.remove_orphan_files(folder, (download.TEMPORARY_FILES,), log)
    # atomic_write's temporary files of the cached headers (`.<name>.header.<random>.tmp`, `.header.json...`)
    safety.remove_orphan_files(folder / "headers", (".*.header*.tmp",), log)
    if force and (folder / "headers").is_dir():
        shutil.rmtree(folder / "headers")
        log("--force: cached headers (read by ranged requests, not verifiable by SHA-256) were removed.")


def _check_existing(target: Path, repo) -> None:
    """Refuse to ingest into a folder data_fetch did not make, or into a damaged repository."""
    if not target.is_dir() or not (target / "butler.yaml").is_file():
        empty = safety.empty_folder_fix(target, str(repo))
        fix = f"{empty}, or choose another --repo" if empty else "choose another --repo"
        empty_note = "; it is empty" if empty else ""
        raise IngestError(f"{repo} exists but is not a Butler repository (no butler.yaml{empty_note}); {fix}.")
    if not safety.is_data_fetch_repository(target):
        raise IngestError(
            f"{repo} was not made by data_fetch (no {MARKER_NAME}); the ingest adds only to repositories it made. "
            "Choose another --repo (a new folder is fine)."
        )
    problems = check_repository(target)
    if problems:
        raise IngestError(f"{repo} is damaged ({describe(problems)}); rebuild it first with `make data`.")
    listing = f"python -m data_fetch verify --repo {repo}"
    safety.refuse_foreign(target, foreign_files(target), listing)  # the ingest would record them as its own


def _ingest_in_staging(target: Path, exists: bool, force: bool, prepared: _Prepared) -> None:
    """Copy (or create) the repository in a staging folder, write the run there, and swap it into place."""
    from lsst.daf.butler import Butler

    staging = safety.make_staging(target, "ingesting")
    new = staging / "repo"
    try:
        safety.fault_point("before-write")
        if exists:
            shutil.copytree(target, new, symlinks=True)
            (new / MANIFEST_NAME).unlink(missing_ok=True)
            butler = Butler.from_config(str(new), writeable=True)
            if force:
                _remove_previous(butler)
        else:
            butler = create_repository(new)
            safety.write_marker(new, "real HSC data")
        _write(butler, prepared)
        del butler
        write_manifest(new)
        safety.swap_into_place(new, target, staging, replace=exists, foreign=foreign_files)
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise IngestError(
                f"the disk holding {target.parent} is full ({error.strerror}); nothing was written. Free some space "
                "and run the command again."
            ) from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fill_from_repository(summary: IngestSummary, target: Path) -> None:
    """For a repository that already holds the data: the patch id, row count and zero points, read back."""
    from lsst.daf.butler import Butler

    butler = Butler.from_config(str(target))
    skymap = butler.get("skyMap", skymap=SKYMAP_NAME, collections=RUN)
    summary.patch = skymap[TRACT].getPatchInfo(PATCH_INDEX).getSequentialIndex()
    data_id = summary.data_id
    summary.n_ref = len(butler.get("deepCoadd_ref", data_id, collections=RUN, parameters={"columns": ["id"]}))
    for band in BANDS:
        calib = butler.get("deepCoadd_calexp.photoCalib", data_id, band=band, collections=RUN)
        summary.zero_points[band] = calib.zero_point
