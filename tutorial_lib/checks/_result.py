"""What every self-check shares: the verdict, the answer's coercion, and the table of known wrong answers.

A check works out the right answer, then compares the learner's answer with it and with each known wrong answer
in turn (:func:`judge`); the first that matches gives the message. The coercions (:func:`as_number`,
:func:`as_count`, :func:`as_mask`) turn an answer that is not even of the right kind into a message.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec

import numpy as np

from .._arrays import as_array

__all__ = ["CheckResult"]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of an exercise self-check.

    Its text repr is one or two deterministic lines (so nbval can compare it): a verdict and the reason,
    with numbers rounded to what matters.

    Attributes
    ----------
    correct : bool
        Whether the answer is right.
    message : str
        Why, or what to look at.
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
    """A :class:`CheckResult` saying the answer is right.

    Parameters
    ----------
    message : str
        Why it is right (what the numbers mean).

    Returns
    -------
    CheckResult
    """
    return CheckResult(True, message)


def wrong(message: str) -> CheckResult:
    """A :class:`CheckResult` saying the answer is not right yet.

    Parameters
    ----------
    message : str
        What to look at.

    Returns
    -------
    CheckResult
    """
    return CheckResult(False, message)


#: Fractions closer than this to the right value are accepted: the lessons print three decimals, so a right
#: answer rounded to three is within 0.0005 (a little more for the float's own rounding). A looser tolerance
#: accepted lesson 4's purity and completeness computed without detect_isPrimary (0.0013 and 0.0004 off).
FRACTION_TOLERANCE = 0.0006

#: What a check says when the learner has not replaced the ``...`` placeholder yet.
NO_ANSWER = "replace the ... in the cell above by your answer, run that cell, then this one."

#: The known wrong answers of an exercise, in the order they are tried: the message naming each mistake, and the
#: value that mistake gives (or a function of no argument computing it, called only when reached; None to skip it).
Mistakes = Mapping[str, Any]


def is_missing(answer: Any) -> bool:
    """Whether the learner left the exercise's placeholder.

    Parameters
    ----------
    answer : object
        The learner's answer.

    Returns
    -------
    bool
        True for ``...`` and None.
    """
    return answer is None or answer is Ellipsis


P = ParamSpec("P")


def self_check(check: Callable[P, CheckResult]) -> Callable[P, CheckResult]:
    """Make ``check`` say :data:`NO_ANSWER` while its first argument, the learner's answer, is ``...`` or None.

    Parameters
    ----------
    check : callable
        A self-check whose first parameter is the learner's answer.

    Returns
    -------
    callable
        The same check, with the same signature.
    """
    first = next(iter(inspect.signature(check).parameters))

    @functools.wraps(check)
    def checked(*args: P.args, **kwargs: P.kwargs) -> CheckResult:
        answer = args[0] if args else kwargs.get(first)
        return wrong(NO_ANSWER) if is_missing(answer) else check(*args, **kwargs)

    return checked


def first_mistake(answer: Any, mistakes: Mistakes, same: Callable[[Any, Any], bool]) -> str | None:
    """The message of the first known wrong answer that ``answer`` equals.

    Parameters
    ----------
    answer : object
        The learner's answer, already coerced.
    mistakes : mapping of str to object
        Each known wrong answer's message, and its value (or a function of no argument returning it, or None to
        skip it).
    same : callable
        ``same(answer, candidate) -> bool``, equality within the exercise's tolerance.

    Returns
    -------
    str or None
        The message, or None when no known wrong answer matches.
    """
    for message, candidate in mistakes.items():
        value = candidate() if callable(candidate) else candidate
        if value is not None and same(answer, value):
            return message
    return None


def judge(
    answer: Any,
    expected: Any,
    same: Callable[[Any, Any], bool],
    right_message: str,
    mistakes: Mistakes,
    otherwise: str,
) -> CheckResult:
    """Right when ``answer`` equals ``expected``; else the first matching known mistake; else ``otherwise``.

    Parameters
    ----------
    answer, expected : object
        The learner's answer (coerced) and the right one.
    same : callable
        ``same(answer, candidate) -> bool``.
    right_message : str
        The message of a right answer.
    mistakes : mapping of str to object
        The known wrong answers, as for :func:`first_mistake`.
    otherwise : str
        The message of a wrong answer that is no known mistake.

    Returns
    -------
    CheckResult
    """
    if same(answer, expected):
        return right(right_message)
    return wrong(first_mistake(answer, mistakes, same) or otherwise)


def within(tolerance: float) -> Callable[[Any, Any], bool]:
    """Equality of two numbers to ``tolerance``.

    Parameters
    ----------
    tolerance : float
        Largest absolute difference still counted as equal.

    Returns
    -------
    callable
        ``same(a, b) -> bool``.
    """
    return lambda a, b: bool(abs(float(a) - float(b)) <= tolerance)


def plain(values: Any) -> np.ndarray:
    """A column, Quantity or list as a plain ndarray.

    Parameters
    ----------
    values : array-like
        The values.

    Returns
    -------
    numpy.ndarray
        Masked entries NaN (numbers) or False (flags), units dropped.
    """
    return as_array(values, integer_fill=None)


def floats(values: Any) -> np.ndarray:
    """:func:`plain` values as floats.

    Parameters
    ----------
    values : array-like
        The values.

    Returns
    -------
    numpy.ndarray of float
    """
    return np.asarray(plain(values), dtype=float)


def column(table: Any, name: str, dtype: Any = None) -> np.ndarray:
    """The column ``name`` of ``table`` as a :func:`plain` array; a KeyError naming it if the table has none.

    Parameters
    ----------
    table : astropy.table.Table or mapping of str to array-like
        The table the check reads.
    name : str
        The column.
    dtype : numpy dtype, optional
        The array's dtype (``float``); by default the column's own.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    KeyError
        If the table has no column ``name``.
    """
    try:
        values = plain(table[name])
    except (KeyError, ValueError) as err:
        raise KeyError(f"the table has no column '{name}', which this check needs") from err
    return values if dtype is None else np.asarray(values, dtype=dtype)


def as_number(value: Any, what: str, unit: str | None = None) -> float | CheckResult:
    """A learner's answer as one finite float, or why it is not one.

    Parameters
    ----------
    value : object
        The answer: a number, a 0-d array or a Quantity.
    what : str
        What it is, for the message.
    unit : str, optional
        The unit the check works in (``"mag"``; ``""`` for a fraction): a Quantity is converted to it (10 mmag
        is 0.01 mag, 50 % is 0.5), and one that cannot be is wrong. Without it, a Quantity's number is taken.

    Returns
    -------
    float or CheckResult
        The number, or a wrong :class:`CheckResult` saying why the answer is not one.
    """
    if isinstance(value, bool | str | bytes) or value is None:
        return wrong(f"{what} should be a number; got {value!r}.")
    given = getattr(value, "unit", None)
    if given is not None and unit is not None:
        import astropy.units as u  # already imported: the answer carries a unit

        try:
            value = u.Quantity(value).to_value(unit)
        except u.UnitsError:
            return wrong(f"{what} has unit '{given}', which does not convert to {unit or 'a plain fraction'}.")
    value = getattr(value, "value", value)  # a Quantity
    if np.ndim(value) != 0:
        return wrong(f"{what} should be a single number; got an array of shape {np.shape(value)}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return wrong(f"{what} should be a number; got {value!r}.")
    if not np.isfinite(number):
        return wrong(
            f"{what} is {number}: a NaN usually means a division by zero or a NaN in the inputs; "
            "drop rows without a value first."
        )
    return number


def as_count(value: Any, what: str) -> int | CheckResult:
    """A learner's answer as a whole number, or why it is not one.

    Parameters
    ----------
    value : object
        The answer.
    what : str
        What it is, for the message.

    Returns
    -------
    int or CheckResult
        The count, or a wrong :class:`CheckResult` saying why the answer is not one.
    """
    number = as_number(value, what)
    if isinstance(number, CheckResult):
        return number
    if number != round(number):
        return wrong(f"{what} should be a whole number (a count); got {number:g}.")
    return int(round(number))


def as_mask(values: Any, n: int, what: str, table: str = "the table") -> np.ndarray | CheckResult:
    """A learner's answer as a boolean mask of ``n`` rows, or why it is not one.

    Parameters
    ----------
    values : array-like
        The answer; 0/1 integers are accepted as False/True.
    n : int
        Rows of the table the mask selects from.
    what : str
        What it is, for the message.
    table : str, optional
        The table, for the message.

    Returns
    -------
    numpy.ndarray or CheckResult
        The mask, or a wrong :class:`CheckResult` saying why the answer is not one.
    """
    try:
        array = plain(values)
    except (TypeError, ValueError):
        return wrong(f"{what} should be an array of True/False, one per row; got {type(values).__name__}.")
    if array.ndim != 1 or len(array) != n:
        return wrong(
            f"{what} has {array.size:,} entries (shape {array.shape}) but {table} has {n:,} rows: build it from "
            "the columns of the whole table (a mask has one entry per row), not from a table that was already cut."
        )
    if array.dtype != bool:
        if not (np.issubdtype(array.dtype, np.number) and np.all(np.isin(array, (0, 1)))):
            return wrong(
                f"{what} should hold True/False values; it has dtype {array.dtype}. Combine flag columns with "
                "& (and), | (or) and ~ (not), and compare numbers with == or <."
            )
        array = array.astype(bool)
    return array
