"""The lessons' name for the selection explorer: ``from tutorial_lib.widgets import SelectionExplorer``.

The explorer lives in :mod:`tutorial_lib.explorer` (data loading, headless state, view); this module only
re-exports its public names.
"""

from __future__ import annotations

from .explorer import (
    ALL_PATCHES,
    COLOURS,
    FAINT,
    FLAG_CRITERIA,
    NO_TRUTH,
    SHORTCUT,
    ExplorerState,
    PatchTables,
    SelectionExplorer,
)
from .lesson import DEFAULT_FAINT, FAINT_RANGE

__all__ = [
    "ALL_PATCHES",
    "COLOURS",
    "DEFAULT_FAINT",
    "FAINT",
    "FAINT_RANGE",
    "FLAG_CRITERIA",
    "NO_TRUTH",
    "SHORTCUT",
    "ExplorerState",
    "PatchTables",
    "SelectionExplorer",
]
