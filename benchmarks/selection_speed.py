"""Calibration plus selection time per million rows: tutorial_lib's own path against plain numpy.

The library arm is what a lesson runs: a new :class:`tutorial_lib.selection.Selection` with the band's
PhotoCalib, its lesson mask and its calibrated i magnitudes cut by :func:`tutorial_lib.selection.faint_cut`.
The baseline does the same arithmetic by hand with numpy. Goal: the library within 1.5x of the baseline;
exits 1 when it is not (or when the two disagree).

Run: ``python -m benchmarks.selection_speed``.
"""

from __future__ import annotations

import timeit

import numpy as np
from astropy.table import Table

from tutorial_lib.photocalib import PhotoCalib
from tutorial_lib.photometry import AB_MAGNITUDE_OF_ONE_NANOJANSKY
from tutorial_lib.selection import Selection, faint_cut

N = 1_000_000
FAINT = 24.0
GOAL_RATIO = 1.5


def make_tables(n: int = N, seed: int = 1) -> tuple[Table, dict[str, Table]]:
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


def with_tutorial_lib(ref: Table, forced: dict[str, Table], calib: PhotoCalib) -> np.ndarray:
    selection = Selection(ref, forced, photo_calib=calib)
    return selection.mask(["primary", "point_source", "good_psf_flux"]) & faint_cut(selection.magnitude("i"), FAINT)


def with_plain_numpy(ref: Table, forced: dict[str, Table], calib: PhotoCalib) -> np.ndarray:
    flux = np.asarray(forced["i"]["base_PsfFlux_instFlux"])
    with np.errstate(invalid="ignore", divide="ignore"):
        mag = AB_MAGNITUDE_OF_ONE_NANOJANSKY - 2.5 * np.log10(flux * calib.getCalibrationMean())
    keep = np.asarray(ref["detect_isPrimary"])
    keep &= np.asarray(forced["i"]["base_ClassificationExtendedness_value"]) == 0
    keep &= ~np.asarray(forced["i"]["base_PsfFlux_flag"])
    return keep & (mag <= FAINT)


def main(argv: list[str] | None = None) -> int:
    """Print the table; 0 if the goal is met."""
    ref, forced = make_tables()
    calib = PhotoCalib.from_zero_point(27.0)
    if not np.array_equal(with_tutorial_lib(ref, forced, calib), with_plain_numpy(ref, forced, calib)):
        print("tutorial_lib and plain numpy select different rows")
        return 1
    rows = []
    for name, func in (("tutorial_lib", with_tutorial_lib), ("plain numpy", with_plain_numpy)):
        best = min(timeit.repeat(lambda f=func: f(ref, forced, calib), number=5, repeat=5)) / 5
        rows.append((name, best))
    print("Calibration + selection of 1,000,000 rows (best of 5 x 5)")
    print(f"{'method':<14} {'ms':>8} {'ratio':>6}")
    for name, seconds in rows:
        print(f"{name:<14} {seconds * 1e3:>8.1f} {seconds / rows[1][1]:>6.2f}")
    ratio = rows[0][1] / rows[1][1]
    print(f"goal: tutorial_lib within {GOAL_RATIO:.2f}x of plain numpy: {'met' if ratio <= GOAL_RATIO else 'MISSED'}")
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
