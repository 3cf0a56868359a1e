"""Exercise self-checks: each function takes a learner's answer and says right or wrong, and why.

One module per lesson topic; everything is re-exported here, so a notebook writes
``from tutorial_lib import checks`` and ``checks.check_<exercise>(answer, ...)``.
"""

from ._result import CheckResult

__all__ = ["CheckResult"]
