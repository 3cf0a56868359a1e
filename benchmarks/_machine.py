"""How fast and how busy the machine is while a benchmark runs, printed beside its figures.

The project's 2-core machine is shared: on 2 December 2026 the same data build took a median of 5.9 s (9.1 CPU
seconds) in the afternoon and 3.7 s (5.7 CPU seconds) in the evening, with the same code and a quiet load
average both times. A benchmark's figures can
only be compared with another day's next to a measure of the machine itself: the load average (other work) and
the time of a fixed pure-Python loop (the speed of one core, which the load average does not show).
"""

from __future__ import annotations

import os
import time

#: Squares summed by :func:`reference_loop_seconds` (0.3 to 0.6 s on the project's machine on 2 December 2026).
REFERENCE_LOOP_SIZE = 5_000_000


def reference_loop_seconds(repeat: int = 3) -> float:
    """Best time of ``sum(i * i for i in range(REFERENCE_LOOP_SIZE))``, seconds: one core's speed."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        sum(i * i for i in range(REFERENCE_LOOP_SIZE))
        best = min(best, time.perf_counter() - start)
    return best


def load_average() -> str:
    """The 1, 5 and 15 minute load averages and the number of cores, as text."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def machine_line() -> str:
    """One line describing the machine now: load average and the reference loop's time."""
    return f"{load_average()}; a fixed pure-Python loop took {reference_loop_seconds():.2f} s"
