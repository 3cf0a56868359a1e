"""The shared machinery of the self-checks: the table of known wrong answers, the placeholder, the coercions."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tutorial_lib.checks._result import (
    NO_ANSWER,
    CheckResult,
    as_count,
    as_mask,
    first_mistake,
    judge,
    right,
    self_check,
    within,
)


def test_the_first_matching_mistake_wins_and_later_ones_are_not_computed():
    computed = []

    def later():
        computed.append("later")
        return 3.0

    mistakes = {"skipped": None, "twice": 4.0, "first match": 2.0, "also 2": 2.0, "later": later}
    assert first_mistake(2.0005, mistakes, within(1e-3)) == "first match"
    assert computed == []
    assert first_mistake(3.0, mistakes, within(1e-3)) == "later"
    assert computed == ["later"]
    assert first_mistake(7.0, mistakes, within(1e-3)) is None


def test_judge_prefers_the_right_answer_then_a_mistake_then_the_fallback():
    mistakes = {"doubled": 20}
    assert judge(10, 10, int.__eq__, "ten", mistakes, "no") == CheckResult(True, "ten")
    assert judge(20, 10, int.__eq__, "ten", mistakes, "no") == CheckResult(False, "doubled")
    assert judge(21, 10, int.__eq__, "ten", mistakes, "no") == CheckResult(False, "no")


def test_self_check_answers_the_placeholder_by_position_or_keyword():
    calls = []

    @self_check
    def check_double(answer, n, *, scale=2):
        calls.append(answer)
        return right(str(answer * scale == n))

    assert check_double(..., 4).message == NO_ANSWER
    assert check_double(answer=None, n=4).message == NO_ANSWER
    assert calls == []
    assert check_double(2, 4).correct and check_double(answer=2, n=4, scale=3).message == "False"
    assert check_double.__name__ == "check_double"


def test_as_mask_takes_zero_one_integers_and_names_a_wrong_length_or_dtype():
    assert np.array_equal(as_mask(np.array([0, 1, 1]), 3, "m"), [False, True, True])
    short = as_mask(np.ones(2, bool), 3, "your mask", "the reference table")
    assert isinstance(short, CheckResult) and "2 entries" in short.message and "reference table has 3" in short.message
    floats = as_mask(np.linspace(0, 1, 3), 3, "m")
    assert isinstance(floats, CheckResult) and "dtype float64" in floats.message


def test_as_count_rejects_fractions_and_flags():
    assert as_count(np.int64(7), "n") == 7
    assert "whole number" in as_count(2.5, "n").message
    assert "a number" in as_count(True, "n").message


def test_the_array_helper_takes_quantities_without_importing_astropy_itself():
    """_arrays (under every self-check) leaves astropy unimported, and still strips a Quantity's unit."""
    script = (
        "import sys, numpy as np\n"
        "from tutorial_lib._arrays import as_array\n"
        "assert not any(name.startswith('astropy') for name in sys.modules), 'astropy imported'\n"
        "import astropy.units as u\n"
        "values = as_array(np.array([1.0, 2.0]) * u.mag)\n"
        "assert type(values) is np.ndarray and values.tolist() == [1.0, 2.0], values\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1000:]


def test_importing_a_self_check_imports_none_of_the_heavy_libraries():
    """Each self-check module imports astropy, pandas, LSDB, Dask, matplotlib and ipywidgets only when a check runs
    (each costs 0.4 s or more to import; issue 10's goal is 0.5 s for the whole import)."""
    heavy = ("astropy", "pandas", "lsdb", "dask", "matplotlib", "ipywidgets", "lsst")
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import tutorial_lib.checks as checks\n"
        "names = [m.name for m in pkgutil.iter_modules(checks.__path__) if not m.name.startswith('_')]\n"
        "for name in names:\n"
        "    importlib.import_module(f'tutorial_lib.checks.{name}')\n"
        f"heavy = {heavy!r}\n"
        "print(json.dumps([names, sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy})]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1000:]
    names, imported = json.loads(done.stdout.splitlines()[-1])
    assert len(names) >= 8 and "survey" in names and "calibration" in names
    assert imported == []


def test_as_number_converts_a_quantity_to_the_checks_unit():
    """A median in mmag was taken as mag, 50 % as 50 (a probe's finding)."""
    import astropy.units as u

    from tutorial_lib.checks._result import CheckResult, as_number

    assert as_number(-49.1 * u.mmag, "your median", unit="mag") == pytest.approx(-0.0491, rel=1e-12)
    assert as_number(50 * u.percent, "your purity", unit="") == 0.5
    assert as_number(3.0 * u.mag, "the zero point") == 3.0  # no unit asked for: the number as given
    refused = as_number(2 * u.nJy, "your median", unit="mag")
    assert isinstance(refused, CheckResult) and not refused and "does not convert to mag" in refused.message
