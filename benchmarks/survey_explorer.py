"""Survey explorer: time of one toggle on the histograms of 10 million rows (goal: p95 <= 50 ms).

The histograms are made exactly as on the cluster (``tutorial_lib.survey.histograms.partition_histograms``,
summed), here in one process over 10 million simulated rows of the survey layout (``data_fetch.survey``), so
that no 70 deg^2 catalog has to be written first. A toggle then changes one criterion, the faint limit or the
colour, and is timed (a) in the headless state (counts, truth, funnel, density image, sky map) and (b) with the
lesson explorer's view redrawing its density image (blitted after a first full draw, as in JupyterLab).

Run: ``python -m benchmarks.survey_explorer [--rows N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

GOAL_P95_MS = 50.0


def _histograms(n_rows: int):
    from hats.pixel_math.healpix_shim import radec2pix

    from data_fetch import survey
    from tutorial_lib.survey.criteria import SURVEY_CRITERIA
    from tutorial_lib.survey.histograms import (
        HistogramSpec,
        SurveyHistograms,
        _cumulate,
        _sum_many,
        partition_histograms,
    )

    area = n_rows / 146_000 * 1.05  # rows per deg^2 measured in data_fetch.survey's default sky
    boxes = survey.tract_boxes(area)
    # Partition pixels (order 6) of the footprint, from a grid of points over each tract.
    ra, dec = [], []
    for (ra_lo, ra_hi), (dec_lo, dec_hi) in boxes:
        grid_ra, grid_dec = np.meshgrid(np.linspace(ra_lo, ra_hi, 60), np.linspace(dec_lo, dec_hi, 60))
        ra.append(grid_ra.ravel())
        dec.append(grid_dec.ravel())
    order6 = np.unique(radec2pix(survey.PARTITION_ORDER, np.concatenate(ra), np.concatenate(dec)))

    class _Pixel:
        def __init__(self, pixel):
            self.order, self.pixel = survey.PARTITION_ORDER, int(pixel)

    class _Footprint:  # what HistogramSpec.for_catalog reads of a catalog
        all_columns = ["truth_type"]

        @staticmethod
        def get_healpix_pixels():
            return [_Pixel(p) for p in order6]

    spec = HistogramSpec.for_catalog(_Footprint, tuple(SURVEY_CRITERIA))
    total, n, strips = None, 0, 0
    for tract, box in enumerate(boxes):
        for strip in range(survey.PATCHES_PER_SIDE):
            frame = survey._strip_rows(survey.DEFAULT_SEED, tract, strip, box)
            part = partition_histograms(frame, spec)
            total = part if total is None else _sum_many([total, part])
            n += len(frame)
            strips += 1
            if n >= n_rows:
                break
        if n >= n_rows:
            break
    return SurveyHistograms(spec, _cumulate(total), strips), n


def _percentiles(times):
    ms = np.asarray(times) * 1000
    return np.median(ms), np.percentile(ms, 95), ms.max()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e7, help="rows to histogram (default 1e7)")
    parser.add_argument("--toggles", type=int, default=200)
    args = parser.parse_args(argv)
    from tutorial_lib.survey import SurveyExplorer, SurveyExplorerState

    start = time.perf_counter()
    histograms, n = _histograms(int(args.rows))
    build = time.perf_counter() - start
    state = SurveyExplorerState(histograms)
    rng = np.random.default_rng(1)
    changes = []
    names = list(histograms.spec.criteria)
    for _ in range(args.toggles):
        kind = rng.integers(0, 4)
        if kind < 2:
            name = names[rng.integers(len(names))]
            changes.append({name: bool(rng.integers(0, 2))})
        elif kind == 2:
            changes.append({"faint": round(float(rng.uniform(19, 26.5)), 1)})
        else:
            changes.append({"colour": ["r-i", "g-r"][rng.integers(0, 2)]})

    state_times = []
    for change in changes:
        t = time.perf_counter()
        state.set(**change)
        state.frame  # noqa: B018 - counts, truth, funnel and the density image
        state.sky_counts()
        state_times.append(time.perf_counter() - t)

    explorer = SurveyExplorer(state)
    explorer.figure.canvas.draw()  # the first full draw saves the background, as in the browser
    view_times = []
    for change in changes:
        t = time.perf_counter()
        explorer.set(**change)
        view_times.append(time.perf_counter() - t)
    explorer.close()

    load = os.getloadavg()
    print(
        f"Survey explorer toggles on the histograms of {n:,} rows ({histograms.n_partitions} strips, one pass "
        f"in {build:.0f} s); histograms {histograms.nbytes / 1e6:.1f} MB; load average {load[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    print(f"{'toggle':44s} {'median ms':>10s} {'p95 ms':>8s} {'max ms':>8s} {'goal':>10s}")
    ok = True
    for label, times in (
        ("state (counts, truth, funnel, CMD image, sky)", state_times),
        ("state + view redraw (blitted image)", view_times),
    ):
        median, p95, worst = _percentiles(times)
        met = p95 <= GOAL_P95_MS
        ok &= met
        print(f"{label:44s} {median:10.2f} {p95:8.2f} {worst:8.2f} {'p95<=50':>10s} {'ok' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
