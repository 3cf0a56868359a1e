"""A pixel-less stand-in for a coadd ``ExposureF``: the parts of ``deepCoadd_calexp`` the lessons read.

A real ``deepCoadd_calexp`` holds the image, mask, variance, PSF, WCS and calibration of one patch in one band;
the lessons only read its calibration (``butler.get("deepCoadd_calexp.photoCalib", ...)``) and a few header
keywords. The simulated repository stores this object, a composite whose components are ``photoCalib`` and
``metadata``, so the same Butler calls work on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .photocalib import PhotoCalib

__all__ = ["CoaddExposure"]


@dataclass
class CoaddExposure:
    """Calibration and header of one coadd patch in one band.

    Parameters
    ----------
    photoCalib : PhotoCalib
        The coadd's photometric calibration.
    metadata : dict
        Header keywords, for example ``{"BUNIT": "count", "FLUXMAG0": 6.3e10}``.
    """

    photoCalib: PhotoCalib  # noqa: N815 (the component name the Butler and afw use)
    metadata: dict = field(default_factory=dict)

    def getPhotoCalib(self) -> PhotoCalib:  # noqa: N802 (afw name)
        """The calibration of the coadd."""
        return self.photoCalib

    def getMetadata(self) -> dict:  # noqa: N802
        """The coadd's header keywords."""
        return self.metadata

    def to_dict(self) -> dict:
        """Plain-data form, as the Butler formatter writes it."""
        return {"photoCalib": self.photoCalib.to_dict(), "metadata": dict(self.metadata)}

    @classmethod
    def from_dict(cls, data: dict) -> CoaddExposure:
        """The exposure of :meth:`to_dict`'s plain data."""
        return cls(PhotoCalib.from_dict(data["photoCalib"]), dict(data.get("metadata", {})))
