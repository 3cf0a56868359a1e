"""Derive the real point-source colours and counts of the lesson's field that ``fidelity.py`` compares with.

The data: the single-visit source catalogues of ci_hsc (the 2018 lesson's data: Stripe 82, RA 320.7, Dec -0.35),
processed by the LSST pipelines and matched across visits per band, that lsst/faro keeps as test data:
``tests/data/matchedCatalogTract_0_r.fits.gz`` (HSC-R visits 903334, 903336, 903342) and
``tests/data/matchedCatalogTract_0_i.fits.gz`` (HSC-I visits 903986, 903988, 904010), both as of commit a57cd29
(2021-01-29; github.com/lsst/faro, GPL-3.0; HSC data from Subaru/NAOJ). They are not copied into this project: run

    git clone https://github.com/lsst/faro && python -m benchmarks.real_field_colours faro/tests/data

to print the numbers that ``fidelity.py`` holds as ``REAL_*`` constants.

Method: each band's rows are averaged per matched object (``object`` column: mean PSF magnitude and mean
extendedness over its visits); r objects are matched to i objects within 0.5 arcsec; a point source has mean
i-band extendedness below 0.5; the area is the number of 0.01 x 0.01 deg cells holding at least one i-band row.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table

R_I_BINS = np.arange(-0.4, 2.61, 0.2)


def per_object(path: Path) -> dict[str, np.ndarray]:
    """Mean RA, Dec (deg), PSF magnitude and extendedness of each matched object of one band's catalogue."""
    rows = Table.read(path)
    rows = rows[np.isfinite(rows["base_PsfFlux_mag"]) & (rows["object"] >= 0)]
    objects, which = np.unique(rows["object"], return_inverse=True)

    def mean(column):  # NaN for an object with no finite value
        values = np.asarray(rows[column], dtype=float)
        ok = np.isfinite(values)
        n = np.bincount(which[ok], minlength=len(objects))
        with np.errstate(invalid="ignore"):
            return np.bincount(which[ok], values[ok], minlength=len(objects)) / n

    return {
        "ra": np.degrees(mean("coord_ra")),
        "dec": np.degrees(mean("coord_dec")),
        "mag": mean("base_PsfFlux_mag"),
        "extendedness": mean("base_ClassificationExtendedness_value"),
    }


def covered_area_deg2(ra, dec, cell=0.01) -> float:
    """Area of the 0.01-degree cells holding at least one position (the catalogue's footprint is one detector)."""
    edges = [v.min() + cell * np.arange(int((v.max() - v.min()) // cell) + 2) for v in (ra, dec)]
    counts, _, _ = np.histogram2d(ra, dec, bins=edges)
    return float(np.count_nonzero(counts) * cell**2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("faro_data", type=Path, help="lsst/faro's tests/data folder")
    args = parser.parse_args(argv)
    r = per_object(args.faro_data / "matchedCatalogTract_0_r.fits.gz")
    i = per_object(args.faro_data / "matchedCatalogTract_0_i.fits.gz")
    index, separation, _ = SkyCoord(r["ra"], r["dec"], unit=u.deg).match_to_catalog_sky(
        SkyCoord(i["ra"], i["dec"], unit=u.deg)
    )
    matched = separation < 0.5 * u.arcsec
    mag_r, r_i = r["mag"][matched], r["mag"][matched] - i["mag"][index[matched]]
    point = i["extendedness"][index[matched]] < 0.5
    window = point & (mag_r > 18) & (mag_r < 22.5)
    counts, _ = np.histogram(r_i[window], bins=R_I_BINS)
    print(f"point sources with 18 < r < 22.5 matched in r and i: {np.count_nonzero(window)}")
    print(f"REAL_R_I_COUNTS (bins {R_I_BINS[0]:+.1f} to {R_I_BINS[-1]:+.1f} by 0.2): {counts.tolist()}")
    area = covered_area_deg2(i["ra"], i["dec"])
    point_i = i["extendedness"] < 0.5
    for lo, hi in ((18, 20), (20, 22)):
        n = np.count_nonzero(point_i & (i["mag"] >= lo) & (i["mag"] < hi))
        print(f"i-band point sources {lo} <= i < {hi}: {n} in {area:.4f} deg2 = {n / area / (hi - lo):.0f} /deg2/mag")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
