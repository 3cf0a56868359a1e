"""The shape of ``tutorial_lib``: code lines, the largest class and function, imports that point the wrong way.

Counts lines of code with docstrings, comments and blank lines excluded, in every module of ``tutorial_lib`` (the
afw FITS reader, which only ingestion uses, lives in ``data_fetch``). Goals (issue 10): at most 2,600 such
lines, no class over 400 lines and no function over 60 lines of code, no import cycle inside ``tutorial_lib``,
and nothing importing :mod:`tutorial_lib.checks` or a layer above it; importing any ``tutorial_lib.checks`` module
in a new Python process takes under 0.5 s (best of 3, the interpreter's own start-up not counted; the machine's
speed varies, so the time of a fixed pure-Python loop is printed beside it). Exits 1 on a miss.

Run: ``python -m benchmarks.library_shape``.
"""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
import tokenize
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[1] / "tutorial_lib"
GOAL_LINES, GOAL_CLASS, GOAL_FUNCTION = 2600, 400, 60
GOAL_CHECKS_IMPORT_S, IMPORT_REPEATS = 0.5, 3
_TIME_IMPORT = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"
#: Layers, lowest first: a module may import only from its own layer or below (checks: from anything but checks).
LAYERS = [
    {"_arrays", "lesson", "photometry", "eras"},
    {"matching", "photocalib", "skymap", "exposure", "butler_formatters", "repository"},
    {"selection"},
    {"plots"},
    {"explorer", "widgets", "dp1"},
    {"survey"},
    {"checks"},
]


def _code_lines(source: str) -> set[int]:
    """Line numbers holding code: not blank, not only a comment, not part of a docstring."""
    tree = ast.parse(source)
    docstring_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            docstring_lines.update(range(node.lineno, node.end_lineno + 1))  # docstrings of all kinds
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines - docstring_lines


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(LIBRARY).with_suffix("").parts)


def _layer(name: str) -> int:
    top = name.split(".")[0]
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def _imports(path: Path, tree: ast.Module) -> set[str]:
    """tutorial_lib modules imported by ``path`` (top-level names inside the package)."""
    package = _module_name(path).split(".")[:-1] if path.name != "__init__.py" else _module_name(path).split(".")
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1] if node.level > 1 else package
            target = [*base, *(node.module.split(".") if node.module else [])]
            out.add(".".join(target) if target else (node.names[0].name))
            if not node.module:
                out.update(".".join([*base, alias.name]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tutorial_lib."):
            out.add(node.module.removeprefix("tutorial_lib."))
    return {name for name in out if name}


def main(argv: list[str] | None = None) -> int:
    """Print the table; 0 if every goal is met."""
    total, biggest_class, biggest_function, wrong_way = 0, ("", 0), ("", 0), []
    long_functions: list[tuple[str, int]] = []
    graph: dict[str, set[str]] = {}
    print(f"{'module':<34} {'code lines':>10}")
    for path in sorted(LIBRARY.rglob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        code = _code_lines(source)
        name = _module_name(path)
        graph[name] = _imports(path, tree)
        total += len(code)
        print(f"{name:<34} {len(code):>10}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                size = len([n for n in code if node.lineno <= n <= node.end_lineno])
                if isinstance(node, ast.ClassDef) and size > biggest_class[1]:
                    biggest_class = (f"{name}.{node.name}", size)
                elif not isinstance(node, ast.ClassDef):
                    if size > biggest_function[1]:
                        biggest_function = (f"{name}.{node.name}", size)
                    if size > GOAL_FUNCTION:
                        long_functions.append((f"{name}.{node.name}", size))
        for target in graph[name]:
            top = target.split(".")[0]
            if top not in {t for layer in LAYERS for t in layer}:
                continue
            if _layer(target) > _layer(name) or (top == "checks" and not name.startswith("checks")):
                wrong_way.append(f"{name} -> {target}")
    cycles = _cycles(graph)
    print(f"{'total (lessons use)':<34} {total:>10}   goal <= {GOAL_LINES}")
    print(f"largest class:    {biggest_class[0]} ({biggest_class[1]} lines; goal <= {GOAL_CLASS})")
    print(f"largest function: {biggest_function[0]} ({biggest_function[1]} lines; goal <= {GOAL_FUNCTION})")
    for function, size in sorted(long_functions, key=lambda item: -item[1]):
        print(f"  over {GOAL_FUNCTION}: {function} ({size} lines)")
    print(f"imports against the layers: {', '.join(wrong_way) or 'none'}")
    print(f"import cycles: {'; '.join(' -> '.join(c) for c in cycles) or 'none'}")
    ok = (
        total <= GOAL_LINES
        and biggest_class[1] <= GOAL_CLASS
        and biggest_function[1] <= GOAL_FUNCTION
        and not wrong_way
        and not cycles
    )
    slowest_import = _report_checks_import_times()
    ok = ok and slowest_import < GOAL_CHECKS_IMPORT_S
    print(f"goals: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


def _import_seconds(module: str) -> float:
    """Best of :data:`IMPORT_REPEATS` times to import ``module`` in a new interpreter (bytecode cached)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for _ in range(IMPORT_REPEATS):
        done = subprocess.run(
            [sys.executable, "-c", _TIME_IMPORT.format(module)],
            env=env,
            cwd=LIBRARY.parent,
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(done.stdout.split()[-1]))
    return min(times)


def _report_checks_import_times() -> float:
    """Print the import time of each self-check module; returns the slowest."""
    from benchmarks._machine import machine_line

    print(f"import time of each self-check module, best of {IMPORT_REPEATS} ({machine_line()}):")
    modules = sorted(
        f"tutorial_lib.checks.{path.stem}"
        for path in (LIBRARY / "checks").glob("*.py")
        if not path.stem.startswith("_")
    )
    _import_seconds(modules[0])  # writes the bytecode of what a first import compiles
    seconds = {module: _import_seconds(module) for module in modules}
    for module, value in seconds.items():
        over = "" if value < GOAL_CHECKS_IMPORT_S else f"   over {GOAL_CHECKS_IMPORT_S}"
        print(f"  {module:<40} {value:5.2f} s{over}")
    return max(seconds.values())


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles between modules (a package's ``__init__`` importing its own modules is not one)."""

    def edges(name: str) -> set[str]:
        return {t for t in graph.get(name, set()) if t in graph and not (t.startswith(name + ".") or t == name)}

    cycles, state = [], {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for target in edges(name):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, [*stack, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


if __name__ == "__main__":
    raise SystemExit(main())
