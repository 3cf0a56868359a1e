"""The survey explorer: the lesson explorer's view (:class:`tutorial_lib.explorer.ExplorerView`: checkboxes,
faint-limit slider, colour chooser, funnel, truth) over the histogram-backed :class:`SurveyExplorerState`,
with the CMD drawn as a density image instead of points."""

from __future__ import annotations

from typing import Any

from ..explorer.view import ExplorerView
from .state import SurveyExplorerState

__all__ = ["SurveyExplorer"]


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
        self._view = ExplorerView(state)

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
