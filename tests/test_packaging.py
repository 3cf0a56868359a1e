"""The built wheel holds every module: build it, install it into a clean venv, import each module from there.

An editable install (what `make` does) reads the source tree and hides a package missing from the wheel. Here
the wheel is built from a copy of the sources (with uv, else pip; offline, with the venv's setuptools), installed
without dependencies into a new venv, and every module is imported there. The dependencies come from the
project's venv through a ``.pth`` line, which adds its site-packages but not its editable-install hooks, so
``tutorial_lib`` and ``data_fetch`` can only come from the wheel; the test checks they do.
"""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from conftest import REPO_ROOT

PACKAGES = ("tutorial_lib", "data_fetch")
UV = Path(sys.executable).parent / "uv"


def _source_modules() -> set[str]:
    """Dotted names of every module of the packages in the source tree."""
    names = set()
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    if UV.exists():
        command = [
            str(UV),
            "build",
            "--wheel",
            "--no-build-isolation",
            "--offline",
            "--python",
            sys.executable,
            "--out-dir",
            str(dist),
            str(source),
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(dist),
            str(source),
        ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = dist.glob("multiband_tutorial-*.whl")
    return wheel


def test_the_wheel_installs_into_a_clean_venv_and_every_module_imports(tmp_path):
    wheel = _build_wheel(tmp_path)
    expected = _source_modules()
    assert "tutorial_lib.checks" in expected and "tutorial_lib.checks._result" in expected

    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {
            ".".join(
                Path(name).with_suffix("").parts[:-1]
                if name.endswith("/__init__.py")
                else Path(name).with_suffix("").parts
            )
            for name in archive.namelist()
            if name.endswith(".py")
        }
    assert expected <= in_wheel, f"missing from the wheel: {sorted(expected - in_wheel)}"

    venv = tmp_path / "clean"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    if UV.exists():
        install = [str(UV), "pip", "install", "--python", str(python), "--no-deps", "--offline", "--quiet", str(wheel)]
    else:
        install = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ]
    result = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    dependencies = [p for p in site.getsitepackages() if Path(p).is_dir()] or [sysconfig.get_paths()["purelib"]]
    (purelib / "_project_dependencies.pth").write_text("\n".join(dependencies) + "\n")

    modules = sorted(name for name in expected if not name.endswith("__main__"))
    script = (
        "import importlib, json, sys\n"
        "files = {}\n"
        f"for name in {modules!r}:\n"
        "    files[name] = importlib.import_module(name).__file__\n"
        "print(json.dumps(files))\n"
    )
    result = subprocess.run(
        [str(python), "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    files = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(files) == len(modules) >= 20
    outside = {name: path for name, path in files.items() if not Path(path).is_relative_to(purelib)}
    assert not outside, f"imported from outside the wheel's install: {outside}"
