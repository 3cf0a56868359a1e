"""Run every benchmark of this folder and report the goals missed: ``python -m benchmarks`` (``make benchmark``).

Every module here (other than this one and names starting with ``_``) exposes ``main(argv) -> int``, prints its
table and returns non-zero when it misses its goal. They run one after the other, in name order, each with its
default arguments; the exit status is non-zero when any missed (or failed), and the misses are listed at the end.
``python -m benchmarks selection_speed widget_latency`` runs only those.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """The benchmark modules of this folder, by name."""
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named in ``argv`` (default: all); 1 if any missed its goal or failed."""
    names = list(argv if argv is not None else sys.argv[1:]) or discover()
    unknown = sorted(set(names) - set(discover()))
    if unknown:
        print(f"no benchmark named {', '.join(unknown)}; known: {', '.join(discover())}", file=sys.stderr)
        return 2
    missed = []
    for name in names:
        print(f"\n== {name} ==", flush=True)
        try:
            status = importlib.import_module(f"benchmarks.{name}").main([])
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others' tables
            traceback.print_exc()
            status = 1
        if status:
            missed.append(f"{name} (exit {status})")
    print("\n== summary ==")
    print(f"{len(names) - len(missed)} of {len(names)} benchmarks met their goals" + (": missed " if missed else "."))
    for line in missed:
        print(f"  {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
