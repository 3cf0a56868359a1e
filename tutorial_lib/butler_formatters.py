"""Storage classes and formatters that let ``lsst.daf.butler`` read and write this project's types.

The PyPI Butler knows astropy Tables (``ArrowAstropy``) but not afw's ``PhotoCalib``, ``ExposureF`` or
``lsst.skymap`` objects, which need the compiled Science Pipelines. The simulated repository registers three
storage classes of its own in its configuration (see :data:`STORAGE_CLASS_CONFIG`):

- ``TutorialPhotoCalib`` -> :class:`tutorial_lib.photocalib.PhotoCalib`;
- ``TutorialCoaddExposure`` -> :class:`tutorial_lib.exposure.CoaddExposure`, a composite with components
  ``photoCalib`` and ``metadata``, so ``butler.get("deepCoadd_calexp.photoCalib", ...)`` works;
- ``TutorialSkyMap`` -> :class:`tutorial_lib.skymap.SkyMap`.

Each is stored as a small JSON file.
"""

from __future__ import annotations

import json
from typing import Any

from lsst.daf.butler import FormatterV2

from .exposure import CoaddExposure
from .photocalib import PhotoCalib
from .skymap import SkyMap

__all__ = [
    "STORAGE_CLASS_CONFIG",
    "CoaddExposureFormatter",
    "PhotoCalibFormatter",
    "SkyMapFormatter",
]


class _JsonObjectFormatter(FormatterV2):
    """Write ``obj.to_dict()`` as JSON; read it back with ``pytype.from_dict``."""

    default_extension = ".json"
    supported_extensions = frozenset({".json"})
    can_read_from_local_file = True
    pytype: Any

    def _from_dict(self, data: dict, component: str | None) -> Any:
        return self.pytype.from_dict(data)

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        with open(path, encoding="utf-8") as stream:
            return self._from_dict(json.load(stream), component)

    def to_bytes(self, in_memory_dataset: Any) -> bytes:
        return json.dumps(in_memory_dataset.to_dict(), indent=1, sort_keys=True).encode("utf-8")


class PhotoCalibFormatter(_JsonObjectFormatter):
    """JSON formatter for :class:`~tutorial_lib.photocalib.PhotoCalib`."""

    pytype = PhotoCalib


class SkyMapFormatter(_JsonObjectFormatter):
    """JSON formatter for :class:`~tutorial_lib.skymap.SkyMap`."""

    pytype = SkyMap


class CoaddExposureFormatter(_JsonObjectFormatter):
    """JSON formatter for :class:`~tutorial_lib.exposure.CoaddExposure` and its components."""

    pytype = CoaddExposure

    def _from_dict(self, data: dict, component: str | None) -> Any:
        exposure = CoaddExposure.from_dict(data)
        if component is None:
            return exposure
        if component == "photoCalib":
            return exposure.photoCalib
        if component == "metadata":
            return exposure.metadata
        raise ValueError(f"deepCoadd_calexp has components 'photoCalib' and 'metadata', not {component!r}")


_MODULE = __name__
#: Configuration merged into the repository configuration by ``Butler.makeRepo``.
STORAGE_CLASS_CONFIG: dict = {
    "storageClasses": {
        "TutorialPhotoCalib": {"pytype": "tutorial_lib.photocalib.PhotoCalib"},
        "TutorialCoaddExposure": {
            "pytype": "tutorial_lib.exposure.CoaddExposure",
            "components": {"photoCalib": "TutorialPhotoCalib", "metadata": "StructuredDataDict"},
        },
        "TutorialSkyMap": {"pytype": "tutorial_lib.skymap.SkyMap"},
    },
    "datastore": {
        "formatters": {
            "TutorialPhotoCalib": f"{_MODULE}.PhotoCalibFormatter",
            "TutorialCoaddExposure": f"{_MODULE}.CoaddExposureFormatter",
            "TutorialSkyMap": f"{_MODULE}.SkyMapFormatter",
        }
    },
}
