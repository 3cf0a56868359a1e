"""Compile the bytecode of the packages that the data build imports, on every core, right after the install.

uv installs packages without compiling their bytecode (pip compiles everything at install time). Without it, the
first ``make data`` compiles about 900 modules one after the other as it imports them: about 4 CPU seconds,
which made the first build take twice as long as every later one (``benchmarks/setup_time.py``). Compiling
them here, in parallel, takes a few seconds of the install step instead. Compiling all 12,000 modules of the
lock (``uv pip install --compile-bytecode``) took 39 s here, so only the build's packages are compiled.
``tests/test_compile_bytecode.py`` checks that :data:`PACKAGES` still covers what the build imports.

Run ``python scripts/compile_bytecode.py`` (``make venv`` does it). A module that is already compiled is
skipped, so a rerun, or a run after a pip install, takes well under a second.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

#: Top-level packages that ``python -m data_fetch simulate`` imports (with this project's own two).
PACKAGES = (
    "annotated_types",
    "astropy",
    "astropy_iers_data",
    "cloudpickle",
    "colorama",
    "data_fetch",
    "deprecated",
    "erfa",
    "fsspec",
    "greenlet",
    "hpgeom",
    "lsst",
    "lz4",
    "numpy",
    "packaging",
    "platformdirs",
    "pooch",
    "psutil",
    "pyarrow",
    "pydantic",
    "pydantic_core",
    "sortedcontainers",
    "sqlalchemy",
    "structlog",
    "tqdm",
    "tutorial_lib",
    "typing_extensions",
    "typing_inspection",
    "wrapt",
    "yaml",
)
#: Test modules, which no build imports (``astropy/tests/runner.py``, which astropy imports, is not one).
_TESTS = re.compile(r"^(test_.*|.*_test|conftest)\.py$")


def source_files(packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    """The ``.py`` files of the installed ``packages`` (a package's whole tree, without its tests).

    A package that is not installed is left out: the lock decides what is there.
    """
    files: list[Path] = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                files += (p for p in sorted(Path(folder).rglob("*.py")) if not _TESTS.match(p.name))
        elif spec.origin and spec.origin.endswith(".py"):
            files.append(Path(spec.origin))
    return list(dict.fromkeys(files))


def compile_all(files: list[Path], workers: int | None = None) -> int:
    """Compile ``files`` on ``workers`` processes (default: every core); return how many failed."""
    workers = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(partial(compileall.compile_file, quiet=2), files, chunksize=64))
    return sum(not ok for ok in results)


def main() -> int:
    files = source_files()
    print(f"Compiling the bytecode of the {len(files)} modules of the data build's packages")
    failed = compile_all(files)
    if failed:  # a module that does not compile cannot be imported either; its import will say why
        print(f"{failed} modules did not compile; they are compiled (or fail) when imported", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
