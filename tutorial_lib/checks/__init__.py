"""Exercise self-checks: each function takes a learner's answer and says right or wrong, and why.

One module per lesson topic; every check is also re-exported here, so a notebook may write
``from tutorial_lib import checks`` and ``checks.check_<exercise>(answer, ...)``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Which submodule holds each check. Loaded on first use (PEP 562), so that importing one lesson's checks
#: (``tutorial_lib.checks.loading``) does not import every other lesson's dependencies (LSDB, ipywidgets...).
_WHERE = {
    "CheckResult": "_result",
    "check_band_magnitudes": "calibration",
    "check_dp1_selection": "todays_catalogs",
    "check_duplicate_objects": "selection",
    "check_extendedness": "selection",
    "check_flux_columns": "loading",
    "check_galaxy_fraction": "diagrams",
    "check_gen3_data_id": "loading",
    "check_locus_offset": "diagrams",
    "check_magnitudes": "calibration",
    "check_mean_flux": "calibration",
    "check_median_offset": "diagrams",
    "check_multiband_table": "loading",
    "check_negative_count": "calibration",
    "check_patch_inner_duplicates": "explorer",
    "check_primary_parts": "selection",
    "check_purity_completeness": "selection",
    "check_real_selection": "real_data",
    "check_scarlet_deblended": "todays_catalogs",
    "check_survey_galaxies": "survey",
    "check_tract_catalog": "selection",
    "check_zero_point": "real_data",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """A lesson's module (``checks.explorer``) or a check (``checks.check_<exercise>``), imported on first use."""
    if name in set(_WHERE.values()):  # a lesson's module, e.g. ``checks.explorer``
        return importlib.import_module(f".{name}", __name__)
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The names of the loaded attributes and of every check."""
    return sorted(set(globals()) | set(_WHERE))
