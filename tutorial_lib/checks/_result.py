"""The answer of a self-check: right or wrong, and why."""

from __future__ import annotations

from dataclasses import dataclass

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
        icon = "✅" if self.correct else "❌"
        return f"{icon} **{'Correct' if self.correct else 'Not yet'}**: {self.message}"


def right(message: str) -> CheckResult:
    return CheckResult(True, message)


def wrong(message: str) -> CheckResult:
    return CheckResult(False, message)
