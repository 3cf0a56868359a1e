"""The set-up promises: dependency lists agree, the two commands are documented, CI calls make test."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]
    return {Requirement(r).name.lower(): str(Requirement(r).specifier) for r in reqs}


def _environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    out = {}
    for item in env["dependencies"]:
        entries = item["pip"] if isinstance(item, dict) else [item]
        for entry in entries:
            if entry.startswith("-e") or entry in ("pip",):
                continue
            req = Requirement(entry)
            if req.name != "python":
                out[req.name.lower()] = str(req.specifier)
    return out


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_lock_file_pins_every_dependency_within_its_range():
    pins = {}
    for line in (REPO_ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    for name, spec in _pyproject_requirements().items():
        assert name in pins, f"{name} is not pinned in requirements.lock"
        assert Requirement(f"{name}{spec}").specifier.contains(pins[name]), f"{name}=={pins[name]} outside {spec}"


def test_readme_shows_exactly_the_two_setup_commands():
    readme = (REPO_ROOT / "README.md").read_text()
    section = re.search(r"^## Set up\n(.*?)(?=^## )", readme, flags=re.M | re.S)
    assert section is not None, "README.md has no '## Set up' section"
    commands = re.findall(r"^ {4}(\S.*)$", section.group(1), flags=re.M)  # the indented code lines
    assert commands == ["make lab", "make test"]
    assert "WSL2" in readme and "lsst-sphgeom" in readme


def test_ci_runs_make_test():
    run = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", run, flags=re.M)
    assert "MULTIBAND_TUTORIAL_SHARED" in run


def _readme_section(title: str) -> str:
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_names_every_module_of_the_library_and_its_layer():
    """The README section on how the code is organised names every module; library_shape's layers hold them all."""
    import importlib.util

    section = _readme_section("How the code is organised")
    library = REPO_ROOT / "tutorial_lib"
    missing = []
    for path in sorted(library.rglob("*.py")):
        if path.name == "__init__.py" or "__pycache__" in path.parts:
            continue
        # Named by its path, its file name, or (a self-check module) its name alone, in backticks.
        if not any(f"`{name}`" in section for name in (f"tutorial_lib/{path.name}", path.name, path.stem)):
            missing.append(str(path.relative_to(REPO_ROOT)))
    assert not missing, f"README's 'How the code is organised' does not name {missing}"

    spec = importlib.util.spec_from_file_location("library_shape", REPO_ROOT / "benchmarks" / "library_shape.py")
    shape = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shape)
    in_layers = set().union(*shape.LAYERS)
    top_level = {p.stem for p in library.glob("*.py") if p.name != "__init__.py"}
    top_level |= {p.name for p in library.iterdir() if (p / "__init__.py").is_file()}
    assert top_level == in_layers
    diagram = section.split("```")[1]
    assert not [name for name in sorted(top_level) if not re.search(rf"\b{name}\b", diagram)]
