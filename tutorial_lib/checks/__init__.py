"""Exercise self-checks: each function takes a learner's answer and says right or wrong, and why.

One module per lesson topic; every check is also re-exported here, so a notebook may write
``from tutorial_lib import checks`` and ``checks.check_<exercise>(answer, ...)``.
"""

from ._result import CheckResult
from .calibration import check_band_magnitudes, check_magnitudes, check_mean_flux, check_negative_count
from .diagrams import check_galaxy_fraction, check_locus_offset, check_median_offset
from .explorer import check_patch_inner_duplicates
from .loading import check_flux_columns, check_gen3_data_id, check_multiband_table
from .real_data import check_real_selection, check_zero_point
from .selection import (
    check_duplicate_objects,
    check_extendedness,
    check_primary_parts,
    check_purity_completeness,
    check_tract_catalog,
)
from .survey import check_survey_galaxies
from .todays_catalogs import check_dp1_selection, check_scarlet_deblended

__all__ = [
    "CheckResult",
    "check_band_magnitudes",
    "check_dp1_selection",
    "check_duplicate_objects",
    "check_extendedness",
    "check_flux_columns",
    "check_galaxy_fraction",
    "check_gen3_data_id",
    "check_locus_offset",
    "check_magnitudes",
    "check_mean_flux",
    "check_median_offset",
    "check_multiband_table",
    "check_negative_count",
    "check_patch_inner_duplicates",
    "check_primary_parts",
    "check_purity_completeness",
    "check_scarlet_deblended",
    "check_real_selection",
    "check_survey_galaxies",
    "check_tract_catalog",
    "check_zero_point",
]
