"""The lesson's selection of unique, real, well-measured point sources, one named criterion at a time.

:mod:`.criteria` holds the named criteria (their rules, documentation and functions on tables, and the
``detect_isPrimary`` definition); :mod:`.core` holds :class:`Selection`, which combines them over a reference
table and per-band forced tables. Everything public is importable from here:
``from tutorial_lib import selection; selection.Selection(ref, forced)``, ``selection.point_source(forced)``.
"""

from . import core, criteria
from .core import *  # noqa: F403  (the public names are listed once, in each module's __all__)
from .criteria import *  # noqa: F403

__all__ = [*criteria.__all__, *core.__all__]
