"""The workshop page (`make explorer`): Voila serves pages/explorer.ipynb; headless Chromium clicks every checkbox.

Voila runs as `make explorer` runs it (127.0.0.1, a token, nbdime's front-end extension off), on a free port, on
a temporary copy of the page beside a link to ``DATA/``. The page executes the notebook when it is opened; the
test waits for the explorer and its figure to be shown, then clicks like a learner and waits for each count
(browser_support). The server is always shut down.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import sys

import pytest
from browser_support import (  # noqa: F401  (chromium and cuts are fixtures)
    ARTIFACTS,
    DATA,
    REPO_ROOT,
    STATE_TIMEOUT,
    chromium,
    click_every_checkbox,
    cuts,
    free_port,
    launch,
    make_flags,
    start_server,
    stop,
    tail,
    unwanted_log_lines,
    wait_for_server,
)

pytestmark = pytest.mark.browser

PAGE = REPO_ROOT / "pages" / "explorer.ipynb"
PAGE_TIMEOUT = 300_000  # ms: Voila runs the page's notebook (nine patches) before the explorer shows


@pytest.fixture(scope="module")
def voila(tmp_path_factory, chromium, cuts):  # noqa: F811
    """A Voila server on a temporary copy of the page; yields (page URL with the token, port, server log)."""
    tmp = tmp_path_factory.mktemp("voila")
    work = tmp / "work"
    (work / "pages").mkdir(parents=True)
    shutil.copy2(PAGE, work / "pages" / PAGE.name)
    (work / "DATA").symlink_to(DATA, target_is_directory=True)  # the page opens "../DATA"
    for name in ("runtime", "config", "data"):
        (tmp / name).mkdir()
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "MPLBACKEND": "Agg",
    }
    flags = make_flags("explorer", ("--Voila.", "--VoilaConfiguration.", "--KernelManager."))
    assert "--Voila.ip=127.0.0.1" in flags
    token = secrets.token_hex(16)
    port = free_port()
    log_path = tmp / "voila.log"
    command = [
        sys.executable,
        "-m",
        "voila",
        f"pages/{PAGE.name}",
        *flags,
        f"--port={port}",
        f"--Voila.token={token}",
        "--no-browser",
    ]
    server = start_server(command, work, env, log_path)
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_for_server(port, server, log_path)
        yield f"{base}?token={token}", port, log_path
    finally:
        stop(server)


def test_explorer_page_in_voila(voila, cuts, chromium):  # noqa: F811
    from playwright.sync_api import sync_playwright

    url, port, log_path = voila
    ARTIFACTS.mkdir(exist_ok=True)
    console: list[str] = []
    with sync_playwright() as playwright:
        browser, page = launch(playwright, chromium)
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        try:
            # Voila streams the page while it runs the notebook: wait for the explorer, not for "load".
            page.goto(url, wait_until="commit")
            page.locator(".mbt-explorer").wait_for(timeout=PAGE_TIMEOUT)
            page.get_by_text("The selection explorer").first.wait_for(timeout=STATE_TIMEOUT)
            # Without the token the page is not served: Voila sends the visitor to its login page.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/")
            answer = connection.getresponse()
            assert answer.status == 302 and "/login" in answer.getheader("Location", ""), answer.status
            connection.close()
            click_every_checkbox(page, cuts, "explorer_page")
            assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            # The page's kernel talks to Voila over encrypted sockets, as `make explorer` sets it up.
            assert unwanted_log_lines(log_path) == []
        except Exception:
            try:
                page.screenshot(path=str(ARTIFACTS / "failure_explorer_page.png"), full_page=True)
            finally:
                print("browser console:\n" + "\n".join(console[-40:]))
                print("server log:\n" + tail(log_path))
            raise
        finally:
            browser.close()
