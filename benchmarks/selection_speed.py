"""Calibration plus selection time per million rows: tutorial_lib against plain numpy.

Goal: tutorial_lib within 1.5x of the plain-numpy baseline, which does the same arithmetic by hand.
Run: ``python benchmarks/selection_speed.py``.
"""

from __future__ import annotations

import timeit

import numpy as np
from astropy.table import Table

from tutorial_lib.photocalib import PhotoCalib
from tutorial_lib.selection import Selection

N = 1_000_000


def make_tables(n: int = N, seed: int = 1):
    rng = np.random.default_rng(seed)
    ids = np.arange(n, dtype=np.int64)
    ref = Table(
        {
            "id": ids,
            "deblend_nChild": rng.integers(0, 3, n).astype(np.int32) * (rng.random(n) < 0.05),
            "detect_isPatchInner": rng.random(n) < 0.9,
            "detect_isTractInner": rng.random(n) < 0.98,
            "merge_peak_sky": rng.random(n) < 0.02,
        }
    )
    ref["detect_isDeblendedSource"] = (ref["deblend_nChild"] == 0) & ~ref["merge_peak_sky"]
    ref["detect_isPrimary"] = ref["detect_isPatchInner"] & ref["detect_isTractInner"] & ref["detect_isDeblendedSource"]
    forced = {}
    for band in "gri":
        forced[band] = Table(
            {
                "id": ids,
                "base_PsfFlux_instFlux": rng.normal(300, 400, n),
                "base_PsfFlux_instFluxErr": np.full(n, 20.0),
                "base_PsfFlux_flag": rng.random(n) < 0.02,
                "base_ClassificationExtendedness_value": (rng.random(n) < 0.7).astype(float),
            }
        )
    return ref, forced


def with_tutorial_lib(ref, forced, calib):
    selection = Selection(ref, forced)
    mag = calib.instFluxToMagnitude(forced["i"]["base_PsfFlux_instFlux"])
    return selection.mask(["primary", "point_source", "good_psf_flux"]) & (mag >= 16) & (mag <= 24)


def with_plain_numpy(ref, forced, calib):
    flux = np.asarray(forced["i"]["base_PsfFlux_instFlux"])
    with np.errstate(invalid="ignore", divide="ignore"):
        mag = 31.4 - 2.5 * np.log10(flux * calib.getCalibrationMean())
    keep = np.asarray(ref["detect_isPrimary"])
    keep &= np.asarray(forced["i"]["base_ClassificationExtendedness_value"]) == 0
    keep &= ~np.asarray(forced["i"]["base_PsfFlux_flag"])
    return keep & (mag >= 16) & (mag <= 24)


def main() -> None:
    ref, forced = make_tables()
    calib = PhotoCalib.from_zero_point(27.0)
    assert np.array_equal(with_tutorial_lib(ref, forced, calib), with_plain_numpy(ref, forced, calib))
    rows = []
    for name, func in (("tutorial_lib", with_tutorial_lib), ("plain numpy", with_plain_numpy)):
        best = min(timeit.repeat(lambda f=func: f(ref, forced, calib), number=5, repeat=5)) / 5
        rows.append((name, best))
    print("Calibration + selection of 1,000,000 rows (best of 5 x 5)")
    print(f"{'method':<14} {'ms':>8} {'ratio':>6}")
    for name, seconds in rows:
        print(f"{name:<14} {seconds * 1e3:>8.1f} {seconds / rows[1][1]:>6.2f}")
    print("goal: tutorial_lib within 1.50x of plain numpy")


if __name__ == "__main__":
    main()
