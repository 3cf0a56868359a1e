"""Lesson 6 in a real browser: JupyterLab + headless Chromium, clear and run every cell, click every checkbox.

Deterministic by construction: every step waits on JupyterLab's own state, never on the timing of a click.
- The notebook's session and kernel are started through the REST API (``POST /api/sessions``) before the page
  opens, so JupyterLab attaches the notebook to them and never asks "Select Kernel"; the test then waits for
  JupyterLab's own kernel status to be idle.
- The page runs with ``expose_app_in_browser``: the test opens the notebook, clears the outputs and runs every
  cell through JupyterLab's command registry (the commands behind Edit > Clear Outputs of All Cells and
  Run > Run All Cells), and waits on the notebook model: every code cell has an execution count, none has an
  error output, the kernel is idle.
- Then it clicks the widget's checkboxes like a learner and waits for each count (browser_support).

The JupyterLab server runs with the project's shipped settings (``jupyter-config/lab-settings``: no news
pop-up, no update check; the test checks that no news notification shows) and its own settings, workspaces,
runtime, config and data directories in a temporary folder, on 127.0.0.1 with a free port and a token. It serves
a temporary copy of ``notebooks/06_interactive_explorer.ipynb`` beside a link to ``DATA/`` (so the lesson's
``../DATA`` works): the repository's notebook is never opened, so never saved. The server is always shut down.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import time

import pytest
from browser_support import (  # noqa: F401  (chromium and cuts are fixtures)
    ARTIFACTS,
    DATA,
    REPO_ROOT,
    chromium,
    click_every_checkbox,
    cuts,
    free_port,
    launch,
    make_flags,
    rest,
    start_server,
    stop,
    tail,
    unwanted_log_lines,
    wait_for_server,
)

pytestmark = pytest.mark.browser

NOTEBOOK = REPO_ROOT / "notebooks" / "06_interactive_explorer.ipynb"
NOTEBOOK_PATH = f"notebooks/{NOTEBOOK.name}"  # relative to the server's root
RUN_ALL_TIMEOUT = 300_000  # ms, both cores busy
APP_TIMEOUT = 120_000  # ms
# Test-only user settings: no autosave (nothing is written back), every cell in the DOM.
USER_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
# JavaScript run in the page (window.jupyterapp is exposed by --LabApp.expose_app_in_browser). Each finds the
# notebook's panel among the main area's widgets by its path.
FIND_PANEL = """
    const findPanel = (path) => Array.from(window.jupyterapp.shell.widgets('main'))
        .find(w => w.context && w.context.path === path && w.content && w.content.model);
"""
# Open the notebook and make it the current widget; it attaches to the session started through the REST API
# (its kernel is awaited in NOTEBOOK_STATE, where a dialog would show).
OPEN_NOTEBOOK = """async (path) => {
    /* FIND_PANEL */
    const app = window.jupyterapp;
    await app.started;
    await app.restored;
    await app.serviceManager.ready;
    await app.serviceManager.kernelspecs.ready;
    await app.commands.execute('docmanager:open', {path: path, factory: 'Notebook', kernel: {name: 'python3'}});
    const panel = findPanel(path);
    await panel.context.ready;
    app.shell.activateById(panel.id);
}""".replace("/* FIND_PANEL */", FIND_PANEL)
# The state of the notebook: a dialog if one shows, else per code cell its execution count and error outputs.
NOTEBOOK_STATE = """(path) => {
    const dialog = document.querySelector('.jp-Dialog');
    if (dialog) return {dialog: dialog.innerText};
    /* FIND_PANEL */
    const panel = findPanel(path);
    if (!panel) return false;
    const cells = panel.content.model.cells;
    let total = 0, counted = 0, outputs = 0;
    const errors = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        total++;
        if (cell.executionCount !== null) counted++;
        outputs += cell.outputs.length;
        for (let j = 0; j < cell.outputs.length; j++) {
            const out = cell.outputs.get(j).toJSON();
            if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
        }
    }
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return {total, counted, outputs, errors,
            kernel: kernel ? kernel.status : 'none', kernelId: kernel ? kernel.id : null};
}""".replace("/* FIND_PANEL */", FIND_PANEL)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium, cuts):  # noqa: F811
    """A private JupyterLab server on a temporary copy of lesson 6; yields (base URL, token, workdir, log)."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    work = tmp / "work"
    (work / "notebooks").mkdir(parents=True)
    shutil.copy2(NOTEBOOK, work / NOTEBOOK_PATH)
    (work / "DATA").symlink_to(DATA, target_is_directory=True)  # the lesson opens "../DATA"
    dirs = {name: tmp / name for name in ("settings", "workspaces", "runtime", "config", "data")}
    for path in dirs.values():
        path.mkdir()
    for relative, values in USER_SETTINGS.items():
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
    token = secrets.token_hex(16)
    port = free_port()
    log_path = tmp / "server.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        # The settings `make lab` ships: no news pop-up, no update check.
        f"--LabApp.app_settings_dir={REPO_ROOT / 'jupyter-config' / 'lab-settings'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no PyPI queries
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: the command registry and the models
        # The kernels' and the server extensions' settings of `make lab`.
        *make_flags("lab", ("--KernelManager.", "--ServerApp.jpserver_extensions=")),
    ]
    if os.geteuid() == 0:  # containers and CI often run as root
        command.append("--allow-root")
    server = start_server(command, work, env, log_path)
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_for_server(port, server, log_path)
        yield base, token, work, log_path
    finally:
        stop(server)


def _start_kernel(base: str, token: str) -> str:
    """Start the notebook's session through the REST API; return its kernel's id.

    (The server reports the kernel as "starting" until a client connects; JupyterLab's own kernel status, idle,
    is awaited once the page is open.)
    """
    session = rest(
        base,
        token,
        "POST",
        "api/sessions",
        {"path": NOTEBOOK_PATH, "name": NOTEBOOK.name, "type": "notebook", "kernel": {"name": "python3"}},
    )
    kernel_id = session["kernel"]["id"]
    assert rest(base, token, "GET", f"api/kernels/{kernel_id}")["execution_state"] != "dead"
    return kernel_id


def _wait_for_notebook(page, predicate: str, what: str, timeout: float) -> dict:
    """Wait until the notebook's state satisfies ``predicate`` (JavaScript on ``s``); accept a kernel dialog.

    The kernel dialog cannot appear (the session exists before the page opens); if JupyterLab shows one anyway,
    its proposal, the notebook's own kernel, is accepted and the wait goes on. Any other dialog, or an error
    output in a cell, fails at once with its text.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        remaining = max(1.0, (deadline - time.monotonic()) * 1000)
        state = page.wait_for_function(
            f"""(path) => {{
                const s = ({NOTEBOOK_STATE})(path);
                if (!s) return false;
                if (s.dialog || (s.errors && s.errors.length)) return s;
                return ({predicate}) ? s : false;
            }}""",
            arg=NOTEBOOK_PATH,
            timeout=remaining,
        ).json_value()
        if state.get("errors"):
            raise AssertionError(f"{what}: error output in the notebook: {state['errors']}")
        if "dialog" not in state:
            return state
        if "Select Kernel" not in state["dialog"]:
            raise AssertionError(f"{what}: unexpected dialog: {state['dialog']}")
        page.locator(".jp-Dialog .jp-mod-accept").click()
        page.locator(".jp-Dialog").wait_for(state="detached")
        print(f"{what}: accepted a 'Select Kernel' dialog")


def _command(page, command: str) -> None:
    """Start one of JupyterLab's commands on the current notebook (without waiting for it to finish)."""
    page.evaluate("(id) => { window.jupyterapp.commands.execute(id); }", command)


def test_explorer_in_jupyterlab(lab, cuts, chromium):  # noqa: F811
    from playwright.sync_api import sync_playwright

    base, token, work, log_path = lab
    ARTIFACTS.mkdir(exist_ok=True)
    kernel_id = _start_kernel(base, token)
    console: list[str] = []
    with sync_playwright() as playwright:
        browser, page = launch(playwright, chromium)
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        try:
            page.goto(f"{base}lab?reset&token={token}", wait_until="domcontentloaded")
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=APP_TIMEOUT)
            page.evaluate(OPEN_NOTEBOOK, NOTEBOOK_PATH)
            state = _wait_for_notebook(page, "s.kernel === 'idle'", "opening", APP_TIMEOUT)
            assert state["kernelId"] == kernel_id, "the notebook did not attach to the session started for it"
            assert state["total"] > 10, state

            # Edit > Clear Outputs of All Cells: the stored outputs and counts cannot be mistaken for new ones.
            _command(page, "notebook:clear-all-cell-outputs")
            _wait_for_notebook(page, "s.counted === 0 && s.outputs === 0", "clearing the outputs", APP_TIMEOUT)
            # Run > Run All Cells, then every code cell has its execution count and the kernel is idle again.
            _command(page, "notebook:run-all-cells")
            state = _wait_for_notebook(
                page, "s.counted === s.total && s.kernel === 'idle'", "running every cell", RUN_ALL_TIMEOUT
            )
            assert state["counted"] == state["total"] > 10, state

            click_every_checkbox(page, cuts, "explorer")
            # The project's settings are in force: no "official Jupyter news" notification, no dialog.
            assert page.get_by_text("official Jupyter news").count() == 0
            assert page.locator(".jp-Dialog").count() == 0
            # The kernel talked to the server over encrypted sockets; no deprecated setting was read.
            assert unwanted_log_lines(log_path) == []
        except Exception:
            try:
                page.screenshot(path=str(ARTIFACTS / "failure_page.png"), full_page=True)
            finally:
                print("browser console:\n" + "\n".join(console[-40:]))
                print("server log:\n" + tail(log_path))
            raise
        finally:
            browser.close()
    # The repository's notebook was never opened: only the temporary copy could have been saved.
    assert (work / NOTEBOOK_PATH).exists()
