"""Click to count in a real browser: the selection explorer in JupyterLab, driven by headless Chromium.

A temporary JupyterLab server (127.0.0.1, a random port, its own settings and runtime folders) opens a one-cell
notebook that shows :class:`tutorial_lib.widgets.SelectionExplorer` on the simulated tract 0 (``make data``).
Playwright clicks, one at a time, checkboxes that change the count there (point source and, with the
``detect_isPrimary`` shortcut unticked, patch inner and deblended), each off then on, first on one patch and
then on every patch of the tract, and measures in the page, from the click to:

* **count**: the count's text changing (what the learner waits for);
* **all**: the explanation line changing, which the explorer sends after the figure's image.

Goal (issue 10): a median click-to-count of at most 100 ms for both scopes; exits 1 on a miss (and 2 when
Chromium, Playwright or DATA/ is missing). Needs ``chromium`` on the PATH (Debian: ``apt-get install chromium``).

Run: ``python -m benchmarks.explorer_browser [--clicks 24]``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[1]
GOAL_MEDIAN_MS = 100.0
BOXES = ("point_source", "patch_inner", "deblended")  # each changes the count at i <= 25 (the default)
SCOPES = {"one patch": "patch 4", "whole tract": "all 9 patches of tract 0"}
CELL = """\
from lsst.daf.butler import Butler
from tutorial_lib.widgets import SelectionExplorer

butler = Butler({repo!r}, collections="tutorial")
explorer = SelectionExplorer.from_butler(butler, {{"skymap": "discrete", "tract": 0, "patch": 4}}, patches="all")
explorer.set(primary=False)
explorer
"""
# JupyterLab user settings: start the notebook's kernel without asking, no news, no autosave.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False, "autostartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}
# Click one checkbox and resolve with [ms to the count's change, ms to the explanation's change].
CLICK_JS = """
async (name) => {
  const root = document.querySelector('.mbt-explorer');
  const count = root.querySelector('.mbt-explorer-count');
  const explain = root.querySelector('.mbt-explorer-explain');
  const box = root.querySelector(`.mbt-explorer-cb-${name} input[type=checkbox]`);
  const before = [count.textContent, explain.textContent];
  return await new Promise((resolve) => {
    const times = [null, null];
    const t0 = performance.now();
    const watch = (element, i) => {
      const observer = new MutationObserver(() => {
        if (element.textContent !== before[i] && times[i] === null) {
          times[i] = performance.now() - t0;
          observer.disconnect();
          if (times[0] !== null && times[1] !== null) resolve(times);
        }
      });
      observer.observe(element, {subtree: true, childList: true, characterData: true});
    };
    watch(count, 0);
    watch(explain, 1);
    box.click();
    setTimeout(() => resolve(times), 20000);
  });
}
"""


def _start_lab(folder: Path) -> tuple[subprocess.Popen, str]:
    """A JupyterLab server on 127.0.0.1 serving ``folder``; returns it and its base URL with the token."""
    token = secrets.token_hex(16)
    dirs = {name: folder / f".{name}" for name in ("config", "data", "runtime", "settings", "workspaces")}
    for path in dirs.values():
        path.mkdir()
    for name, settings in LAB_SETTINGS.items():
        path = dirs["settings"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
    }
    lab = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0"]
    lab += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}", "--allow-root"]
    server = subprocess.Popen(
        lab, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        files = list(dirs["runtime"].glob("jpserver-*.json"))
        if files:
            info = json.loads(files[0].read_text())
            return server, f"http://127.0.0.1:{info['port']}/lab/tree/bench.ipynb?token={token}"
        if server.poll() is not None:
            break
        time.sleep(0.5)
    _stop(server)
    raise RuntimeError("JupyterLab did not start within 120 s")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def _run_all(page: Any) -> None:
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=120_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=180_000)
    prompt = page.locator(".jp-NotebookPanel .jp-Cell .jp-InputPrompt").first
    for _ in range(5):  # a run asked for while the kernel still connects can be lost: ask again
        prompt.click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(
                "() => /\\[[*0-9]+\\]/.test(document.querySelector('.jp-Cell .jp-InputPrompt').textContent)",
                timeout=15_000,
            )
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try again
            continue
    page.locator(".mbt-explorer-count").wait_for(timeout=300_000)
    page.locator(".mbt-explorer canvas").first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)  # the figure's first full draw


def _measure(page: Any, clicks: int) -> dict[str, tuple[list[float], list[float]]]:
    results = {}
    for scope, label in SCOPES.items():
        page.locator(".mbt-explorer-patch select").select_option(label=label)
        page.locator(".mbt-explorer-count", has_text=label).wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        to_count, to_all = [], []
        for i in range(clicks):
            first, last = page.evaluate(CLICK_JS, BOXES[(i // 2) % len(BOXES)])
            if first is not None:
                to_count.append(first)
            if last is not None:
                to_all.append(last)
            page.wait_for_timeout(400)  # let the kernel finish the figure before the next click
        results[scope] = (to_count, to_all)
    return results


def main(argv: list[str] | None = None) -> int:
    """Print the table; 0 if the median click-to-count is within the goal for both scopes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(REPO_ROOT / "DATA"), help="Butler repository (default DATA/)")
    parser.add_argument("--clicks", type=int, default=24, help="clicks per scope (default 24)")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not (Path(args.repo) / "butler.yaml").exists():
        print("needs chromium on the PATH (apt-get install chromium) and DATA/ (make data)", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs playwright (the test extra of pyproject.toml)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL.format(repo=args.repo))])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, folder / "bench.ipynb")
        server, url = _start_lab(folder)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url, wait_until="domcontentloaded")
                try:
                    _run_all(page)
                    results = _measure(page, args.clicks)
                except Exception:
                    shot = Path(tempfile.gettempdir()) / "explorer_browser_failure.png"
                    page.screenshot(path=str(shot), full_page=True)
                    print(f"the page at the failure: {shot}", file=sys.stderr)
                    raise
                finally:
                    browser.close()
        finally:
            _stop(server)
    print("SelectionExplorer in JupyterLab + headless Chromium: click to count, ms (median, 90th percentile)")
    print(f"{'scope':<12} {'clicks':>6} | {'click to count':>16} | {'click to all':>16} | ok")
    ok = True
    for scope, (to_count, to_all) in results.items():
        if len(to_count) < args.clicks:
            ok = False
            print(f"{scope:<12}: {args.clicks - len(to_count)} clicks changed no count within 20 s")
            continue
        medians = [statistics.median(t) if t else float("nan") for t in (to_count, to_all)]
        p90 = [statistics.quantiles(t, n=10)[-1] if len(t) > 1 else float("nan") for t in (to_count, to_all)]
        met = medians[0] <= GOAL_MEDIAN_MS
        ok &= met
        cells = [f"{m:6.0f} ({p:6.0f})" for m, p in zip(medians, p90, strict=True)]
        print(f"{scope:<12} {len(to_count):>6} | {cells[0]:>16} | {cells[1]:>16} | {'yes' if met else 'NO'}")
    print(f"goal: median click to count at most {GOAL_MEDIAN_MS:.0f} ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
