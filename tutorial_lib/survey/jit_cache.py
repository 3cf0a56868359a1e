"""Keep on disk the machine code that numba compiles for hats, so that only the first run of a process waits for it.

hats, the library under LSDB, compiles its pixel-tree functions with numba's ``@njit`` and no ``cache=True``
(hats 0.11.1: ``hats/pixel_tree/pixel_alignment.py`` and ``hats/pixel_tree/moc_filter.py``). Every new Python
process compiles them again the first time LSDB aligns two catalogs' partitions or filters them by a MOC. In
lesson 10 that is ``lsdb.from_dataframe`` with a margin and ``crossmatch``: 18 to 21 s on the project's 2-core
machine, against 0.06 s for the same ``crossmatch`` with the compiled code loaded from numba's cache.
"""

from __future__ import annotations

import importlib

__all__ = ["HATS_JIT_MODULES", "keep_compiled_code"]

#: The hats modules whose functions numba compiles (every module of hats 0.11.1 that uses ``@njit``;
#: tests/test_survey.py checks that the installed hats has no other).
HATS_JIT_MODULES = ("hats.pixel_tree.pixel_alignment", "hats.pixel_tree.moc_filter")


def keep_compiled_code(modules: tuple[str, ...] = HATS_JIT_MODULES) -> int:
    """Turn on numba's on-disk cache for the compiled functions of ``modules``.

    This is what ``@njit(cache=True)`` does (numba 0.68.1, ``numba/core/decorators.py``: it calls the dispatcher's
    ``enable_caching``). numba then saves each function's machine code beside its module (in ``__pycache__``), or in
    ``$NUMBA_CACHE_DIR`` when that is set, and a later process loads it instead of compiling. A function whose
    module has changed since is compiled again. Call it before LSDB first uses the functions; calling it again does
    no harm.

    Parameters
    ----------
    modules : tuple of str
        Modules whose numba functions to cache; hats' by default.

    Returns
    -------
    int
        How many functions will be cached. Functions for which numba finds no folder it can write to are left
        as they were (compiled in memory by each process), and not counted.
    """
    from numba.core.dispatcher import Dispatcher

    count = 0
    for name in modules:
        for function in vars(importlib.import_module(name)).values():
            if not isinstance(function, Dispatcher):
                continue
            try:
                function.enable_caching()
            except RuntimeError:  # numba: "cannot cache function ...: no locator available"
                continue
            count += 1
    return count
