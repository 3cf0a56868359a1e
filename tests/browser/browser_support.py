"""What both browser tests share: Chromium, the expected counts, a server in its own process group, the clicks.

The tests talk to the explorer only through the page a learner sees: its checkboxes (found by their labels), the
count line and the explanation line (``.mbt-explorer-count``, ``.mbt-explorer-explain``) and the canvas of the
live figure. Every expected count is computed here with numpy from the Butler's tables, not with the widget's
code.

Needs Debian's Chromium at /usr/bin/chromium (or $CHROMIUM) and the Python package playwright: without either
the tests are skipped with the fix, except under CI=true, where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "DATA"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DATA_ID = {"skymap": "discrete", "tract": 0, "patch": 4}
FAINT = 25.0  # the lesson's faint limit, the state lesson 6 and the explorer page leave the explorer in
PARTS = ("deblended", "patch_inner", "tract_inner", "not_sky")
# The checkboxes in the order the explorer shows them, with their labels (what the explanation line names).
BOXES = {
    "primary": "Primary (detect_isPrimary)",
    "deblended": "Deblended (no children)",
    "patch_inner": "In the patch's inner region",
    "tract_inner": "In the tract's inner region",
    "not_sky": "Not a sky object",
    "point_source": "Point source (extendedness 0)",
    "good_psf_flux": "Good PSF flux (no flag)",
}
SERVER_START_TIMEOUT = 180  # s; JupyterLab's first start compiles its Python modules, slow on busy cores
STATE_TIMEOUT = 60_000  # ms: a widget's answer to one click, with both cores busy
# A canvas of the explorer: the number of dark pixels (points, axes, labels) and a checksum of the pixels.
CANVAS_SIGNATURE = """
() => {
    const canvases = Array.from(document.querySelectorAll('.mbt-explorer canvas'));
    let best = null;
    for (const c of canvases) {
        if (!c.width || !c.height) continue;
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let dark = 0, sum = 0;
        for (let k = 0; k < data.length; k += 4) {
            if (data[k + 3] > 0 && data[k] + data[k + 1] + data[k + 2] < 600) dark++;
            sum = (sum + data[k] * 3 + data[k + 1] * 5 + data[k + 2] * 7 + k) % 1000000007;
        }
        if (best === null || dark > best.dark) best = {dark: dark, sum: sum};
    }
    return best;
}
"""


def unavailable(reason: str):
    """Skip with ``reason``; under CI=true a missing prerequisite fails instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable, once playwright is importable."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable(
            f"Chromium not found at {CHROMIUM}. To enable the browser tests: sudo apt-get install chromium "
            "(Debian/Ubuntu; `make browser` does it when run as root), or set CHROMIUM=/path/to/chromium."
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as err:
        unavailable(f"playwright is not importable ({err}): run `make venv`")
    return CHROMIUM


@pytest.fixture(scope="session")
def cuts():
    """Each criterion's mask on patch 4 and the faint limit, from the Butler's tables with numpy."""
    if not (DATA / "butler.yaml").exists():
        unavailable(f"no Butler repository at {DATA}: run `make data`")
    from lsst.daf.butler import Butler

    butler = Butler(str(DATA), collections="tutorial")
    ref = butler.get("deepCoadd_ref", DATA_ID)
    forced = butler.get("deepCoadd_forced_src", DATA_ID, band="i")
    calib = butler.get("deepCoadd_calexp.photoCalib", DATA_ID, band="i")
    flux = np.asarray(forced["base_PsfFlux_instFlux"], dtype=float) * calib.getCalibrationMean()  # nJy
    with np.errstate(divide="ignore", invalid="ignore"):
        # AB magnitude of a flux in nJy: m = 31.4 - 2.5 log10(f / nJy), since 3631 Jy is m = 0 (Oke & Gunn 1983).
        mag = np.where(flux > 0, 31.4 - 2.5 * np.log10(flux), np.nan)
    return {
        "deblended": np.asarray(ref["deblend_nChild"]) == 0,
        "patch_inner": np.asarray(ref["detect_isPatchInner"], dtype=bool),
        "tract_inner": np.asarray(ref["detect_isTractInner"], dtype=bool),
        "not_sky": ~np.asarray(ref["merge_peak_sky"], dtype=bool),
        "primary": np.asarray(ref["detect_isPrimary"], dtype=bool),
        "point_source": np.asarray(forced["base_ClassificationExtendedness_value"], dtype=float) < 0.5,
        "good_psf_flux": ~np.asarray(forced["base_PsfFlux_flag"], dtype=bool),
        "faint": mag <= FAINT,
    }


def expected_count(cuts, state) -> str:
    """The explorer's count line for the checkbox ``state``, as numpy computes it."""
    keep = cuts["faint"].copy()
    names = ["primary"] if state["primary"] else [p for p in PARTS if state[p]]
    names += [n for n in ("point_source", "good_psf_flux") if state[n]]
    for name in names:
        keep &= cuts[name]
    return f"{int(keep.sum()):,} of {keep.size:,} rows selected"


# --------------------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_flags(target: str, prefixes: tuple[str, ...]) -> list[str]:
    """The options starting with one of ``prefixes`` on the server command of ``make <target>`` (``make -n``, so
    the Makefile's variables are expanded): the tests serve the lessons with the settings `make` uses."""
    make = ["make", "--no-print-directory", "-n", "-C", str(REPO_ROOT), "-o", ".venv/.installed"]
    result = subprocess.run([*make, target, "LAB_BROWSER=no"], capture_output=True, text=True, timeout=120, check=True)
    lines = result.stdout.replace("\\\n", " ").splitlines()  # a recipe's continued lines, joined
    server = next(line for line in lines if '/bin/jupyter" lab' in line or '/bin/voila"' in line)
    return [word for word in shlex.split(server) if word.startswith(prefixes)]


#: What the server logs when a setting of `make` is lost: a kernel on unencrypted TCP (ipykernel 7 warns at every
#: start) or notebook_shim reading every server setting ("ServerApp.token config is deprecated").
UNWANTED_LOG_LINES = ("Kernel is running over TCP without encryption", "config is deprecated")


def unwanted_log_lines(log_path: Path) -> list[str]:
    """The lines of a server log that ``make lab`` and ``make explorer`` are set up not to print."""
    text = log_path.read_text(errors="replace")
    return [line for line in text.splitlines() if any(unwanted in line for unwanted in UNWANTED_LOG_LINES)]


def start_server(command: list[str], cwd: Path, env: dict, log_path: Path) -> subprocess.Popen:
    """Start ``command`` in its own process group (so its kernels can be stopped with it), logging to a file."""
    with open(log_path, "w") as log:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_server(port: int, server: subprocess.Popen, log_path: Path, timeout: float = SERVER_START_TIMEOUT) -> None:
    """Wait until the server answers HTTP on ``port`` (any status), failing at once with the log if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.ico", timeout=10):
                return
        except urllib.error.HTTPError:  # an HTTP answer, whatever its status: the server is up
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"nothing answered on port {port} in {timeout} s:\n{tail(log_path)}")


def rest(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    """One call to a Jupyter server's REST API."""
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"{}")


def stop(server: subprocess.Popen) -> None:
    """Stop the server we started (SIGTERM: it shuts its kernels down), then anything left in its group."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):  # kernels the server started: its process group
        os.killpg(server.pid, signal.SIGKILL)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------------------------------------
# The explorer, through its page
# --------------------------------------------------------------------------------------------------------
def wait_for_figure(page) -> dict:
    """Wait until the live figure is drawn (many dark pixels) and return its signature."""
    page.wait_for_function(
        f"() => {{ const s = ({CANVAS_SIGNATURE})(); return s !== null && s.dark > 500; }}", timeout=STATE_TIMEOUT
    )
    return page.evaluate(CANVAS_SIGNATURE)


def click_every_checkbox(page, cuts, screenshot_prefix: str) -> None:
    """Check the initial state, then click every enabled checkbox once and the shortcut again.

    After each click the count must be numpy's, the explanation line must name the box, the implied parts must
    follow the shortcut, and unticking the point-source cut must redraw the figure.
    """
    from playwright.sync_api import expect

    state = {"primary": True, **dict.fromkeys(PARTS, True), "point_source": True, "good_psf_flux": True}
    explorer = page.locator(".mbt-explorer")
    expect(explorer).to_have_count(1, timeout=STATE_TIMEOUT)
    count = explorer.locator(".mbt-explorer-count")
    explain = explorer.locator(".mbt-explorer-explain")
    expect(count).to_contain_text(expected_count(cuts, state), timeout=STATE_TIMEOUT)
    wait_for_figure(page)
    explorer.scroll_into_view_if_needed()
    explorer.screenshot(path=str(ARTIFACTS / f"{screenshot_prefix}_initial.png"))

    def box(name):
        return explorer.get_by_role("checkbox", name=BOXES[name], exact=True)

    # The shortcut's parts are implied: ticked and disabled.
    for part in PARTS:
        expect(box(part)).to_be_checked()
        expect(box(part)).to_be_disabled()

    clicked = []
    for name in [*BOXES, "primary"]:
        checkbox = box(name)
        expect(checkbox).to_be_enabled()
        before = page.evaluate(CANVAS_SIGNATURE)
        checkbox.click()
        state[name] = not state[name]
        expect(checkbox).to_be_checked(checked=state[name], timeout=STATE_TIMEOUT)
        expect(explain).to_contain_text(BOXES[name], timeout=STATE_TIMEOUT)
        expect(count).to_contain_text(expected_count(cuts, state), timeout=STATE_TIMEOUT)
        if name == "point_source":  # the live figure is redrawn in the browser
            page.wait_for_function(
                f"(b) => {{ const s = ({CANVAS_SIGNATURE})(); return s !== null && s.sum !== b.sum; }}",
                arg=before,
                timeout=STATE_TIMEOUT,
            )
        clicked.append(name)
        for part in PARTS:  # implied while the shortcut is on, the learner's own choice otherwise
            if state["primary"]:
                expect(box(part)).to_be_disabled(timeout=STATE_TIMEOUT)
                expect(box(part)).to_be_checked(timeout=STATE_TIMEOUT)
            else:
                expect(box(part)).to_be_enabled(timeout=STATE_TIMEOUT)
                expect(box(part)).to_be_checked(checked=state[part], timeout=STATE_TIMEOUT)
    assert set(clicked) == set(BOXES)
    wait_for_figure(page)
    explorer.screenshot(path=str(ARTIFACTS / f"{screenshot_prefix}.png"))


def launch(playwright, chromium_path: str):
    """Headless Chromium and a page large enough for the explorer."""
    browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    return browser, page
