"""Helper processes of a build: forked on Linux, so that they start with the parent's modules in memory.

A build has two kinds: one process that simulates the true sky, then measures the first patches, while the main
process imports the Butler and creates the registry (:mod:`data_fetch.simulate`), and two writers that serialise
files while the main process measures the remaining patches (:class:`data_fetch.butler_repo.BatchWriter`).
Elsewhere (macOS and Windows, where fork is unsafe or missing) one background thread does the same work.
"""

from __future__ import annotations

import ctypes
import importlib.abc
import multiprocessing
import signal
import sys
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

__all__ = ["FORK", "start"]

#: Whether :func:`start` forks processes (Linux) or starts one thread (elsewhere).
FORK = sys.platform == "linux"


def start(n_processes: int, thread_name: str) -> Executor:
    """``n_processes`` forked processes on Linux, else one thread named ``thread_name``.

    Start them before the caller starts any thread of its own (a fork copies only the forking thread). The
    caller shuts them down; if it dies (even by ``kill -9``) the kernel kills them, so no orphan goes on writing
    into a staging folder that the next run recovers.
    """
    if not FORK:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
    pool = ProcessPoolExecutor(
        max_workers=n_processes, mp_context=multiprocessing.get_context("fork"), initializer=_as_helper
    )
    pool.submit(int).result()  # fork all of them now, from this thread (a fork pool starts them all at once)
    return pool


class _PandasAbsent(importlib.abc.MetaPathFinder):
    """Makes ``import pandas`` fail in a helper process, as if pandas were not installed.

    pyarrow's ``pa.array`` imports pandas on its first call only to ask whether its input is a pandas object
    (``_PandasAPIShim`` in pyarrow 26's pandas-shim.pxi, which takes an ``ImportError`` as "no pandas"). The
    helpers convert numpy arrays only, and that import cost each writer 0.5 s of CPU, a tenth of the build's.
    tests/test_simulation.py checks that the tables stay the same.
    """

    def find_spec(self, fullname: str, path=None, target=None) -> None:
        if fullname.partition(".")[0] == "pandas":
            raise ImportError(f"{fullname} is not imported in data_fetch's helper processes")


def _as_helper() -> None:
    """Set up a forked helper: the parent alone handles Ctrl-C and the termination signals (it waits for its
    helpers and removes the staging folder), and the kernel kills the helper if the parent dies."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    pr_set_pdeathsig = 1  # <linux/prctl.h>
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    sys.meta_path.insert(0, _PandasAbsent())
