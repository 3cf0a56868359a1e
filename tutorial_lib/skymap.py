"""A small sky map: tracts with a TAN WCS, divided into patches with inner and outer boxes.

This follows the geometry of ``lsst.skymap`` (``tractBuilder.py``): a tract is a rectangular pixel grid on a
tangent-plane projection; it is divided into ``nx * ny`` patches whose *inner* boxes tile the tract without
overlap and whose *outer* boxes are the inner boxes grown by a border (100 px for HSC) and clipped to the tract.
Every object near a patch edge is therefore measured in two patches; ``detect_isPatchInner`` keeps the copy
whose centroid lies in the inner box. Tracts of a sky map overlap in the same way, and ``detect_isTractInner``
keeps the copy measured in the tract whose centre is nearest (``skyMap.findTract``).

Pixel boxes use afw's conventions: an integer box ``[min, max]`` (both inclusive) of pixel *centres*; a point
``(x, y)`` lies in it when ``min - 0.5 <= x < max + 0.5``, as ``Box2D(innerBBox).contains`` tests in
``setPrimaryFlags.py``. Gen3 patch ids are sequential, ``id = nx * y + x``, so Gen2 patch "1,1" of a
3 x 3 tract is patch 4.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from astropy.wcs import WCS

from ._arrays import as_degrees

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


__all__ = ["PatchInfo", "PixelBox", "SkyMap", "TractInfo", "make_lesson_skymap"]


@dataclass(frozen=True)
class PixelBox:
    """An integer pixel box with inclusive ``min`` and ``max`` corners, as ``lsst.geom.Box2I``."""

    x_min: int
    y_min: int
    x_max: int
    y_max: int

    @classmethod
    def from_corner(cls, x0: int, y0: int, width: int, height: int) -> PixelBox:
        """The box of ``width`` x ``height`` pixels whose minimum corner is ``(x0, y0)``."""
        return cls(x0, y0, x0 + width - 1, y0 + height - 1)

    def getMin(self) -> tuple[int, int]:  # noqa: N802 (afw name)
        """The minimum corner ``(x, y)``."""
        return (self.x_min, self.y_min)

    def getMax(self) -> tuple[int, int]:  # noqa: N802
        """The maximum corner ``(x, y)`` (inclusive)."""
        return (self.x_max, self.y_max)

    def getWidth(self) -> int:  # noqa: N802
        """Width in pixels."""
        return self.x_max - self.x_min + 1

    def getHeight(self) -> int:  # noqa: N802
        """Height in pixels."""
        return self.y_max - self.y_min + 1

    def getDimensions(self) -> tuple[int, int]:  # noqa: N802
        """``(width, height)`` in pixels."""
        return (self.getWidth(), self.getHeight())

    def grown(self, border: int) -> PixelBox:
        """The box grown by ``border`` pixels on every side."""
        return PixelBox(self.x_min - border, self.y_min - border, self.x_max + border, self.y_max + border)

    def clipped_to(self, other: PixelBox) -> PixelBox:
        """The overlap of this box and ``other``."""
        return PixelBox(
            max(self.x_min, other.x_min),
            max(self.y_min, other.y_min),
            min(self.x_max, other.x_max),
            min(self.y_max, other.y_max),
        )

    def float_corners(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` edges of the box as ``Box2D(box)``: pixel centres +- 0.5."""
        return (self.x_min - 0.5, self.y_min - 0.5, self.x_max + 0.5, self.y_max + 0.5)

    def contains(self, x: ArrayLike, y: ArrayLike) -> np.ndarray:
        """Whether points lie in ``Box2D(self)``: lower edges inclusive, upper exclusive; NaN is outside.

        Parameters
        ----------
        x, y : float or array-like
            Pixel coordinates.

        Returns
        -------
        numpy.ndarray of bool
            One entry per point.
        """
        x0, y0, x1, y1 = self.float_corners()
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        return (x >= x0) & (x < x1) & (y >= y0) & (y < y1)

    def __str__(self) -> str:
        return f"(minimum=({self.x_min}, {self.y_min}), maximum=({self.x_max}, {self.y_max}))"


@dataclass(frozen=True)
class PatchInfo:
    """One patch of a tract: its index, its inner box and its outer box (tract pixel coordinates)."""

    index: tuple[int, int]
    sequential_index: int
    inner_bbox: PixelBox
    outer_bbox: PixelBox

    def getIndex(self) -> tuple[int, int]:  # noqa: N802
        """The patch index ``(x, y)`` in its tract."""
        return self.index

    def getSequentialIndex(self) -> int:  # noqa: N802
        """The Gen3 patch id, ``nx * y + x``."""
        return self.sequential_index

    def getInnerBBox(self) -> PixelBox:  # noqa: N802
        """The inner box: the pixels this patch owns."""
        return self.inner_bbox

    def getOuterBBox(self) -> PixelBox:  # noqa: N802
        """The outer box: the inner box grown by the patch border, clipped to the tract."""
        return self.outer_bbox

    @property
    def gen2_name(self) -> str:
        """The Gen2 name of the patch, ``"x,y"``."""
        return f"{self.index[0]},{self.index[1]}"

    def __repr__(self) -> str:
        return f"PatchInfo(id={self.sequential_index}, index={self.index}, inner={self.inner_bbox})"


class TractInfo:
    """A tract: a TAN-projected pixel grid of ``num_patches`` patches.

    Parameters
    ----------
    tract_id : int
        Tract number.
    center_deg : tuple of float
        (RA, Dec) of the tract centre in degrees; the tangent point of the projection.
    pixel_scale_arcsec : float
        Pixel scale; 0.168"/px for HSC coadds (:data:`HSC_PIXEL_SCALE_ARCSEC`).
    num_patches : tuple of int
        Patches along x and y.
    patch_inner_dimensions : tuple of int
        Inner patch size in pixels (4000 x 4000 for HSC).
    patch_border : int
        Border added around each inner box to make the outer box (100 px for HSC).
    """

    def __init__(
        self,
        tract_id: int,
        center_deg: tuple[float, float],
        pixel_scale_arcsec: float,
        num_patches: tuple[int, int],
        patch_inner_dimensions: tuple[int, int],
        patch_border: int,
    ) -> None:
        self.tract_id = int(tract_id)
        self.center_deg = (float(center_deg[0]), float(center_deg[1]))
        self.pixel_scale_arcsec = float(pixel_scale_arcsec)
        self.num_patches = (int(num_patches[0]), int(num_patches[1]))
        self.patch_inner_dimensions = (int(patch_inner_dimensions[0]), int(patch_inner_dimensions[1]))
        self.patch_border = int(patch_border)
        width = self.num_patches[0] * self.patch_inner_dimensions[0]
        height = self.num_patches[1] * self.patch_inner_dimensions[1]
        self.bbox = PixelBox.from_corner(0, 0, width, height)
        self.wcs = self._make_wcs(width, height)

    def _make_wcs(self, width: int, height: int) -> WCS:
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        wcs.wcs.crval = list(self.center_deg)
        # FITS pixels are 1-based; the centre of a width-pixel grid of 0-based centres is (width - 1) / 2.
        wcs.wcs.crpix = [(width - 1) / 2 + 1, (height - 1) / 2 + 1]
        scale_deg = self.pixel_scale_arcsec / 3600.0
        wcs.wcs.cd = [[-scale_deg, 0.0], [0.0, scale_deg]]  # RA grows to the east, i.e. to the left
        wcs.wcs.radesys = "ICRS"
        wcs.pixel_shape = (width, height)
        return wcs

    # --- afw-style accessors ------------------------------------------------------------------------------
    def getId(self) -> int:  # noqa: N802
        """The tract number."""
        return self.tract_id

    def getWcs(self) -> WCS:  # noqa: N802
        """The TAN projection of the tract's pixel grid."""
        return self.wcs

    def getBBox(self) -> PixelBox:  # noqa: N802
        """The tract's pixel box."""
        return self.bbox

    def getCtrCoord(self) -> tuple[float, float]:  # noqa: N802
        """(RA, Dec) of the tract centre in degrees."""
        return self.center_deg

    def getNumPatches(self) -> tuple[int, int]:  # noqa: N802
        """Patches along x and y."""
        return self.num_patches

    def getPatchBorder(self) -> int:  # noqa: N802
        """Border of the outer patch boxes, pixels."""
        return self.patch_border

    def getPatchInfo(self, index: int | str | tuple[int, int]) -> PatchInfo:  # noqa: N802
        """Patch by Gen3 id (``int``), Gen2 name (``"x,y"``) or index tuple ``(x, y)``.

        Parameters
        ----------
        index : int, str or tuple of int
            The patch.

        Returns
        -------
        PatchInfo
            Its index and boxes.

        Raises
        ------
        IndexError
            If the patch is outside the tract.
        ValueError
            If a Gen2 name is not of the form ``"x,y"``.
        """
        nx, ny = self.num_patches
        if isinstance(index, str):
            try:
                x, y = (int(part) for part in index.split(","))
            except ValueError:
                raise ValueError(f"patch name {index!r} is not of the Gen2 form 'x,y'") from None
        elif isinstance(index, tuple | list):
            x, y = (int(part) for part in index)
        else:
            seq = int(index)
            if not 0 <= seq < nx * ny:
                raise IndexError(f"tract {self.tract_id} has patches 0 to {nx * ny - 1}; there is no patch {seq}")
            x, y = seq % nx, seq // nx
        if not (0 <= x < nx and 0 <= y < ny):
            raise IndexError(f"patch ({x}, {y}) is outside tract {self.tract_id}'s {nx} x {ny} patches")
        width, height = self.patch_inner_dimensions
        inner = PixelBox.from_corner(x * width, y * height, width, height)
        outer = inner.grown(self.patch_border).clipped_to(self.bbox)
        return PatchInfo((x, y), nx * y + x, inner, outer)

    def __iter__(self) -> Iterator[PatchInfo]:
        nx, ny = self.num_patches
        for seq in range(nx * ny):
            yield self.getPatchInfo(seq)

    def __len__(self) -> int:
        return self.num_patches[0] * self.num_patches[1]

    # --- coordinates --------------------------------------------------------------------------------------
    def pixel_to_sky(self, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """0-based tract pixel coordinates to (RA, Dec) in degrees.

        Parameters
        ----------
        x, y : float or array-like
            0-based pixel coordinates in the tract.

        Returns
        -------
        ra, dec : numpy.ndarray
            Degrees.
        """
        ra, dec = self.wcs.wcs_pix2world(np.asarray(x, float), np.asarray(y, float), 0)
        return ra, dec

    def sky_to_pixel(self, ra_deg: ArrayLike, dec_deg: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(RA, Dec) in degrees to 0-based tract pixel coordinates.

        Parameters
        ----------
        ra_deg, dec_deg : float or array-like
            Degrees.

        Returns
        -------
        x, y : numpy.ndarray
            0-based pixel coordinates in the tract.
        """
        x, y = self.wcs.wcs_world2pix(np.asarray(ra_deg, float), np.asarray(dec_deg, float), 0)
        return x, y

    def box_vertices(self, box: PixelBox) -> np.ndarray:
        """Sky (RA, Dec) in degrees of the four corners of ``Box2D(box)``, counter-clockwise on the sky.

        Parameters
        ----------
        box : PixelBox
            A box in this tract's pixels.

        Returns
        -------
        numpy.ndarray
            Shape ``(4, 2)``: (RA, Dec) of each corner, degrees.
        """
        x0, y0, x1, y1 = box.float_corners()
        ra, dec = self.pixel_to_sky([x0, x1, x1, x0], [y0, y0, y1, y1])
        return np.column_stack([ra, dec])

    def getVertexList(self) -> np.ndarray:  # noqa: N802
        """Sky corners (RA, Dec, degrees) of the tract."""
        return self.box_vertices(self.bbox)

    def to_dict(self) -> dict:
        """Plain-data form (JSON-serialisable)."""
        return {
            "tract_id": self.tract_id,
            "center_deg": list(self.center_deg),
            "pixel_scale_arcsec": self.pixel_scale_arcsec,
            "num_patches": list(self.num_patches),
            "patch_inner_dimensions": list(self.patch_inner_dimensions),
            "patch_border": self.patch_border,
        }

    def __repr__(self) -> str:
        ra, dec = self.center_deg
        nx, ny = self.num_patches
        return f"TractInfo(id={self.tract_id}, center=({ra:.4f}, {dec:.4f}) deg, {nx} x {ny} patches)"


class SkyMap:
    """A discrete sky map: a set of tracts; :meth:`findTract` picks the one whose centre is nearest.

    This is how ``lsst.skymap.DiscreteSkyMap`` (and so ``detect_isTractInner``) decides which tract owns a
    position where tracts overlap.
    """

    def __init__(self, name: str, tracts: list[TractInfo]) -> None:
        self.name = name
        self._tracts = {tract.getId(): tract for tract in tracts}

    def __getitem__(self, tract_id: int) -> TractInfo:
        try:
            return self._tracts[int(tract_id)]
        except KeyError:
            raise KeyError(f"sky map {self.name!r} has tracts {sorted(self._tracts)}; no tract {tract_id}") from None

    def __iter__(self) -> Iterator[TractInfo]:
        return iter(self._tracts[key] for key in sorted(self._tracts))

    def __len__(self) -> int:
        return len(self._tracts)

    def findTract(self, ra_deg: ArrayLike, dec_deg: ArrayLike) -> np.ndarray:  # noqa: N802
        """Id of the tract whose centre is nearest to each position (degrees).

        Parameters
        ----------
        ra_deg, dec_deg : float or array-like
            Positions, degrees; a Quantity or a column with an angle unit (the tables' ``coord_ra`` is in
            radians) is converted.

        Returns
        -------
        numpy.ndarray of int
            Tract id per position; -1 where the position is not finite.
        """
        ra = np.radians(as_degrees(ra_deg, "ra_deg")[0])
        dec = np.radians(as_degrees(dec_deg, "dec_deg")[0])
        ids = np.array(sorted(self._tracts))
        best = np.full(np.shape(ra), -np.inf)
        out = np.full(np.shape(ra), -1, dtype=ids.dtype)
        for tract_id in ids:
            ra0, dec0 = np.radians(self._tracts[tract_id].center_deg)
            cos_sep = np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0)
            closer = cos_sep > best
            best = np.where(closer, cos_sep, best)
            out = np.where(closer, tract_id, out)
        return out

    def to_dict(self) -> dict:
        """Plain-data form (JSON-serialisable), as the Butler formatter writes it."""
        return {"name": self.name, "tracts": [tract.to_dict() for tract in self]}

    @classmethod
    def from_dict(cls, data: dict) -> SkyMap:
        """The sky map of :meth:`to_dict`'s plain data."""
        return cls(data["name"], [TractInfo(**tract) for tract in data["tracts"]])

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SkyMap:
        """The sky map of :meth:`to_json`'s text."""
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SkyMap) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"SkyMap(name={self.name!r}, tracts={sorted(self._tracts)})"


#: The lesson's tract 0: centre of its corners (321.161, -0.605) .. (320.601, -0.045) deg
#: (lsst/pipelines_lsst_io, getting-started/coaddition.rst at commit 8353f11).
LESSON_TRACT_CENTER_DEG = (320.881, -0.325)
#: HSC coadd pixel scale, arcsec per pixel (lsst/obs_subaru, config/hsc/makeSkyMap.py at commit 37d7ce2:
#: ``config.skyMap["rings"].pixelScale = 0.168``).
HSC_PIXEL_SCALE_ARCSEC = 0.168
#: HSC patch geometry: 4000 x 4000 px inner boxes with a 100 px border, the defaults of
#: ``patchInnerDimensions`` and ``patchBorder`` (lsst/skymap, python/lsst/skymap/tractBuilder.py at commit 0be3017,
#: ``LegacyTractBuilderConfig``), which obs_subaru's HSC sky map keeps.
HSC_PATCH_INNER = (4000, 4000)
HSC_PATCH_BORDER = 100
#: Offset in RA of the neighbouring tract 1. Tract 0 is 0.56 deg wide, so a 0.5 deg offset gives an overlap
#: 0.06 deg (1286 px) wide, of which tract 0 owns the eastern half: comparable to the overlaps of the real HSC
#: rings sky map, and enough that ``detect_isTractInner`` is False for some tract-0 sources.
NEIGHBOUR_TRACT_OFFSET_DEG = 0.5


def make_lesson_skymap(num_patches: tuple[int, int] = (3, 3)) -> SkyMap:
    """The sky map ``discrete`` of the simulated repository: the lesson's tract 0 and its western neighbour.

    Parameters
    ----------
    num_patches : tuple of int
        Patches per tract along x and y; the lesson's tract has 3 x 3. A larger grid (for benchmarks) keeps
        the lesson's centre and pixel scale and grows the tract, and moves tract 1 so the overlap stays the same.
    """
    ra0, dec0 = LESSON_TRACT_CENTER_DEG
    width_deg = num_patches[0] * HSC_PATCH_INNER[0] * HSC_PIXEL_SCALE_ARCSEC / 3600.0
    lesson_width_deg = 3 * HSC_PATCH_INNER[0] * HSC_PIXEL_SCALE_ARCSEC / 3600.0
    offset = NEIGHBOUR_TRACT_OFFSET_DEG + (width_deg - lesson_width_deg)
    tracts = [
        TractInfo(tract_id, (ra, dec0), HSC_PIXEL_SCALE_ARCSEC, num_patches, HSC_PATCH_INNER, HSC_PATCH_BORDER)
        for tract_id, ra in ((0, ra0), (1, ra0 - offset))
    ]
    return SkyMap("discrete", tracts)
