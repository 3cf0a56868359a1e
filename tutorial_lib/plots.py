"""Figures for the multi-band lessons: colour-magnitude and colour-colour diagrams, sources on the sky map,
and the funnel of a selection.

Conventions shared by every function here
-----------------------------------------
* Each function draws into ``ax`` when one is given (its figure is returned) or makes a new figure with
  ``layout="constrained"``; it returns the :class:`matplotlib.figure.Figure` and never calls ``plt.show()``.
  In a notebook with the inline backend, end the cell with an assignment (``fig = plot_cmd(...)``) or a
  semicolon, otherwise the figure is shown twice (once by pyplot, once as the cell's value).
* Inputs may be numpy arrays, lists, pandas Series, astropy ``Column``/``MaskedColumn`` or ``Quantity``.
  Magnitudes may carry a magnitude unit (``mag``, ``ABmag``, ``mag(AB)``), which is stripped; a flux unit is
  refused with :class:`astropy.units.UnitsError`, because plotting fluxes as magnitudes is a silent mistake.
  Sky coordinates with an angle unit (``coord_ra``/``coord_dec`` are stored in radians) are converted to
  degrees; plain numbers are taken to be degrees. Masked entries count as NaN.
* Non-finite values (NaN from failed or negative fluxes, inf) are dropped without a warning but counted:
  the legend gives the number of points drawn, ``N = ...``, and its title the number not shown.
* Colours are colour-blind safe: the qualitative palette of Okabe & Ito (2008), "Color Universal Design"
  (https://jfly.uni-koeln.de/color/), for points and lines, and the perceptually uniform ``cividis`` map
  (Nunez, Anderton & Renslow 2018, PLoS ONE 13, e0199239) for densities. No figure pairs red with green.
* Style settings (font sizes, ...) are applied with :func:`matplotlib.rc_context` while a figure is drawn;
  importing this module changes no global ``rcParams``.

Artists
-------
Artists carry a ``gid`` so that a test or a widget can find them: ``"points"`` (the main
:class:`~matplotlib.collections.PathCollection` of a colour-magnitude or colour-colour diagram in scatter mode;
it is also ``ax.collections[0]``), ``"points-density"`` (the :class:`~matplotlib.image.AxesImage` in density
mode), ``"extra"`` (the overplotted subset, always present, possibly empty), ``"locus"``, ``"sky-sources"``,
``"sky-highlight"``, ``"tract"``, ``"patch-inner"``, ``"patch-outer"``, ``"funnel-cumulative"``,
``"funnel-alone"``. The explorer (:mod:`tutorial_lib.explorer.view`) replaces the data of its points in place.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import astropy.units as u
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon

from ._arrays import as_array, as_degrees, as_float_array, finite_pair
from .photometry import as_magnitude, is_magnitude_unit, stellar_locus_g_r, stellar_locus_g_r_hsc
from .photometry import locus_system as locus_system_name

if TYPE_CHECKING:
    from matplotlib.typing import LegendLocType, RcKeyType
    from numpy.typing import ArrayLike

    from .skymap import SkyMap


__all__ = [
    "COLORS",
    "DENSITY_CMAP",
    "DENSITY_THRESHOLD",
    "GID_DENSITY",
    "GID_EXTRA",
    "GID_FUNNEL_ALONE",
    "GID_FUNNEL_CUMULATIVE",
    "GID_LOCUS",
    "GID_PATCH_INNER",
    "GID_PATCH_OUTER",
    "GID_POINTS",
    "GID_SKY_HIGHLIGHT",
    "GID_SKY_SOURCES",
    "GID_TRACT",
    "OKABE_ITO",
    "plot_cmd",
    "plot_color_color",
    "plot_funnel",
    "plot_sky",
    "stellar_locus_g_r",
    "stellar_locus_g_r_hsc",
]

#: The eight colours of Okabe & Ito (2008), "Color Universal Design: how to make figures and presentations
#: that are friendly to colorblind people" (https://jfly.uni-koeln.de/color/), as popularised by B. Wong
#: (2011), Nature Methods 8, 441. They stay distinguishable for protan, deutan and tritan colour vision.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: What each colour means in the lessons' figures. Blue against vermillion or orange: never red against green.
COLORS = {
    "points": OKABE_ITO["blue"],
    "extra": OKABE_ITO["vermillion"],
    "highlight": OKABE_ITO["vermillion"],
    "sources": OKABE_ITO["black"],
    "locus": OKABE_ITO["black"],
    "cumulative": OKABE_ITO["blue"],
    "alone": OKABE_ITO["sky_blue"],
    "total": OKABE_ITO["black"],
    "tracts": (OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["reddish_purple"], OKABE_ITO["sky_blue"]),
}

#: Sequential, perceptually uniform and colour-blind safe map for 2-D histograms.
DENSITY_CMAP = "cividis"

#: Above this many finite points, colour-magnitude and colour-colour diagrams switch to a 2-D histogram
#: unless ``density`` is given: a scatter plot of more points is a saturated blob and slow to draw.
DENSITY_THRESHOLD = 20_000

#: Smallest marker of a point in a legend, points^2.
_LEGEND_MARKER_SIZE = 12.0

#: Scatter plots with more points than this are rasterised, so that PDF/SVG exports stay small.
_RASTERIZE_ABOVE = 5_000

# Applied with mpl.rc_context while a figure is made and drawn into; never set globally.
_STYLE: dict[RcKeyType, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "legend.framealpha": 0.85,
    "axes.formatter.useoffset": False,
    "axes.prop_cycle": cycler(
        color=[OKABE_ITO[name] for name in ("blue", "orange", "reddish_purple", "sky_blue", "vermillion", "black")]
    ),
    "image.cmap": DENSITY_CMAP,
}

GID_POINTS = "points"
GID_DENSITY = "points-density"
GID_EXTRA = "extra"
GID_LOCUS = "locus"
GID_SKY_SOURCES = "sky-sources"
GID_SKY_HIGHLIGHT = "sky-highlight"
GID_TRACT = "tract"
GID_PATCH_INNER = "patch-inner"
GID_PATCH_OUTER = "patch-outer"
GID_FUNNEL_CUMULATIVE = "funnel-cumulative"
GID_FUNNEL_ALONE = "funnel-alone"

_MINUS = "\N{MINUS SIGN}"
# Bright and red: the emptiest corner of a CMD with faint stars at the bottom.
_CMD_LEGEND_LOC: LegendLocType = "upper right"
#: Below the axes: no corner of the colour-colour plane is free of galaxies (noise scatters them everywhere).
_CC_LEGEND_LOC: Literal["below"] = "below"


# --- input conversion -------------------------------------------------------------------------------------
def _as_magnitudes(values: Any, name: str) -> np.ndarray:
    """``values`` as a float array of magnitudes (unit stripped); masked entries become NaN."""
    unit = getattr(values, "unit", None)
    if unit is not None and not is_magnitude_unit(unit):
        raise u.UnitsError(
            f"{name} has unit '{unit}', but a magnitude or colour (unit 'mag') is expected. "
            "Convert fluxes to AB magnitudes first, e.g. with tutorial_lib.photocalib.PhotoCalib."
        )
    return as_float_array(values, name)


def _check_same_length(**arrays: np.ndarray) -> int:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name}: {n}" for name, n in lengths.items())
        names = " and ".join(lengths)
        raise ValueError(f"{names} must have the same length (one value per catalogue row); got {described}")
    return next(iter(lengths.values()))


def _axis_label(name: str, unit: str) -> str:
    """``"r - i"`` -> ``"r − i [mag]"``; a name that already gives a unit in brackets is kept."""
    text = name.replace(" - ", f" {_MINUS} ")
    return text if "[" in text else f"{text} [{unit}]"


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure.get_figure(root=True) or plt.gcf(), ax


def _sorted_range(limits, name: str) -> tuple[float, float] | None:
    if limits is None:
        return None
    pair = list(limits) if isinstance(limits, Iterable) and not isinstance(limits, str) else []
    if len(pair) != 2:
        raise ValueError(f"{name} must be a pair (low, high); got {limits!r:.60}")
    low, high = (as_magnitude(v, name) for v in pair)
    if not (math.isfinite(low) and math.isfinite(high)) or low == high:
        raise ValueError(f"{name} must be two different finite numbers; got {limits!r}")
    return (min(low, high), max(low, high))


# --- scatter / density core ---------------------------------------------------------------------------------
def _data_range(values: np.ndarray, pad: float = 0.05) -> tuple[float, float]:
    if values.size == 0:
        return (0.0, 1.0)
    low, high = float(values.min()), float(values.max())
    if low == high:
        return (low - 0.5, high + 0.5)
    margin = pad * (high - low)
    return (low - margin, high + margin)


def _default_bins(xrange, yrange, xstep: float, ystep: float) -> tuple[int, int]:
    nx = int(np.clip(round((xrange[1] - xrange[0]) / xstep), 10, 300))
    ny = int(np.clip(round((yrange[1] - yrange[0]) / ystep), 10, 300))
    return nx, ny


def _histogram(x, y, xedges, yedges) -> np.ma.MaskedArray:
    counts, _, _ = np.histogram2d(x, y, bins=[xedges, yedges])
    return np.ma.masked_equal(counts.T, 0)  # rows are y bins, for imshow; empty bins stay transparent


def _with_count(base: str, n: int) -> str:
    return f"{base} (N = {n:,})"


def _dropped_title(n_dropped: int, n_outside: int = 0) -> str | None:
    """The legend's title: the rows left out, those with NaN and those outside the axes' ranges."""
    rows = "row" if (n_dropped or n_outside) == 1 else "rows"
    parts = ["with NaN"] if n_dropped else []
    parts += [f"{n_outside:,} outside the axes" if n_dropped else "outside the axes"] if n_outside else []
    if not parts:
        return None
    return f"{n_dropped or n_outside:,} {rows} {' and '.join(parts)} not shown"


def _points_legend(ax: Axes, loc: LegendLocType | Literal["below"], n_dropped: tuple[int, int]) -> None:
    handles: list[Any] = []
    main = _find_gid(ax, GID_POINTS) or _find_gid(ax, GID_DENSITY)
    if main is not None:
        if main.get_gid() == GID_DENSITY:
            proxy = Patch(facecolor=main.get_cmap()(0.7), edgecolor="none", label=main.get_label())
            handles.append(proxy)
        else:
            handles.append(main)
    extra = _find_gid(ax, GID_EXTRA)
    if extra is not None and not extra.get_label().startswith("_"):
        handles.append(extra)
    locus = _find_gid(ax, GID_LOCUS)
    if locus is not None:
        handles.append(locus)
    title = _dropped_title(*n_dropped)
    if loc == "below":
        legend = ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14),
            title=title,
            markerscale=1.5,
            frameon=False,
        )
    else:
        legend = ax.legend(handles=handles, loc=loc, title=title, markerscale=1.5)
    for marker in legend.legend_handles:  # the dense diagrams' points (1.5 pt^2) would be specks in the legend
        if isinstance(marker, PathCollection):
            marker.set_sizes(np.maximum(marker.get_sizes(), _LEGEND_MARKER_SIZE))


def _draw_points(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    extra: tuple[np.ndarray, np.ndarray] | None,
    *,
    xrange,
    yrange,
    invert_y: bool,
    density,
    density_threshold: int,
    bins,
    bin_steps: tuple[float, float],
    label: str,
    extra_label: str,
    marker_size: float | None,
    colorbar: bool,
) -> tuple[int, int]:
    """Scatter (or bin) the finite points and the ``extra`` subset; return the rows left out: not finite, and
    outside the ranges (so that the legend's N is what the figure shows)."""
    x, y, n_dropped = finite_pair(x, y)
    xr = xrange if xrange is not None else _data_range(x)
    yr = yrange if yrange is not None else _data_range(y)
    inside = (x >= min(xr)) & (x <= max(xr)) & (y >= min(yr)) & (y <= max(yr))
    n_outside = int(np.count_nonzero(~inside))
    x, y = x[inside], y[inside]
    n = x.size
    use_density = (n > density_threshold) if density is None else bool(density)
    size = marker_size if marker_size is not None else (8.0 if n < 1000 else 4.0 if n < 10_000 else 1.5)
    if use_density:
        _draw_density(
            ax, x, y, xr, yr, bins if bins is not None else _default_bins(xr, yr, *bin_steps), label, colorbar
        )
    else:
        ax.scatter(
            x,
            y,
            s=size,
            c=COLORS["points"],
            marker="o",
            linewidths=0,
            alpha=0.7 if n < 10_000 else 0.4,
            gid=GID_POINTS,
            label=_with_count(label, n),
            rasterized=n > _RASTERIZE_ABOVE,
            zorder=2,
        )
    n_extra_dropped, n_extra_outside = _draw_extra(ax, extra, (xr, yr), size, extra_label)
    ax.set_xlim(xr)
    ax.set_ylim((yr[1], yr[0]) if invert_y else yr)
    return n_dropped + n_extra_dropped, n_outside + n_extra_outside


def _draw_density(ax: Axes, x: np.ndarray, y: np.ndarray, xr, yr, nbins, label: str, colorbar: bool) -> None:
    """A 2-d histogram of the points on a log colour scale (empty bins blank), with an optional colour bar."""
    nbx, nby = (nbins, nbins) if np.ndim(nbins) == 0 else nbins
    xedges = np.linspace(xr[0], xr[1], int(nbx) + 1)
    yedges = np.linspace(yr[0], yr[1], int(nby) + 1)
    counts = _histogram(x, y, xedges, yedges)
    vmax = max(float(counts.max()) if counts.count() else 1.0, 2.0)
    image = ax.imshow(
        counts,
        origin="lower",
        extent=(xedges[0], xedges[-1], yedges[0], yedges[-1]),
        aspect="auto",
        interpolation="nearest",
        cmap=DENSITY_CMAP,
        norm=LogNorm(vmin=1.0, vmax=vmax),
        gid=GID_DENSITY,
        label=_with_count(label, x.size),
        zorder=1,
    )
    if colorbar:
        bar = ax.figure.colorbar(image, ax=ax, label="sources per bin", pad=0.02)
        bar.ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))


def _draw_extra(
    ax: Axes, extra: tuple[np.ndarray, np.ndarray] | None, ranges: tuple, size: float, extra_label: str
) -> tuple[int, int]:
    """Scatter the extra subset's points inside ``ranges`` (x, y) on top; return how many of its rows it left out:
    not finite, and outside the ranges (as for the main points, so that its legend's N is what is drawn).

    The extra subset always gets an artist (possibly empty) so that a widget can fill it later.
    """
    if extra is not None:
        ex, ey, n_extra_dropped = finite_pair(*extra)
    else:
        ex, ey, n_extra_dropped = np.empty(0), np.empty(0), 0
    (xr, yr) = ranges
    inside = (ex >= min(xr)) & (ex <= max(xr)) & (ey >= min(yr)) & (ey <= max(yr))
    n_extra_outside = int(np.count_nonzero(~inside))
    ex, ey = ex[inside], ey[inside]
    ax.scatter(
        ex,
        ey,
        s=size * 1.6,
        c=COLORS["extra"],
        marker="^",
        linewidths=0,
        alpha=0.85,
        gid=GID_EXTRA,
        label=_with_count(extra_label, ex.size) if extra is not None else "_extra",
        rasterized=ex.size > _RASTERIZE_ABOVE,
        zorder=3,
    )
    return n_extra_dropped, n_extra_outside


def _label_axes(ax: Axes, xlabel: str, ylabel: str, title: str | None) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)


def _find_gid(ax: Axes, gid: str):
    for artist in (*ax.collections, *ax.images, *ax.lines):
        if artist.get_gid() == gid:
            return artist
    return None


def _extra_pair(extra, name_y: str, name_x: str, to_array) -> tuple[np.ndarray, np.ndarray] | None:
    """``extra`` is given in the same order as the main arguments: ``(y_values, x_values)``."""
    if extra is None:
        return None
    try:
        first, second = extra
    except (TypeError, ValueError):
        raise ValueError(f"extra must be a pair ({name_y}, {name_x}) of equal-length arrays") from None
    y = to_array(first, f"extra {name_y}")
    x = to_array(second, f"extra {name_x}")
    _check_same_length(**{f"extra_{name_y}": y, f"extra_{name_x}": x})
    return x, y


# --- colour-magnitude diagram -------------------------------------------------------------------------------
def plot_cmd(
    mag_y: ArrayLike,
    color: ArrayLike,
    *,
    ax: Axes | None = None,
    y_label: str = "i",
    color_label: str = "r - i",
    density: bool | None = None,
    density_threshold: int = DENSITY_THRESHOLD,
    mag_range: tuple[float, float] | None = (16.0, 26.0),
    color_range: tuple[float, float] | None = (-0.5, 3.0),
    extra: tuple[ArrayLike, ArrayLike] | None = None,
    label: str = "sources",
    extra_label: str = "removed by the last cut",
    title: str | None = None,
    bins: int | tuple[int, int] | None = None,
    marker_size: float | None = None,
    legend: bool = True,
    colorbar: bool = True,
    figsize: tuple[float, float] = (5.0, 5.0),
) -> Figure:
    """Draw the lesson's colour-magnitude diagram: a magnitude (i by default) against a colour (r - i).

    Bright objects are at the top, faint ones at the bottom (the y axis is inverted), as astronomers draw it.

    Parameters
    ----------
    mag_y : array-like, astropy Column or Quantity
        Magnitudes for the y axis (AB mag), one per catalogue row. A magnitude unit is stripped; a flux unit
        raises :class:`astropy.units.UnitsError`.
    color : array-like, astropy Column or Quantity
        Colours for the x axis (mag), row-for-row with ``mag_y``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new ``figsize`` figure is made when omitted.
    y_label, color_label : str
        Band of the y axis and colour of the x axis; the axis labels become ``"i [AB mag]"`` and
        ``"r − i [mag]"``. A label that already contains ``[`` is used as it is.
    density : bool, optional
        ``True`` draws a 2-D histogram (log-scaled counts, ``cividis``), ``False`` a scatter plot; by default
        the histogram is used when there are more than ``density_threshold`` finite points.
    density_threshold : int
        See ``density``; :data:`DENSITY_THRESHOLD` (20 000) by default.
    mag_range, color_range : tuple of float or None
        Axis limits, ``(bright, faint)`` in either order and ``(blue, red)``; the lesson's defaults are
        16 to 26 mag and -0.5 to 3 mag. ``None`` fits the limits to the data. In density mode these are also
        the limits of the histogram, so points outside them are not binned.
    extra : tuple of array-like, optional
        A second subset ``(mag_y, color)``, e.g. the rows removed by the last cut, drawn over the first as
        vermillion triangles. Non-finite values are dropped and counted as for the main sample.
    label, extra_label : str
        Legend names of the two samples; ``" (N = ...)"`` is appended.
    title : str, optional
        Axes title.
    bins : int or (int, int), optional
        Histogram bins (x, y) in density mode; by default 0.05 mag in colour and 0.1 mag in magnitude.
    marker_size : float, optional
        Scatter marker area in points^2; by default it shrinks as the number of points grows.
    legend, colorbar : bool
        Whether to draw the legend (with the counts) and, in density mode, the colour bar.
    figsize : tuple of float
        Size of a new figure, in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure. In scatter mode the main points are ``ax.collections[0]`` (gid ``"points"``), in density
        mode the image ``ax.images[0]`` (gid ``"points-density"``); the ``extra`` subset has gid ``"extra"``.
        The legend reports ``N`` drawn and, in its title, the rows with NaN left out.

    Raises
    ------
    ValueError
        If ``mag_y`` and ``color`` (or the two parts of ``extra``) differ in length.
    astropy.units.UnitsError
        If an input carries a unit that is not a magnitude.

    Examples
    --------
    >>> fig = plot_cmd(i_mag, r_mag - i_mag)  # doctest: +SKIP
    """
    return _diagram(
        (mag_y, "mag_y", mag_range, _axis_label(y_label, "AB mag")),
        (color, "color", color_range, _axis_label(color_label, "mag")),
        extra,
        ax=ax,
        figsize=figsize,
        invert_y=True,
        bin_steps=(0.05, 0.1),
        legend_loc=_CMD_LEGEND_LOC if legend else None,
        draw_options={
            "density": density,
            "density_threshold": density_threshold,
            "bins": bins,
            "label": label,
            "extra_label": extra_label,
            "marker_size": marker_size,
            "colorbar": colorbar,
        },
        title=title,
    )


def _diagram(
    y_axis: tuple[Any, str, tuple[float, float] | None, str],
    x_axis: tuple[Any, str, tuple[float, float] | None, str],
    extra: tuple[ArrayLike, ArrayLike] | None,
    *,
    ax: Axes | None,
    figsize: tuple[float, float],
    invert_y: bool,
    bin_steps: tuple[float, float],
    legend_loc: LegendLocType | Literal["below"] | None,
    draw_options: dict[str, Any],
    title: str | None,
    locus: tuple[tuple[float, float], str] | None = None,
) -> Figure:
    """The body of :func:`plot_cmd` and :func:`plot_color_color`: one axis is ``(values, name, range, label)``."""
    (y_values, y_name, y_range, y_label), (x_values, x_name, x_range, x_label) = y_axis, x_axis
    y = _as_magnitudes(y_values, y_name)
    x = _as_magnitudes(x_values, x_name)
    _check_same_length(**{y_name: y, x_name: x})
    extra_xy = _extra_pair(extra, y_name, x_name, _as_magnitudes)
    y_lim = _sorted_range(y_range, f"{y_name.removesuffix('_y')}_range")
    x_lim = _sorted_range(x_range, f"{x_name}_range")
    with mpl.rc_context(_STYLE):
        fig, ax = _figure_and_axes(ax, figsize)
        n_dropped = _draw_points(
            ax, x, y, extra_xy, xrange=x_lim, yrange=y_lim, invert_y=invert_y, bin_steps=bin_steps, **draw_options
        )
        if invert_y:
            ax.yaxis.set_inverted(True)  # faint at the bottom, also when the range is None
        if locus is not None:
            _draw_locus(ax, *locus)
        _label_axes(ax, x_label, y_label, title)
        if legend_loc is not None:
            _points_legend(ax, legend_loc, n_dropped)
    return fig


# --- colour-colour diagram and the stellar locus ------------------------------------------------------------
def plot_color_color(
    g_r: ArrayLike,
    r_i: ArrayLike,
    *,
    ax: Axes | None = None,
    show_locus: bool = True,
    locus_range: tuple[float, float] = (0.0, 2.5),
    locus_system: str = "sdss",
    density: bool | None = None,
    density_threshold: int = DENSITY_THRESHOLD,
    g_r_range: tuple[float, float] | None = (-0.5, 2.0),
    r_i_range: tuple[float, float] | None = (-0.5, 3.0),
    g_r_label: str = "g - r",
    r_i_label: str = "r - i",
    extra: tuple[ArrayLike, ArrayLike] | None = None,
    label: str = "sources",
    extra_label: str = "removed by the last cut",
    title: str | None = None,
    bins: int | tuple[int, int] | None = None,
    marker_size: float | None = None,
    legend: bool = True,
    colorbar: bool = True,
    figsize: tuple[float, float] = (5.0, 4.5),
) -> Figure:
    """Draw a colour-colour diagram, g - r (y) against r - i (x), with the stellar locus.

    Stars follow the locus of :func:`stellar_locus_g_r` (Jurić et al. 2008, ApJ 673, 864; Ivezić et al.
    2008, ApJ 684, 287): g - r rises with r - i and saturates near 1.39 for M dwarfs. Galaxies and quasars
    scatter away from it, which makes this diagram a check of a star/galaxy separation.

    Parameters
    ----------
    g_r, r_i : array-like, astropy Column or Quantity
        Colours (mag), row-for-row; ``g_r`` is drawn on the y axis, ``r_i`` on the x axis.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new ``figsize`` figure is made when omitted.
    show_locus : bool
        Draw the stellar locus (black line, gid ``"locus"``) over ``locus_range`` in r - i.
    locus_range : tuple of float
        r - i interval over which the locus is drawn.
    locus_system : {"sdss", "hsc"}
        Draw the SDSS locus (:func:`stellar_locus_g_r`) or the same locus in HSC colours
        (:func:`stellar_locus_g_r_hsc`, obs_subaru's colour terms), for HSC magnitudes such as the lessons'.
    density, density_threshold, bins, marker_size, legend, colorbar, title, figsize
        As for :func:`plot_cmd` (bins default to 0.05 mag in both colours).
    g_r_range, r_i_range : tuple of float or None
        Axis limits in mag; ``None`` fits them to the data.
    g_r_label, r_i_label : str
        Axis names; ``" [mag]"`` is appended and ``-`` becomes a minus sign.
    extra : tuple of array-like, optional
        A second subset ``(g_r, r_i)`` drawn over the first in vermillion.
    label, extra_label : str
        Legend names of the two samples.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; artists as described for :func:`plot_cmd`.

    Raises
    ------
    ValueError
        If ``g_r`` and ``r_i`` (or the parts of ``extra``) differ in length.
    """
    return _diagram(
        (g_r, "g_r", g_r_range, _axis_label(g_r_label, "mag")),
        (r_i, "r_i", r_i_range, _axis_label(r_i_label, "mag")),
        extra,
        ax=ax,
        figsize=figsize,
        invert_y=False,
        bin_steps=(0.05, 0.05),
        legend_loc=_CC_LEGEND_LOC if legend else None,
        draw_options={
            "density": density,
            "density_threshold": density_threshold,
            "bins": bins,
            "label": label,
            "extra_label": extra_label,
            "marker_size": marker_size,
            "colorbar": colorbar,
        },
        title=title,
        locus=(locus_range, locus_system) if show_locus else None,
    )


def _draw_locus(ax: Axes, locus_range: tuple[float, float], locus_system: str) -> None:
    """The stellar locus g - r(r - i) over ``locus_range``, in SDSS or HSC colours."""
    limits = _sorted_range(locus_range, "locus_range")
    if limits is None:
        raise ValueError("locus_range must be the (min, max) r - i over which to draw the locus, e.g. (-0.2, 1.8)")
    x = np.linspace(*limits, 300)
    hsc = locus_system_name(locus_system) == "hsc"
    ax.plot(
        x,
        (stellar_locus_g_r_hsc if hsc else stellar_locus_g_r)(x),
        color=COLORS["locus"],
        lw=1.5,
        gid=GID_LOCUS,
        zorder=4,
        label="stellar locus (Juri\N{LATIN SMALL LETTER C WITH CARON} et al. 2008" + (", HSC colours)" if hsc else ")"),
    )


# --- sources on the sky map ---------------------------------------------------------------------------------
def _wrap_ra(ra: np.ndarray, reference: float) -> np.ndarray:
    """RA within 180 deg of ``reference``, so that a field across RA = 0 is drawn in one piece."""
    return reference + (np.asarray(ra, dtype=float) - reference + 180.0) % 360.0 - 180.0


def _as_id_set(value, name: str) -> set | None:
    if value is None:
        return None
    if isinstance(value, str | int | np.integer):
        return {value}
    if name == "patch" and isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return {f"{value[0]},{value[1]}"}  # one patch's (x, y) index, as getPatchInfo((x, y)) takes it
    if isinstance(value, Iterable):
        return set(value)
    raise TypeError(f"{name} must be an id or a list of ids; got {value!r}")


def _patch_wanted(patch_info, wanted: set | None) -> bool:
    if wanted is None:
        return True
    return patch_info.getSequentialIndex() in wanted or patch_info.gen2_name in wanted


def _check_patches_exist(tracts: list, wanted: set | None) -> None:
    """ValueError naming the wanted patches that no drawn tract has, and the ids it has."""
    if wanted is None or not tracts:
        return
    known = {key for t in tracts for p in t for key in (p.getSequentialIndex(), p.gen2_name)}
    missing = [w for w in wanted if w not in known]
    if missing:
        ids = sorted({p.getSequentialIndex() for t in tracts for p in t})
        raise ValueError(
            f"no patch {', '.join(repr(m) for m in missing)} in the tract(s) drawn: patches are Gen3 ids "
            f"{ids[0]} to {ids[-1]} (integers) or Gen2 names such as {next(iter(tracts[0])).gen2_name!r}"
        )


def _maybe_warn_radians(ra, dec, skymap) -> None:
    """Warn when unitless coordinates look like radians, e.g. ``np.asarray(ref['coord_ra'])``."""
    finite = np.isfinite(ra) & np.isfinite(dec)
    if not finite.any() or np.abs(ra[finite]).max() > 2 * np.pi or np.abs(dec[finite]).max() > np.pi / 2:
        return
    centres_ra = np.array([t.getCtrCoord()[0] for t in skymap])
    if centres_ra.size == 0:
        return
    median = float(np.median(ra[finite]))

    def near(value: float) -> bool:
        return bool((np.abs((centres_ra - value + 180.0) % 360.0 - 180.0) < 10.0).any())

    if not near(median) and near(math.degrees(median)):
        warnings.warn(
            "ra_deg/dec_deg have no unit and look like radians (coord_ra and coord_dec are stored in "
            "radians); pass the astropy columns themselves, or convert with np.degrees",
            UserWarning,
            stacklevel=3,
        )


def plot_sky(
    ra_deg: ArrayLike,
    dec_deg: ArrayLike,
    *,
    skymap: SkyMap | None = None,
    tract: int | Iterable[int] | None = None,
    patch: int | str | tuple[int, int] | Iterable[int | str] | None = None,
    highlight: ArrayLike | None = None,
    ax: Axes | None = None,
    label: str = "sources",
    highlight_label: str = "highlighted",
    show_outer: bool = True,
    label_patches: bool = True,
    title: str | None = None,
    marker_size: float | None = None,
    legend: bool = True,
    figsize: tuple[float, float] = (6.0, 4.5),
) -> Figure:
    """Draw sources on the sky with the tracts and patches of a sky map.

    RA increases to the left (east is left when north is up), as on the sky. Each patch's inner box is drawn
    solid and its outer box (inner box plus the 100-pixel border, clipped to the tract) dashed, in the colour
    of its tract; the tract boundary is the thick line. Sources in the overlaps of outer boxes are measured
    in more than one patch (or tract): those are the duplicates ``detect_isPrimary`` removes, and a
    ``highlight`` mask such as ``~ref['detect_isPrimary']`` shows them.

    Parameters
    ----------
    ra_deg, dec_deg : array-like, astropy Column or Quantity
        Positions, row-for-row. Columns or Quantities with an angle unit are converted (``coord_ra`` and
        ``coord_dec`` are in radians); plain numbers are taken to be degrees (a warning is given when they
        look like radians).
    skymap : tutorial_lib.skymap.SkyMap, optional
        Sky map whose tracts and patches are drawn, e.g. :func:`tutorial_lib.skymap.make_lesson_skymap`.
    tract : int or list of int, optional
        Draw only these tracts (all by default).
    patch : int, str, tuple or list, optional
        Draw only these patches of each tract, by Gen3 id (``4``), Gen2 name (``"1,1"``) or index tuple
        (``(1, 1)``, as ``getPatchInfo`` takes it); several as a list (``[3, 4]``).
    highlight : array of bool, optional
        Mask, row-for-row with the positions, of sources to draw on top in vermillion.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new ``figsize`` figure is made when omitted.
    label, highlight_label : str
        Legend names of all sources and of the highlighted ones; ``" (N = ...)"`` is appended.
    show_outer : bool
        Draw the outer (dashed) patch boxes.
    label_patches : bool
        Write each patch's Gen3 id at the centre of its inner box.
    title : str, optional
        Axes title.
    marker_size : float, optional
        Marker area in points^2; by default it shrinks as the number of points grows.
    legend : bool
        Draw a legend below the axes.
    figsize : tuple of float
        Size of a new figure, in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure. The sources are ``ax.collections[0]`` (gid ``"sky-sources"``), the highlighted ones gid
        ``"sky-highlight"``; tract outlines and patch boxes are :class:`~matplotlib.patches.Polygon` patches
        in ``ax.patches`` with gids ``"tract"``, ``"patch-inner"`` and ``"patch-outer"``.

    Raises
    ------
    ValueError
        If the inputs differ in length or ``highlight`` is not boolean.
    """
    _check_skymap(skymap)
    ra, dec, mask = _sky_positions(ra_deg, dec_deg, highlight, skymap)
    finite = np.isfinite(ra) & np.isfinite(dec)
    tracts = _wanted_tracts(skymap, tract)
    if finite.any():
        reference = float(np.median(ra[finite]))
    elif tracts:
        reference = float(tracts[0].getCtrCoord()[0])
    else:
        reference = 180.0
    wanted_patches = _as_id_set(patch, "patch")
    _check_patches_exist(tracts, wanted_patches)

    with mpl.rc_context(_STYLE):
        fig, ax = _figure_and_axes(ax, figsize)
        handles = _draw_sky_sources(ax, ra, dec, finite, mask, reference, label, highlight_label, marker_size)
        for k, tract_info in enumerate(tracts):
            colour = COLORS["tracts"][k % len(COLORS["tracts"])]
            _draw_tract(ax, tract_info, colour, reference, wanted_patches, show_outer, label_patches)
            handles.append(Line2D([], [], color=colour, lw=2.0, label=f"tract {tract_info.getId()}"))
        if tracts:
            handles.append(Line2D([], [], color="0.3", lw=0.9, label="patch inner box"))
            if show_outer:
                handles.append(Line2D([], [], color="0.3", lw=0.8, ls=(0, (4, 2)), label="patch outer box"))
        _finish_sky_axes(ax, title)
        if legend:
            ax.legend(
                handles=handles,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.14),
                ncols=2,
                title=_dropped_title(int(finite.size - finite.sum())),
                markerscale=1.5,
                frameon=False,
            )
    return fig


def _sky_positions(ra_deg, dec_deg, highlight, skymap) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Degrees and the highlight mask of :func:`plot_sky`'s inputs, checked for length and dtype."""
    (ra, ra_has_unit), (dec, dec_has_unit) = as_degrees(ra_deg, "ra_deg"), as_degrees(dec_deg, "dec_deg")
    ra, dec = as_float_array(ra, "ra_deg"), as_float_array(dec, "dec_deg")  # one value per row
    with np.errstate(invalid="ignore"):
        off_sky = np.abs(dec) > 90
    if np.any(off_sky):
        raise ValueError(
            f"dec_deg holds {np.count_nonzero(off_sky):,} value(s) beyond +-90 deg "
            f"(up to {np.nanmax(np.abs(dec)):.4g}): were ra and dec swapped?"
        )
    lengths = {"ra_deg": ra, "dec_deg": dec}
    mask = None
    if highlight is not None:
        mask = as_array(highlight)  # a masked entry is not highlighted
        if mask.dtype != bool:
            raise ValueError(f"highlight must be a boolean mask, one value per row; got dtype {mask.dtype}")
        lengths["highlight"] = mask
    _check_same_length(**lengths)
    if skymap is not None and not (ra_has_unit or dec_has_unit):
        _maybe_warn_radians(ra, dec, skymap)
    return ra, dec, mask


def _check_skymap(skymap: Any) -> None:
    """TypeError unless ``skymap`` is None or a sky map (not its name, nor one of its tracts)."""
    if skymap is None or hasattr(skymap, "findTract"):
        return
    if hasattr(skymap, "getVertexList"):  # a TractInfo
        raise TypeError("skymap is one tract; pass the whole sky map and choose the tract with tract=...")
    raise TypeError(
        f"skymap must be the sky map itself, not the {type(skymap).__name__} {skymap!r:.40}: "
        "skymap = butler.get('skyMap', skymap='discrete')"
    )


def _wanted_tracts(skymap, tract) -> list:
    """The tracts of ``skymap`` that ``tract`` names (all when None); none without a sky map."""
    if skymap is None:
        return []
    wanted = _as_id_set(tract, "tract")
    if wanted is None:
        return list(skymap)
    missing = wanted - {t.getId() for t in skymap}
    if missing:
        raise ValueError(f"sky map has tracts {[t.getId() for t in skymap]}; not {sorted(missing)}")
    return [t for t in skymap if t.getId() in wanted]


def _draw_sky_sources(
    ax: Axes,
    ra: np.ndarray,
    dec: np.ndarray,
    finite: np.ndarray,
    mask: np.ndarray | None,
    reference: float,
    label: str,
    highlight_label: str,
    marker_size: float | None,
) -> list:
    """Scatter the finite positions and, on top, the highlighted ones; return their legend handles."""
    n = int(finite.sum())
    size = marker_size if marker_size is not None else (6.0 if n < 2000 else 2.0 if n < 20_000 else 0.5)
    sources = ax.scatter(
        _wrap_ra(ra[finite], reference),
        dec[finite],
        s=size,
        c=COLORS["sources"],
        linewidths=0,
        alpha=0.35 if n > 500 else 0.6,
        gid=GID_SKY_SOURCES,
        label=_with_count(label, n),
        rasterized=n > _RASTERIZE_ABOVE,
        zorder=2,
    )
    handles = [sources]
    if mask is not None:
        chosen = mask & finite
        shown = ax.scatter(
            _wrap_ra(ra[chosen], reference),
            dec[chosen],
            s=size * 2.5 + 4,
            c=COLORS["highlight"],
            marker="D",
            linewidths=0,
            gid=GID_SKY_HIGHLIGHT,
            label=_with_count(highlight_label, int(chosen.sum())),
            rasterized=chosen.sum() > _RASTERIZE_ABOVE,
            zorder=3,
        )
        handles.append(shown)
    return handles


def _draw_tract(
    ax: Axes, tract_info, colour, reference: float, wanted_patches: set | None, show_outer: bool, label_patches: bool
) -> None:
    """Outline one tract and its wanted patches' inner (solid) and outer (dashed) boxes, with their ids."""
    corners = tract_info.getVertexList().copy()
    corners[:, 0] = _wrap_ra(corners[:, 0], reference)
    ax.add_patch(Polygon(corners, closed=True, fill=False, edgecolor=colour, lw=2.0, gid=GID_TRACT, zorder=4))
    for patch_info in tract_info:
        if not _patch_wanted(patch_info, wanted_patches):
            continue
        boxes: list[tuple[Any, Any, float, str]] = [(patch_info.getInnerBBox(), "-", 0.9, GID_PATCH_INNER)]
        if show_outer:
            boxes.append((patch_info.getOuterBBox(), (0, (4, 2)), 0.8, GID_PATCH_OUTER))
        for box, style, width, gid in boxes:
            vertices = tract_info.box_vertices(box).copy()
            vertices[:, 0] = _wrap_ra(vertices[:, 0], reference)
            ax.add_patch(
                Polygon(
                    vertices, closed=True, fill=False, edgecolor=colour, linestyle=style, lw=width, gid=gid, zorder=4
                )
            )
        if label_patches:
            centre = tract_info.box_vertices(patch_info.getInnerBBox()).mean(axis=0)
            ax.text(
                float(_wrap_ra(centre[0], reference)),
                float(centre[1]),
                str(patch_info.getSequentialIndex()),
                color="0.1",
                fontsize=7,
                ha="center",
                va="center",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": colour, "lw": 0.8, "alpha": 0.85},
            )


def _finish_sky_axes(ax: Axes, title: str | None) -> None:
    """Limits, RA increasing to the left, an aspect true at the mean Dec, labels and title."""
    ax.autoscale_view()
    ax.margins(0.04)
    ax.xaxis.set_inverted(True)  # RA increases to the left
    dec_mid = float(np.mean(ax.get_ylim()))
    ax.set_aspect(1.0 / max(math.cos(math.radians(dec_mid)), 0.05), adjustable="datalim")
    for axis in (ax.xaxis, ax.yaxis):
        formatter = axis.get_major_formatter()
        if isinstance(formatter, ticker.ScalarFormatter):
            formatter.set_useOffset(False)
    ax.set_xlabel("RA [deg]")
    ax.set_ylabel("Dec [deg]")
    if title:
        ax.set_title(title)


# --- selection funnel ---------------------------------------------------------------------------------------
_FUNNEL_COLUMNS = ("criterion", "n_kept_alone", "n_kept_cumulative")


def _funnel_columns(funnel_table, label_column: str):
    missing = []
    columns = {}
    for name in dict.fromkeys((*_FUNNEL_COLUMNS, label_column)):
        try:
            columns[name] = funnel_table[name]
        except (KeyError, IndexError, ValueError, TypeError):
            missing.append(name)
    if missing:
        raise ValueError(
            f"funnel_table needs the columns {list(dict.fromkeys((*_FUNNEL_COLUMNS, label_column)))}; "
            f"missing {missing} "
            "(pass Selection.funnel(), an astropy Table, a pandas DataFrame or a dict of columns)"
        )
    criteria = [str(c) for c in np.asarray(columns[label_column]).tolist()]
    alone = np.asarray(columns["n_kept_alone"], dtype=float)
    cumulative = np.asarray(columns["n_kept_cumulative"], dtype=float)
    _check_same_length(criterion=np.asarray(criteria), n_kept_alone=alone, n_kept_cumulative=cumulative)
    return criteria, alone, cumulative


def _draw_funnel_bars(ax: Axes, y: np.ndarray, alone: np.ndarray, cumulative: np.ndarray, show_alone: bool) -> None:
    """The wide light bars (kept alone, if shown) and the narrow dark ones (kept cumulatively)."""
    if show_alone:
        ax.barh(
            y,
            alone,
            height=0.8,
            color=COLORS["alone"],
            alpha=0.55,
            edgecolor="none",
            gid=GID_FUNNEL_ALONE,
            label="kept by this criterion alone",
            zorder=2,
        )
    ax.barh(
        y,
        cumulative,
        height=0.42,
        color=COLORS["cumulative"],
        edgecolor="none",
        gid=GID_FUNNEL_CUMULATIVE,
        label="kept by this and all criteria above",
        zorder=3,
    )


def _annotate_funnel(
    ax: Axes, alone: np.ndarray, cumulative: np.ndarray, n_total: int | None, show_alone: bool
) -> None:
    """Write each row's cumulative count (with its percentage of ``n_total``) and count alone after its bars."""
    for row in range(len(cumulative)):
        text = f"{cumulative[row]:,.0f}"
        if n_total:
            text += f" ({100.0 * cumulative[row] / n_total:.0f}%)"
        if show_alone:
            text += f"; alone {alone[row]:,.0f}"
        end = max(cumulative[row], alone[row] if show_alone else 0.0)
        ax.annotate(
            text,
            xy=(0 if not np.isfinite(end) else end, row),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize=7,
            zorder=5,
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
        )


def plot_funnel(
    funnel_table: Any,
    *,
    ax: Axes | None = None,
    n_total: int | None = None,
    label_column: str = "criterion",
    show_alone: bool = True,
    title: str | None = None,
    legend: bool = True,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw the funnel of a selection: how many rows survive each criterion, in order.

    One row per criterion, first at the top. The dark bar is the number of rows kept by this criterion and
    all those above it (cumulative); the wide light bar the number this criterion keeps on its own. A
    criterion whose light bar is much longer than its dark bar mostly removes rows that earlier cuts already
    removed. Each row is annotated with the cumulative count (and its percentage of ``n_total``) and the
    count alone.

    Parameters
    ----------
    funnel_table : astropy.table.Table, pandas.DataFrame or dict
        Rows in the order the criteria are applied, with columns ``criterion`` (str), ``n_kept_alone`` and
        ``n_kept_cumulative`` (int), as returned by ``tutorial_lib.selection.Selection.funnel()``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is made when omitted.
    n_total : int, optional
        Number of rows before any cut; drawn as a dotted line and used for percentages. By default taken
        from ``funnel_table.meta["n_total"]`` when present.
    label_column : str
        Column whose text labels the rows: ``"criterion"`` by default; ``Selection.funnel()`` also has a
        longer ``"label"``.
    show_alone : bool
        Draw the light "alone" bars.
    title : str, optional
        Axes title.
    legend : bool
        Draw the legend (in a band kept free below the last criterion).
    figsize : tuple of float, optional
        Size of a new figure; by default 6 inches wide and 0.45 inch per criterion plus 1.6 inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; bars are rectangles in ``ax.patches`` with gids ``"funnel-cumulative"`` and
        ``"funnel-alone"``.

    Raises
    ------
    ValueError
        If a column is missing or the columns differ in length, or ``n_total`` is smaller than a bar.
    """
    criteria, alone, cumulative = _funnel_columns(funnel_table, label_column)
    if n_total is None:
        meta = getattr(funnel_table, "meta", None) or {}
        n_total = meta.get("n_total") if hasattr(meta, "get") else None
    if n_total is not None:
        biggest_bar = int(max(np.max(alone, initial=0), np.max(cumulative, initial=0)))
        if isinstance(n_total, bool) or not float(n_total).is_integer() or n_total < biggest_bar:
            raise ValueError(
                f"n_total must be the number of rows before any cut, at least the largest bar ({biggest_bar:,}); "
                f"got {n_total!r}"
            )
    n_rows = len(criteria)
    if figsize is None:
        figsize = (6.0, 0.45 * n_rows + 1.6)
    with mpl.rc_context(_STYLE):
        fig, ax = _figure_and_axes(ax, figsize)
        y = np.arange(n_rows)
        _draw_funnel_bars(ax, y, alone, cumulative, show_alone)
        _annotate_funnel(ax, alone, cumulative, n_total, show_alone)
        largest = np.nanmax(np.concatenate([cumulative, alone if show_alone else [], [n_total or 0]]))
        largest = largest if np.isfinite(largest) and largest > 0 else 1.0
        if n_total:
            ax.axvline(n_total, color=COLORS["total"], ls=":", lw=1.0, label=f"all rows ({n_total:,})", zorder=4)
        ax.set_xlim(0, largest * 1.55)
        ax.set_yticks(y, criteria)
        # Criteria read top to bottom; a free band of 1.6 rows below the last one holds the legend.
        ax.set_ylim(n_rows - 0.5 + (1.6 if legend else 0.0), -0.6)
        ax.xaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
        ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=5, integer=True))
        ax.set_xlabel("rows kept")
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", color="0.88", lw=0.6, zorder=0)
        ax.set_axisbelow(True)
        if title:
            ax.set_title(title)
        if legend:
            ax.legend(loc="lower right", frameon=False)
    return fig
