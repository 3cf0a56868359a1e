"""The survey explorer: the lesson explorer's view (:class:`tutorial_lib.explorer.ExplorerView`: checkboxes,
faint-limit slider, colour chooser, funnel, truth) over the histogram-backed :class:`SurveyExplorerState`,
with the CMD drawn as a density image instead of points."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import plots
from ..explorer.view import ExplorerView
from .state import SurveyExplorerState

__all__ = ["SurveyExplorer"]


def density_rgba(counts: np.ndarray, cmap: str = plots.DENSITY_CMAP) -> np.ndarray:
    """Counts as RGBA bytes on a logarithmic scale from 1 to the maximum; bins under 1 are transparent.

    The colours of ``LogNorm(1, max)`` and the colour map, looked up once per bin of the histogram: matplotlib
    then only resamples the bytes to the screen, instead of normalising and colouring every screen pixel.
    """
    from matplotlib import colormaps

    lut = colormaps[cmap](np.linspace(0.0, 1.0, 256), bytes=True)
    top = np.log(max(float(counts.max()) if counts.size else 1.0, 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.clip(np.log(counts) / top, 0.0, 1.0)
    rgba = lut[np.nan_to_num(level * 255.0).astype(np.uint8)]
    rgba[~(counts >= 1), 3] = 0
    return rgba


class _DensityView(ExplorerView):
    """The lesson explorer's view, with the density image coloured per histogram bin (:func:`density_rgba`)."""

    def _show_image(self, counts: np.ndarray, extent: tuple[float, float, float, float]) -> None:
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


class SurveyExplorer:
    """A survey explorer widget: toggles sum histograms and never read the catalog's rows again.

    Parameters
    ----------
    state : SurveyExplorerState
        From :meth:`SurveyExplorerState.from_catalog` (one pass over the catalog on the cluster).

    Notes
    -----
    ``explorer.set(point_source=False)`` does what a click does; ``print(explorer)`` is the state as text.
    """

    def __init__(self, state: SurveyExplorerState) -> None:
        self.state = state
        self._view = _DensityView(state)

    @classmethod
    def from_catalog(cls, catalog, **kwargs: Any) -> SurveyExplorer:
        """One pass over an LSDB catalog (see :meth:`SurveyExplorerState.from_catalog`), then the widget."""
        return cls(SurveyExplorerState.from_catalog(catalog, **kwargs))

    def set(self, **changes: Any) -> None:
        """Change criteria, ``faint`` or ``colour`` as a click would, and redraw."""
        self.state.set(**changes)
        self._view.render()

    def reset(self) -> None:
        self.state.reset()
        self._view.render()

    @property
    def widget(self):
        return self._view.box

    @property
    def figure(self):
        return self._view.figure

    def __repr__(self) -> str:
        return repr(self.state)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        return self._view.box._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        self._view.close()
