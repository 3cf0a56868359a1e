"""Time from a fresh clone to a JupyterLab that answers: `make lab` with cold pip and uv caches, step by step.

The repository is cloned into a temporary folder (``git clone`` of the committed HEAD, so no .venv, DATA or
workbooks), pip and uv get empty temporary caches (``PIP_CACHE_DIR``, ``UV_CACHE_DIR``), and ``make lab
LAB_BROWSER=no`` runs there on a free port with a known token. The clock stops when JupyterLab answers
``/api/status`` with 200. Each step is timed from the lines make prints:

- ``venv + uv``: create .venv and bootstrap uv into it (pip, one wheel);
- ``install``: the whole requirements.lock, then the project itself (editable);
- ``data``: the simulated Butler repository (``data_fetch simulate``, the first step of ``make data``);
- ``survey``: the simulated survey, while ``make data`` still builds it (absent once it does not);
- ``workbooks``: the learners' copies (``scripts/make_workbooks.py``);
- ``JupyterLab``: from its start until it answers.

Goals on the project's 2-core machine: 60 s in all, and the data build 5 s or less. Exits 1 when either is missed,
2 when `make lab` fails. The load average and the time of a fixed loop (:mod:`benchmarks._machine`) are
printed at the start and the end: other work on the machine, and a slower core, slow every step.

``PYTHONDONTWRITEBYTECODE`` is removed from make's environment, as on a learner's machine: with it, every Python
process (the data build, JupyterLab) would compile every module it imports from source, every time.

Run: ``python -m benchmarks.setup_time [--installer uv|pip] [--source PATH] [--keep]``.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from benchmarks._machine import machine_line

REPO_ROOT = Path(__file__).resolve().parents[1]
GOAL_TOTAL = 60.0  # s, from `make lab` until JupyterLab answers
GOAL_DATA = 5.0  # s, the data build
TIMEOUT = 900.0  # s, give up
# (step name, the line of make's output that starts it); the first step starts with make itself.
STEPS = [
    ("venv + uv", None),
    ("install", re.compile(r"^Installing requirements\.lock into")),
    ("data", re.compile(r"-m data_fetch simulate ")),
    ("survey", re.compile(r"-m data_fetch survey ")),
    ("workbooks", re.compile(r"scripts/make_workbooks\.py")),
    ("JupyterLab", re.compile(r"/bin/jupyter\"? lab ")),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def measure(source: Path, installer: str, workdir: Path) -> tuple[dict[str, float], list[str], int]:
    """Clone ``source`` into ``workdir`` and time `make lab`; return (seconds per step, output, make's status)."""
    clone = workdir / "clone"
    subprocess.run(["git", "clone", "--quiet", str(source), str(clone)], check=True)
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "PIP_CACHE_DIR": str(workdir / "pip-cache"),
        "UV_CACHE_DIR": str(workdir / "uv-cache"),
        "JUPYTER_PORT": str(port),
        "JUPYTER_TOKEN": token,
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
    }
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)
    output: list[str] = []
    marks: dict[str, float] = {}
    start = time.perf_counter()
    marks[STEPS[0][0]] = 0.0
    make = subprocess.Popen(
        ["make", "lab", "LAB_BROWSER=no", f"INSTALLER={installer}"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def read() -> None:
        for line in make.stdout:
            elapsed = time.perf_counter() - start
            output.append(line.rstrip("\n"))
            print(f"  [{elapsed:6.1f} s] {line.rstrip()[:150]}", flush=True)
            for name, pattern in STEPS[1:]:
                if name not in marks and pattern and pattern.search(line):
                    marks[name] = elapsed

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    status = 0
    try:
        url = f"http://127.0.0.1:{port}/api/status?token={token}"
        while True:
            if make.poll() is not None:
                status = make.returncode or 2
                break
            if "JupyterLab" in marks and _answers(url):
                marks["ready"] = time.perf_counter() - start
                break
            if time.perf_counter() - start > TIMEOUT:
                status = 2
                output.append(f"gave up after {TIMEOUT:.0f} s")
                break
            time.sleep(0.2)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGTERM)  # make, JupyterLab and its kernels: the group we started
            try:
                make.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait()
        reader.join(timeout=5)
    times = {}
    started = sorted((second, name) for name, second in marks.items())  # a step absent from make's output is skipped
    for (begin, name), (end, _) in zip(started, started[1:], strict=False):
        times[name] = end - begin
    if "ready" in marks:
        times["total"] = marks["ready"]
    return times, output, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installer", choices=["uv", "pip"], default="uv", help="make's INSTALLER (default: uv)")
    parser.add_argument("--source", type=Path, default=REPO_ROOT, help="git repository to clone (default: this one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="setup-time-"))
    try:
        print(f"make lab in a fresh clone of {args.source}, cold pip and uv caches, INSTALLER={args.installer}")
        machine_before = machine_line()
        times, _, status = measure(args.source, args.installer, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'step':<12} {'seconds':>8} {'goal':>8}")
    for name, _ in STEPS:
        if name not in times:
            continue
        goal = f"<= {GOAL_DATA:.0f}" if name == "data" else ""
        print(f"{name:<12} {times[name]:>8.1f} {goal:>8}")
    print(f"{'total':<12} {times.get('total', float('nan')):>8.1f} {'<= ' + str(int(GOAL_TOTAL)):>8}")
    print(f"the machine at the start: {machine_before}\nat the end: {machine_line()}")
    print("(other work on the machine, and a slower core, slow every step)")
    if status:
        print(f"make lab failed (status {status}); see its output above")
        return 2
    missed = [f"total {times['total']:.1f} s > {GOAL_TOTAL:.0f} s"] if times["total"] > GOAL_TOTAL else []
    if times.get("data", 0.0) > GOAL_DATA:
        missed.append(f"data {times['data']:.1f} s > {GOAL_DATA:.0f} s")
    if missed:
        print("goal missed: " + "; ".join(missed))
        return 1
    print("goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
