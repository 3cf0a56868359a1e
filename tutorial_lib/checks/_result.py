"""The answer of a self-check: right or wrong, and why."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    return CheckResult(True, message)


def wrong(message: str) -> CheckResult:
    return CheckResult(False, message)


#: What a check says when the learner has not replaced the ``...`` placeholder yet.
NO_ANSWER = "replace the ... in the cell above by your answer, run that cell, then this one."


def is_missing(answer) -> bool:
    """Whether the learner left the exercise's placeholder (``...``) or ``None``."""
    return answer is None or answer is Ellipsis


def plain(values) -> np.ndarray:
    """A column, Quantity or list as a plain ndarray; masked entries become NaN (floats) or False (bools)."""
    if hasattr(values, "unmasked") and hasattr(values, "mask"):
        data, mask = np.asarray(values.unmasked), np.asarray(values.mask, dtype=bool)
    elif isinstance(values, np.ma.MaskedArray):
        data, mask = np.ma.getdata(values), np.ma.getmaskarray(values)
    else:
        data, mask = values, None
    data = np.asarray(getattr(data, "value", data))
    if mask is not None and mask.any():
        data = np.where(mask, False, data) if data.dtype == bool else np.where(mask, np.nan, data.astype(float))
    return data
