"""scripts/compile_bytecode.py: after uv's install, the data build's packages are compiled, all of them."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

from conftest import REPO_ROOT

_spec = importlib.util.spec_from_file_location("compile_bytecode", REPO_ROOT / "scripts" / "compile_bytecode.py")
compile_bytecode = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compile_bytecode)

#: Run a small build and print the source files of the modules it imported after start-up, as JSON.
_LIST_IMPORTS = """
import json, runpy, sys
at_start = set(sys.modules)
sys.argv = ["data_fetch", "simulate", "--repo", sys.argv[1], "--patches", "1", "--quiet"]
try:
    runpy.run_module("data_fetch", run_name="__main__")
finally:
    files = [getattr(module, "__file__", None) for name, module in list(sys.modules.items()) if name not in at_start]
    print(json.dumps(sorted(f for f in files if f and f.endswith(".py"))))
"""


def test_the_packages_cover_every_module_the_data_build_imports(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _LIST_IMPORTS, str(tmp_path / "repo")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    imported = {Path(f).resolve() for f in json.loads(result.stdout.splitlines()[-1])}
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    outside_stdlib = {f for f in imported if not f.is_relative_to(stdlib) or "site-packages" in f.parts}
    assert len(outside_stdlib) > 500  # lsst.daf.butler, astropy, sqlalchemy, numpy... and this project
    compiled = {f.resolve() for f in compile_bytecode.source_files()}
    missing = sorted(str(f) for f in outside_stdlib - compiled)
    assert not missing, (
        f"{len(missing)} modules: add their packages to PACKAGES (scripts/compile_bytecode.py): {missing[:20]}"
    )


def test_source_files_leave_out_tests_but_keep_what_astropy_imports():
    files = compile_bytecode.source_files(("astropy", "typing_extensions"))
    names = {f.name for f in files}
    as_posix = {f.as_posix() for f in files}
    assert any(p.endswith("astropy/units/core.py") for p in as_posix)
    assert any(p.endswith("astropy/tests/runner.py") for p in as_posix)  # astropy imports it at start-up
    assert not any(re.match(r"test_.*\.py$|conftest\.py$", name) for name in names)
    assert "typing_extensions.py" in names  # a one-file module
    assert compile_bytecode.source_files(("no_such_package_here",)) == []


def test_compile_all_writes_bytecode_and_counts_what_does_not_compile(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("ANSWER = 42\n")
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n")
    assert compile_bytecode.compile_all([good, bad], workers=2) == 1
    assert importlib.util.cache_from_source(str(good)) and Path(importlib.util.cache_from_source(str(good))).exists()
    assert not Path(importlib.util.cache_from_source(str(bad))).exists()
