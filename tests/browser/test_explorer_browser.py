"""Lesson 6 in a real browser: JupyterLab + headless Chromium, Run All, then click every enabled checkbox.

The JupyterLab server runs with its own settings, workspaces, runtime, config and data directories in a
temporary folder, on 127.0.0.1 with a random port (``--port=0``; the URL and token are read from the server's
``jpserver-<pid>.json`` runtime file) and with news and update checks off. It serves a temporary copy of
``notebooks/06_interactive_explorer.ipynb`` (beside a link to ``DATA/``, so the lesson's ``../DATA`` still
works): the repository's notebook is never opened, so never saved. The server is always shut down.

Every expected count is computed here with numpy from the Butler's tables, not with the widget's code.

Needs Debian's Chromium at /usr/bin/chromium (or $CHROMIUM): ``sudo apt-get install chromium``. Without it
the test is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO_ROOT / "notebooks" / "06_interactive_explorer.ipynb"
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
FAINT = 25.0  # the lesson's faint limit, the state the notebook leaves the explorer in
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
SERVER_START_TIMEOUT = 90  # s
RUN_ALL_TIMEOUT = 180_000  # ms
CLICK_TIMEOUT = 30_000  # ms
# JupyterLab user settings: no news, no update check, no autosave, every cell in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------------------
# Expected counts, independently of tutorial_lib.widgets
# --------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cuts():
    """Each criterion's mask on patch 4 and the faint limit, from the Butler's tables with numpy."""
    if not (DATA / "butler.yaml").exists():
        _unavailable(f"no Butler repository at {DATA}: run `make data`")
    from lsst.daf.butler import Butler

    butler = Butler(str(DATA), collections="tutorial")
    ref = butler.get("deepCoadd_ref", DATA_ID)
    forced = butler.get("deepCoadd_forced_src", DATA_ID, band="i")
    calib = butler.get("deepCoadd_calexp.photoCalib", DATA_ID, band="i")
    flux = np.asarray(forced["base_PsfFlux_instFlux"], dtype=float) * calib.getCalibrationMean()  # nJy
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(flux > 0, 31.4 - 2.5 * np.log10(flux), np.nan)  # AB, 1 nJy = 31.4
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
    keep = cuts["faint"].copy()
    names = ["primary"] if state["primary"] else [p for p in PARTS if state[p]]
    names += [n for n in ("point_source", "good_psf_flux") if state[n]]
    for name in names:
        keep &= cuts[name]
    return f"{int(keep.sum()):,} of {keep.size:,} rows selected"


# --------------------------------------------------------------------------------------------------------
# JupyterLab server
# --------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(
            f"Chromium not found at {CHROMIUM}. To enable the browser test: sudo apt-get install chromium "
            "(Debian/Ubuntu; `make browser` does it when run as root), or set CHROMIUM=/path/to/chromium."
        )
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed: make venv")
    return CHROMIUM


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium, cuts):
    """A private JupyterLab server on a temporary copy of lesson 6; yields (base URL, token, workdir)."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    work = tmp / "work"
    (work / "notebooks").mkdir(parents=True)
    shutil.copy2(NOTEBOOK, work / "notebooks" / NOTEBOOK.name)
    (work / "DATA").symlink_to(DATA, target_is_directory=True)  # the lesson opens "../DATA"
    dirs = {name: tmp / name for name in ("settings", "workspaces", "runtime", "config", "data")}
    for path in dirs.values():
        path.mkdir()
    for relative, values in LAB_SETTINGS.items():
        target = dirs["settings"] / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "MPLBACKEND": "Agg",
    }
    env.pop("JUPYTER_PORT", None)
    token = secrets.token_hex(16)
    log_path = tmp / "server.log"
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.open_browser=False",
        "--LabServerApp.open_browser=False",
        "--LabApp.extension_manager=readonly",  # no PyPI queries
    ]
    if os.geteuid() == 0:  # containers and CI often run as root
        command.append("--allow-root")
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        info = _wait_for_runtime_file(server, dirs["runtime"], log_path)
        base = info["url"].rstrip("/") + "/"
        yield base, info.get("token") or token, work, log_path
    finally:
        _stop(server)


def _wait_for_runtime_file(server: subprocess.Popen, runtime: Path, log_path: Path) -> dict:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    path = runtime / f"jpserver-{server.pid}.json"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n{_tail(log_path)}")
        if path.exists():
            try:
                info = json.loads(path.read_text())
            except json.JSONDecodeError:  # being written
                info = None
            if info and info.get("port"):
                return info
        time.sleep(0.2)
    raise RuntimeError(f"JupyterLab wrote no {path.name} in {SERVER_START_TIMEOUT} s:\n{_tail(log_path)}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server we started (SIGTERM: it shuts its kernels down), then anything left in its group."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    try:  # kernels the server started are in its process group
        os.killpg(server.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------------------
_CANVAS_SIGNATURE = """
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


def test_explorer_in_jupyterlab(lab, cuts):
    from playwright.sync_api import expect, sync_playwright

    base, token, work, log_path = lab
    ARTIFACTS.mkdir(exist_ok=True)
    console: list[str] = []
    state = {"primary": True, **dict.fromkeys(PARTS, True), "point_source": True, "good_psf_flux": True}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        try:
            page.goto(f"{base}lab/tree/notebooks/{NOTEBOOK.name}?token={token}", wait_until="domcontentloaded")
            page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
            _wait_for_kernel_idle(page)

            # Edit > Clear Outputs of All Cells (so the stored outputs and prompts cannot be mistaken for the
            # new ones), then Run > Run All Cells, through the menu bar as a learner would.
            _menu(page, "Edit", "Clear Outputs of All Cells")
            page.wait_for_function(
                """() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt'))
                    .every(p => !/\\d/.test(p.textContent))""",
                timeout=CLICK_TIMEOUT,
            )
            _menu(page, "Run", "Run All Cells")
            _wait_for_all_cells_done(page)

            explorer = page.locator(".mbt-explorer")
            expect(explorer).to_have_count(1, timeout=CLICK_TIMEOUT)
            count = explorer.locator(".mbt-explorer-count")
            explain = explorer.locator(".mbt-explorer-explain")
            expect(count).to_contain_text(expected_count(cuts, state), timeout=CLICK_TIMEOUT)
            page.wait_for_function(
                f"() => {{ const s = ({_CANVAS_SIGNATURE})(); return s !== null && s.dark > 500; }}",
                timeout=CLICK_TIMEOUT,
            )
            explorer.scroll_into_view_if_needed()
            explorer.screenshot(path=str(ARTIFACTS / "explorer_initial.png"))

            def box(name):
                return explorer.locator(f".mbt-explorer-cb-{name} input[type=checkbox]")

            # The shortcut's parts are implied: ticked and disabled.
            for part in PARTS:
                expect(box(part)).to_be_checked()
                expect(box(part)).to_be_disabled()

            # Click every enabled checkbox once (the parts become enabled when the shortcut is unticked),
            # then the shortcut again; after each click the count must be the numpy count.
            clicked = []
            for name in [*BOXES, "primary"]:
                checkbox = box(name)
                expect(checkbox).to_be_enabled()
                before = page.evaluate(_CANVAS_SIGNATURE)
                checkbox.click()
                state[name] = not state[name]
                expect(checkbox).to_be_checked(checked=state[name])
                expect(explain).to_contain_text(BOXES[name], timeout=CLICK_TIMEOUT)
                expect(count).to_contain_text(expected_count(cuts, state), timeout=CLICK_TIMEOUT)
                if name == "point_source":  # the live figure is redrawn in the browser
                    page.wait_for_function(
                        f"(b) => {{ const s = ({_CANVAS_SIGNATURE})(); return s !== null && s.sum !== b.sum; }}",
                        arg=before,
                        timeout=CLICK_TIMEOUT,
                    )
                clicked.append(name)
                for part in PARTS:  # implied while the shortcut is on, the learner's own choice otherwise
                    if state["primary"]:
                        expect(box(part)).to_be_disabled()
                        expect(box(part)).to_be_checked()
                    else:
                        expect(box(part)).to_be_enabled()
                        expect(box(part)).to_be_checked(checked=state[part])
            assert set(clicked) == set(BOXES)

            page.wait_for_function(
                f"() => {{ const s = ({_CANVAS_SIGNATURE})(); return s !== null && s.dark > 500; }}",
                timeout=CLICK_TIMEOUT,
            )
            explorer.screenshot(path=str(ARTIFACTS / "explorer.png"))
        except Exception:
            try:
                page.screenshot(path=str(ARTIFACTS / "failure_page.png"), full_page=True)
            finally:
                print("browser console:\n" + "\n".join(console[-40:]))
                print("server log:\n" + _tail(log_path))
            raise
        finally:
            browser.close()
    # The repository's notebook was never opened: only the temporary copy could have been saved.
    assert (work / "notebooks" / NOTEBOOK.name).exists()


def _menu(page, menu: str, item: str) -> None:
    """Click ``item`` in the menu bar's ``menu``."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(f"^{re.escape(menu)}$")).click()
    entry = page.locator(".lm-Menu-content .lm-Menu-item .lm-Menu-itemLabel", has_text=re.compile(
        f"^{re.escape(item)}$"
    ))
    entry.click()


def _wait_for_kernel_idle(page) -> None:
    """Wait until the notebook's kernel has started and is idle.

    JupyterLab sometimes asks which kernel to start even though the notebook names one (when the kernel
    specs arrive late); accept its proposal, the notebook's own kernel, if it does.
    """
    while True:
        state = page.wait_for_function(
            """() => {
                const dialog = document.querySelector('.jp-Dialog');
                if (dialog) return /Select Kernel/.test(dialog.innerText) ? 'kernel-dialog' : 'dialog';
                const status = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
                return status && status.getAttribute('data-status') === 'idle' ? 'idle' : false;
            }""",
            timeout=60_000,
        ).json_value()
        if state == "idle":
            return
        if state != "kernel-dialog":
            raise AssertionError(f"unexpected dialog: {page.locator('.jp-Dialog').inner_text()}")
        page.locator(".jp-Dialog .jp-mod-accept").click()
        page.locator(".jp-Dialog").wait_for(state="detached")


def _wait_for_all_cells_done(page) -> None:
    """Wait until every code cell has run: numbered prompts, no [*], kernel idle."""
    page.wait_for_function(
        """() => {
            // (a cell whose source is hidden, like the exercise's solution, shows no prompt)
            const prompts = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt'))
                .filter(p => p.textContent.trim() !== '');
            if (prompts.length === 0) return false;
            const done = prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            const status = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
            const idle = !status || status.getAttribute('data-status') === 'idle';
            return done && idle;
        }""",
        timeout=RUN_ALL_TIMEOUT,
    )
