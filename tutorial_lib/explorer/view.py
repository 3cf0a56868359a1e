"""The explorer's view: the ipywidgets layout, the ipympl figure and the HTML texts of one state.

:class:`ExplorerView` draws any state that follows the protocol of :mod:`tutorial_lib.explorer` and turns the
learner's clicks into ``state.apply(state.validate(changes))``. After a change it sends, in this order, the
checkbox states and the count (small messages the browser shows at once), then the figure, then the
explanation, funnel, truth and messages; a widget whose text did not change sends nothing (traitlets only
notify real changes).

The figure is drawn once (axes, labels, a fixed legend) and laid out once; its data artists are "animated",
so after the browser's first full draw the background is kept and a change redraws only the points over it
(blitting). A state may give a density image instead of points (``Frame.image``): it is drawn by an
``AxesImage`` made on first use, blitted the same way.

A callback never raises into the kernel's log: a failure becomes a message in the widget and its traceback
is logged (logger ``tutorial_lib.explorer``).
"""

from __future__ import annotations

import functools
import html
import io
import logging
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.backend_bases import DrawEvent
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from PIL import Image

from .. import plots
from ..lesson import plural
from .raster import PixelPoints
from .state import FAINT, Frame, colour_text

__all__ = ["CSS_PREFIX", "ExplorerView"]

LOG = logging.getLogger("tutorial_lib.explorer")
#: CSS class of the explorer's box; its parts add ``-count``, ``-criterion``, ``-cb-<name>``, ``-faint``...
CSS_PREFIX = "mbt-explorer"
_MAG_RANGE = (16.0, 27.0)
_COLOUR_RANGE = (-0.5, 3.0)


def _png(rgba: np.ndarray) -> bytes:
    """An RGBA image as PNG bytes at zlib level 1 (Pillow's default level 6 costs more than the rest of a toggle).

    Parameters
    ----------
    rgba : numpy.ndarray
        ``(height, width, 4)`` array of ``uint8``.

    Returns
    -------
    bytes
        The PNG file.
    """
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


@functools.cache
def _explorer_canvas_class() -> type:
    """The ipympl canvas class of the explorer, which sends its images faster (made on first use).

    ipympl is imported here, not at module import: importing its backend switches an IPython kernel's
    matplotlib to widget figures, which would change every inline figure of a lesson that merely imports
    tutorial_lib.
    """
    from ipympl.backend_nbagg import Canvas

    class _ExplorerCanvas(Canvas):
        _png_is_old: bool
        _force_full: bool
        _last_buff: np.ndarray

        def get_diff_image(self) -> bytes | None:
            """As matplotlib's ``FigureCanvasWebAggCore.get_diff_image`` (3.10), with a faster PNG encoder."""
            if not self._png_is_old:
                return None
            pixels = np.asarray(self.get_renderer().buffer_rgba())
            buff = pixels.view(np.uint32).squeeze(2)
            full = self._force_full or buff.shape != self._last_buff.shape or (pixels[:, :, 3] != 255).any()
            self.set_image_mode("full" if full else "diff")
            output = buff if full else np.where(buff != self._last_buff, buff, 0)
            self._last_buff = buff.copy()
            self._force_full = False
            self._png_is_old = False
            return _png(output.view(np.uint8).reshape((*output.shape, 4)))

    return _ExplorerCanvas


class _ExplorerBox(widgets.VBox):
    """The explorer's VBox, whose text repr is the state's text (what nbval compares)."""

    def __init__(self, describe: Callable[[], str], children: list[widgets.Widget]) -> None:
        super().__init__(children)
        self._describe = describe

    def __repr__(self) -> str:
        return self._describe()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self._describe()  # whole, not cut at 110 characters
        return data


def density_rgba(counts: np.ndarray, cmap: str = plots.DENSITY_CMAP) -> np.ndarray:
    """Counts as RGBA bytes on a logarithmic scale from 1 to the maximum; bins under 1 are transparent.

    The colours of ``LogNorm(1, max)`` and the colour map, looked up once per bin of the histogram: matplotlib
    then only resamples the bytes to the screen, instead of normalising and colouring every screen pixel.
    """
    lut = colormaps[cmap](np.linspace(0.0, 1.0, 256), bytes=True)
    top = np.log(max(float(counts.max()) if counts.size else 1.0, 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.clip(np.log(counts) / top, 0.0, 1.0)
    rgba = lut[np.nan_to_num(level * 255.0).astype(np.uint8)]
    rgba[~(counts >= 1), 3] = 0
    return rgba


class ExplorerView:
    """Widgets and figure showing an explorer state; see the protocol in :mod:`tutorial_lib.explorer`.

    Parameters
    ----------
    state : ExplorerState or any object with the same protocol
        What is shown; the view calls ``state.validate`` and ``state.apply`` on each click.
    """

    def __init__(self, state: Any) -> None:
        self.state = state
        self._holding = False
        self._background: Any = None
        self._background_renderer: Any = None
        self._image: AxesImage | None = None
        self._build_controls()
        self._build_texts()
        self._build_figure()
        self.box = self._layout()
        self.render()

    # --- construction ------------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        state = self.state
        style = {"description_width": "initial"}
        self.checkboxes: dict[str, widgets.Checkbox] = {}
        for name, shown in state.boxes().items():
            label, _ = state.criterion_text(name)
            indent = "0 0 0 1.6em" if name in state.implied_by_shortcut else None
            box = widgets.Checkbox(
                value=shown.value,
                description=label,
                indent=False,
                style=style,
                description_allow_html=False,
                tooltip=shown.tooltip,
                layout=widgets.Layout(width="auto", margin=indent),
            )
            box.add_class(f"{CSS_PREFIX}-criterion")
            box.add_class(f"{CSS_PREFIX}-cb-{name}")
            box.observe(self._on_checkbox(name), names="value")
            self.checkboxes[name] = box
        low, high = state.faint_range
        self.slider = widgets.FloatSlider(
            value=state.faint if state.faint is not None else high,
            min=low,
            max=high,
            step=0.1,
            description=self._slider_text(),
            readout=state.faint is not None,
            readout_format=".1f",
            continuous_update=True,
            style=style,
            layout=widgets.Layout(width="300px"),
            disabled=not state.faint_enabled,
        )
        self.slider.add_class(f"{CSS_PREFIX}-faint")
        self.slider.observe(self._on_value(FAINT, float), names="value")
        self.colour_chooser = widgets.ToggleButtons(
            options=[(colour_text(c), c) for c in state.colours],
            value=state.colour,
            description="colour:",
            style={"description_width": "initial", "button_width": "5em"},
        )
        self.colour_chooser.add_class(f"{CSS_PREFIX}-colour")
        self.colour_chooser.observe(self._on_value("colour"), names="value")
        self.patch_chooser = widgets.Dropdown(
            options=state.patch_options,
            value=state.patch,
            description="patch:",
            style=style,
            layout=widgets.Layout(width="300px"),
        )
        self.patch_chooser.add_class(f"{CSS_PREFIX}-patch")
        self.patch_chooser.observe(self._on_value("patch"), names="value")

    def _build_texts(self) -> None:
        def html_widget(part: str, **layout: str) -> widgets.HTML:
            widget = widgets.HTML(layout=widgets.Layout(**layout))
            widget.add_class(f"{CSS_PREFIX}-{part}")
            return widget

        self.count = html_widget("count")
        self.explain = html_widget("explain", max_width="960px")
        self.truth = html_widget("truth")
        self.funnel = html_widget("funnel")
        self.message = html_widget("message")

    def _build_figure(self) -> None:
        from ipympl.backend_nbagg import FigureManager  # see _explorer_canvas_class

        self.figure = Figure(figsize=(5.0, 4.4), dpi=100, layout="constrained")
        self.canvas = _explorer_canvas_class()(self.figure)
        with warnings.catch_warnings():  # ipympl's Toolbar passes the canvas on to traitlets (harmless)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="traitlets")
            self._manager = FigureManager(self.canvas, 0)
        self.canvas.header_visible = False
        self.canvas.footer_visible = False
        self.canvas.resizable = False
        self.canvas.toolbar_position = "left"
        self.ax = self.figure.add_subplot()
        frame = self.state.frame
        plots.plot_cmd(
            np.empty(0),
            np.empty(0),
            ax=self.ax,
            y_label=frame.y_label,
            color_label=frame.x_label,
            density=False,
            extra=(np.empty(0), np.empty(0)),
            label="selected",
            extra_label="removed by the last criterion",
            marker_size=5.0,
            mag_range=_MAG_RANGE,
            color_range=_COLOUR_RANGE,
            legend=False,
        )
        for collection in (*self.ax.collections,):  # plot_cmd's empty scatters: the explorer draws pixels instead
            collection.remove()
        self.points = PixelPoints(self.ax, plots.COLORS["points"], alpha=0.7, marker="o", label="selected")
        self.removed = PixelPoints(
            self.ax, plots.COLORS["extra"], alpha=0.85, marker="^", label="removed by the last criterion", zorder=3
        )
        for pixels in (self.points, self.removed):
            self.ax.add_artist(pixels)
        # A fixed legend, part of the background (the counts are in the widget's text): redrawing a legend
        # with counts would cost more than the points themselves. A density image has no points to name.
        if frame.image is None:
            legend = Legend(
                self.ax,
                [self.points.legend_handle(), self.removed.legend_handle()],
                ["selected", "removed by the last criterion"],
                loc="upper right",
                fontsize=8,
                markerscale=1.5,
            )
            self.ax.add_artist(legend)
        # The axes' limits, ticks and labels never change size, so lay the figure out once and freeze it:
        # constrained layout would otherwise cost ~40% of every redraw.
        layout = self.figure.get_layout_engine()
        assert layout is not None  # the figure was made with layout="constrained"
        layout.execute(self.figure)
        self.figure.set_layout_engine("none")
        for artist in self._data_artists():
            artist.set_animated(True)
        self.canvas.mpl_connect("draw_event", self._on_full_draw)

    def _layout(self) -> _ExplorerBox:
        criteria = widgets.VBox(
            [widgets.HTML("<b>Criteria</b>"), *self.checkboxes.values()], layout=widgets.Layout(min_width="300px")
        )
        controls = widgets.VBox(
            [criteria, self.slider, self.colour_chooser, self.patch_chooser, self.funnel],
            layout=widgets.Layout(min_width="320px", margin="0 12px 0 0"),
        )
        figure_row = widgets.HBox([controls, self.canvas], layout=widgets.Layout(align_items="flex-start"))
        box = _ExplorerBox(self.state.describe, [self.count, figure_row, self.explain, self.truth, self.message])
        box.add_class(CSS_PREFIX)
        return box

    # --- callbacks (never raise: a failure becomes a message in the widget and a logged traceback) -------
    def _on_checkbox(self, name: str) -> Callable[[Mapping[str, Any]], None]:
        def callback(change: Mapping[str, Any]) -> None:
            # An implied or unavailable box mirrors the state; it was not the learner.
            if not self._holding and not self.checkboxes[name].disabled:
                self._guarded({name: bool(change["new"])})

        return callback

    def _on_value(self, key: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable:
        def callback(change: Mapping[str, Any]) -> None:
            if not self._holding:
                self._guarded({key: convert(change["new"])})

        return callback

    def _guarded(self, changes: Mapping[str, Any]) -> None:
        try:
            self.state.apply(self.state.validate(changes))
            self.render()
        except Exception as err:  # noqa: BLE001 - the learner sees a message, the log keeps the traceback
            LOG.exception("the explorer could not apply %s", dict(changes))
            try:  # the controls back to what the state shows (a refused patch left the chooser on it)
                self._sync_controls()
            except Exception:  # noqa: BLE001 - the message below matters more
                LOG.exception("the explorer could not show its controls again")
            self.message.value = (
                f'<div style="color:#D55E00">Could not update the explorer: {html.escape(str(err))} '
                "(the traceback is in the log).</div>"
            )

    # --- drawing -----------------------------------------------------------------------------------------
    def render(self) -> None:
        """Show the state's current frame: controls and count first, then the figure, then the texts."""
        frame = self.state.frame
        self._sync_controls()
        total = frame.n_total
        pct = f" ({100.0 * frame.n_selected / total:.1f}%)" if total else ""
        self.count.value = (
            f'<span style="font-size:1.15em"><b>{frame.n_selected:,}</b> of {total:,} rows selected</span>'
            f'<span style="color:#555">{pct} · {html.escape(frame.scope)}</span>'
        )
        self._draw(frame)
        head, text = frame.explanation
        self.explain.value = (f"<b>{html.escape(head)}</b>: " if head else "") + html.escape(text)
        self.truth.value = _truth_html(frame.truth, frame.truth_source)
        self.funnel.value = _funnel_html(frame.funnel, total)
        items = "".join(f"<li>{html.escape(m)}</li>" for m in frame.messages)
        self.message.value = f'<ul style="color:#D55E00;margin:0.3em 0">{items}</ul>' if items else ""

    def _sync_controls(self) -> None:
        """Make the controls show the state (implied parts ticked and disabled...) without calling back."""
        state = self.state
        self._holding = True
        try:
            for name, shown in state.boxes().items():
                box = self.checkboxes[name]
                for trait in ("value", "disabled", "tooltip"):
                    if getattr(box, trait) != getattr(shown, trait):
                        setattr(box, trait, getattr(shown, trait))
            if state.faint is not None and self.slider.value != state.faint:
                self.slider.value = state.faint
            if self.slider.disabled != (not state.faint_enabled):
                self.slider.disabled = not state.faint_enabled
            if self.slider.description != self._slider_text():  # no number shown when there is no limit
                self.slider.description = self._slider_text()
                self.slider.readout = state.faint is not None
            if self.colour_chooser.value != state.colour:
                self.colour_chooser.value = state.colour
            if self.patch_chooser.value != state.patch:
                self.patch_chooser.value = state.patch
        finally:
            self._holding = False

    def _data_artists(self) -> list[Artist]:
        return [a for a in (self._image, self.points, self.removed) if a is not None]

    def _on_full_draw(self, event: DrawEvent) -> None:
        """After a full draw: keep the background, then draw the data artists on top of it."""
        renderer: Any = event.renderer  # Agg's, or a vector backend's without copy_from_bbox
        try:
            self._background = renderer.copy_from_bbox(self.figure.bbox)
            self._background_renderer = renderer
        except AttributeError:  # a vector backend (savefig to PDF/SVG): nothing to keep
            self._background = self._background_renderer = None
        for artist in self._data_artists():
            artist.draw(renderer)

    def _set_data(self, frame: Frame) -> None:
        if frame.image is not None:
            self._show_image(*frame.image)
            self.points.set_offsets(np.empty((0, 2)))
        else:
            if self._image is not None:
                self._image.set_visible(False)
            self.points.set_offsets(np.column_stack(frame.points))
        removed = np.empty((0, 2)) if frame.removed is None else np.column_stack(frame.removed)
        self.removed.set_offsets(removed)

    def _show_image(self, counts: np.ndarray, extent: tuple[float, float, float, float]) -> None:
        """The density image of a histogram-backed state (made on first use, then updated in place), coloured
        once per histogram bin (:func:`density_rgba`)."""
        rgba = density_rgba(counts)
        if self._image is None:
            self._image = self.ax.imshow(
                rgba, extent=extent, origin="upper", aspect="auto", interpolation="nearest", animated=True, zorder=1
            )
        else:
            self._image.set_data(rgba)
            if tuple(self._image.get_extent()) != tuple(extent):
                self._image.set_extent(extent)
        self._image.set_visible(True)

    def _draw(self, frame: Frame) -> None:
        """Replace the data in place, then redraw only the data artists (or, if the axes changed, everything)."""
        background_changed = self.ax.get_xlabel() != frame.x_label
        if background_changed:
            self.ax.set_xlabel(frame.x_label)
        self._set_data(frame)
        renderer = self.canvas.get_renderer() if self._background is not None else None
        if not background_changed and renderer is not None and renderer is self._background_renderer:
            renderer.restore_region(self._background)
            for artist in self._data_artists():
                artist.draw(renderer)
            self.canvas.blit(self.figure.bbox)
        else:
            self.canvas.draw_idle()

    def _slider_text(self) -> str:
        """The slider's label: the band and "≤", or that there is no limit (set one with ``set(faint=...)``)."""
        if self.state.faint is None:
            return "no faint limit"
        return f"faint limit: {self.state.reference_band} ≤"

    def close(self) -> None:
        """Close every widget and the figure's canvas."""
        for widget in (
            *self.checkboxes.values(),
            self.slider,
            self.colour_chooser,
            self.patch_chooser,
            self.count,
            self.explain,
            self.truth,
            self.funnel,
            self.message,
        ):
            widget.close()
        self.canvas.close()
        self.box.close()


def _truth_html(truth: dict[str, int] | None, source: str = "truth_match") -> str:
    """The truth line; a class or count missing from ``truth`` (the survey has no sky objects or duplicates)
    is not shown."""
    if truth is None:
        return "<i>No truth table for these data: true classes cannot be shown.</i>"
    kept = [plural(truth["star"], "true star"), plural(truth["galaxy"], "galaxy", "galaxies")]
    kept += [plural(truth["sky"], "sky object")] if "sky" in truth else []
    kept.append(plural(truth["blend"], "blend parent"))
    if "duplicates" in truth:
        kept.append(
            f"<b>{plural(truth['duplicates'], 'duplicate row')}</b> "
            "(rows whose true object, truth_id, is selected more than once)"
        )
    text = f"<b>Truth</b> ({source}): the selection keeps {', '.join(kept[:-1])} and {kept[-1]}."
    if truth.get("other"):
        text += f" {plural(truth['other'], 'selected row')} of another truth class."
    if truth.get("no_truth"):
        text += f" {truth['no_truth']:,} selected rows have no truth table."
    return text


def _funnel_html(funnel: tuple[tuple[str, int, int], ...], total: int) -> str:
    scale = 100.0 / total if total else 0.0
    rows = [
        f"<tr><td style='padding:0 6px 0 0'>{html.escape(label)}</td>"
        f"<td style='text-align:right;padding:0 6px'>{kept:,}</td>"
        f"<td style='width:90px'><div style='background:{plots.COLORS['cumulative']};height:0.7em;"
        f"width:{kept * scale:.1f}%'></div></td>"
        f"<td style='text-align:right;color:#555;padding:0 0 0 6px'>alone {alone:,}</td></tr>"
        for label, alone, kept in funnel
    ] or ["<tr><td colspan=4><i>no criterion ticked: every row is kept</i></td></tr>"]
    head = (
        "<tr><th style='text-align:left'>funnel</th><th style='text-align:right;padding:0 6px'>kept</th>"
        f"<th></th><th style='text-align:right;color:#555'>of {total:,}</th></tr>"
    )
    return f"<table style='font-size:0.85em;margin-top:0.5em'>{head}{''.join(rows)}</table>"
