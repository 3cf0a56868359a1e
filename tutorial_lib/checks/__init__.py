"""Exercise self-checks: each function takes a learner's answer and says right or wrong, and why.

One module per lesson topic; every check is also re-exported here, so a notebook may write
``from tutorial_lib import checks`` and ``checks.check_<exercise>(answer, ...)``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: The checks of each lesson's module. Loaded on first use (PEP 562), so that importing one lesson's checks
#: (``tutorial_lib.checks.loading``) does not import every other lesson's dependencies (LSDB, ipywidgets...).
_MODULES = {
    "_result": "CheckResult",
    "loading": "check_flux_columns check_gen3_data_id check_multiband_table",
    "calibration": "check_band_magnitudes check_magnitudes check_mean_flux check_negative_count",
    "selection": "check_duplicate_objects check_extendedness check_primary_parts check_purity_completeness "
    "check_tract_catalog",
    "diagrams": "check_galaxy_fraction check_locus_offset check_median_offset",
    "explorer": "check_patch_inner_duplicates",
    "real_data": "check_real_selection check_zero_point",
    "todays_catalogs": "check_dp1_selection check_scarlet_deblended",
    "survey": "check_survey_galaxies",
}
#: Which submodule holds each check.
_WHERE = {name: module for module, names in _MODULES.items() for name in names.split()}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """A lesson's module (``checks.explorer``) or a check (``checks.check_<exercise>``), imported on first use."""
    if name in _MODULES:  # a lesson's module, e.g. ``checks.explorer``
        return importlib.import_module(f".{name}", __name__)
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The names of the loaded attributes and of every check."""
    return sorted(set(globals()) | set(_WHERE))
