"""Scatter points drawn as one image of pixels: the explorer's fast marker layer.

Agg draws a scatter plot marker by marker (about 3 µs per semi-transparent marker), which for the tract's
14,000 selected rows is most of a toggle. :class:`PixelPoints` instead bins the points into the axes' pixels
(``numpy.bincount``), stamps a small marker footprint on every hit pixel and draws the result with one
``renderer.draw_image``: a few milliseconds whatever the number of points. Overlapping points do not darken
each other (a pixel is on or off), which for a live view of where the selection lies is what matters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D

__all__ = ["FOOTPRINTS", "PixelPoints"]

#: Marker footprints in pixels (True: painted; rows from the bottom): a disc 4 pixels across and a triangle.
FOOTPRINTS = {
    "o": np.array([[0, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0]], dtype=bool),
    "^": np.array([[0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)[::-1],
}


class PixelPoints(Artist):
    """Points in data coordinates, drawn as pixels of one colour on an axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes; the points are clipped to its box.
    color : color
        Colour of the points (any matplotlib colour).
    alpha : float
        Opacity of a painted pixel.
    marker : {"o", "^"}
        Footprint of one point (:data:`FOOTPRINTS`).
    label : str
        Legend text (see :meth:`legend_handle`).
    """

    def __init__(self, ax: Axes, color: Any, *, alpha: float, marker: str, label: str, zorder: float = 2) -> None:
        super().__init__()
        self.axes = ax
        self._ax = ax
        self.set_figure(ax.figure)
        self.set_transform(ax.transData)
        self.set_label(label)
        self.set_zorder(zorder)
        self._color, self._alpha = color, alpha
        self._rgba = np.array([round(255 * c) for c in to_rgba(color, alpha)], dtype=np.uint8)
        self._marker = marker
        self._footprint = FOOTPRINTS[marker]
        self._xy = np.empty((0, 2))

    def set_offsets(self, xy: np.ndarray) -> None:
        """Replace the points: an ``(n, 2)`` array of (x, y) in data coordinates.

        Parameters
        ----------
        xy : numpy.ndarray
            Shape ``(n, 2)``.
        """
        self._xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        self.stale = True

    def get_offsets(self) -> np.ndarray:
        """The points, ``(n, 2)`` in data coordinates."""
        return self._xy

    def legend_handle(self) -> Line2D:
        """A stand-in marker for a legend (this artist has no marker of its own)."""
        return Line2D(
            [],
            [],
            linestyle="none",
            marker=self._marker,
            markersize=4,
            markeredgewidth=0,
            color=self._color,
            alpha=self._alpha,
            label=self.get_label(),
        )

    def _pixels(self, width: int, height: int, x0: float, y0: float) -> np.ndarray:
        """The painted pixels, rows from the bottom of the axes box."""
        hit = np.zeros(height * width, dtype=bool)
        if len(self._xy):
            px = self.get_transform().transform(self._xy)
            ix = np.floor(px[:, 0] - x0).astype(np.intp)
            iy = np.floor(px[:, 1] - y0).astype(np.intp)
            inside = (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
            hit[iy[inside] * width + ix[inside]] = True
        grid = hit.reshape(height, width)
        painted = np.zeros_like(grid)
        fh, fw = self._footprint.shape
        for dy, dx in zip(*np.nonzero(self._footprint), strict=True):
            oy, ox = dy - fh // 2, dx - fw // 2
            src = grid[max(0, -oy) : height - max(0, oy), max(0, -ox) : width - max(0, ox)]
            painted[max(0, oy) : height - max(0, -oy), max(0, ox) : width - max(0, -ox)] |= src
        return painted

    def draw(self, renderer: Any) -> None:
        """Paint the points' pixels into the axes box with one ``draw_image`` (Agg rows bottom first)."""
        if not self.get_visible():
            return
        box = self._ax.bbox
        x0, y0 = int(np.floor(box.x0)), int(np.floor(box.y0))
        width, height = int(np.ceil(box.x1)) - x0, int(np.ceil(box.y1)) - y0
        if width <= 0 or height <= 0:
            return
        painted = self._pixels(width, height, x0, y0)
        image = np.where(painted, self._rgba.view(np.uint32)[0], np.uint32(0)).view(np.uint8)
        gc = renderer.new_gc()
        gc.set_clip_rectangle(box)
        renderer.draw_image(gc, x0, y0, image.reshape(height, width, 4))  # Agg takes the rows bottom first
        gc.restore()
        self.stale = False
