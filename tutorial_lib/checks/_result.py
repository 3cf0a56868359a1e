"""The answer of a self-check: right or wrong, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._arrays import as_array

__all__ = ["CheckResult"]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of an exercise self-check.

    Its text repr is one or two deterministic lines (so nbval can compare it): a verdict and the reason,
    with numbers rounded to what matters.
    """

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        verdict = "Correct" if self.correct else "Not yet"
        return f"{verdict}: {self.message}"

    def _repr_markdown_(self) -> str:
        # Text marks (in DejaVu and every common font), not emoji, which show as empty boxes without an emoji font.
        icon = "✓" if self.correct else "✗"
        return f"{icon} **{'Correct' if self.correct else 'Not yet'}**: {self.message}"


def right(message: str) -> CheckResult:
    """A :class:`CheckResult` saying the answer is right, and why."""
    return CheckResult(True, message)


def wrong(message: str) -> CheckResult:
    """A :class:`CheckResult` saying the answer is not right yet, and what to look at."""
    return CheckResult(False, message)


#: What a check says when the learner has not replaced the ``...`` placeholder yet.
NO_ANSWER = "replace the ... in the cell above by your answer, run that cell, then this one."


def is_missing(answer: Any) -> bool:
    """Whether the learner left the exercise's placeholder (``...``) or ``None``."""
    return answer is None or answer is Ellipsis


def plain(values: Any) -> np.ndarray:
    """A column, Quantity or list as a plain ndarray; masked entries become NaN (numbers) or False (flags)."""
    return as_array(values, integer_fill=None)


def as_number(value: Any, what: str) -> tuple[float | None, CheckResult | None]:
    """A learner's answer as one finite float, or the reason it is not one (a wrong :class:`CheckResult`)."""
    if isinstance(value, bool | str | bytes) or value is None:
        return None, wrong(f"{what} should be a number; got {value!r}.")
    value = getattr(value, "value", value)  # a Quantity
    if np.ndim(value) != 0:
        return None, wrong(f"{what} should be a single number; got an array of shape {np.shape(value)}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, wrong(f"{what} should be a number; got {value!r}.")
    if not np.isfinite(number):
        return None, wrong(
            f"{what} is {number}: a NaN usually means a division by zero or a NaN in the inputs; "
            "drop rows without a value first."
        )
    return number, None
