"""Time budgets for work a user can start: ``with time_limit(60): ...`` stops the work inside after 60 s.

Long loops of the library (zip reading, batched prediction, Score-CAM's forward passes, the models of
an analysis) call :func:`check_budget` between steps; it raises :class:`BudgetExceeded` once the
budget in force has run out or its ``cancelled`` callback says the client has gone away. Outside
any ``time_limit`` it does nothing, so library users who want no limit pay nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class BudgetExceeded(RuntimeError):
    """Work stopped at a check point: its time limit passed, or the client that asked for it went away."""


@dataclass(frozen=True)
class Budget:
    """A deadline (``time.monotonic()`` seconds) and an optional ``cancelled()`` callback."""

    deadline: float
    seconds: float
    what: str
    cancelled: Callable[[], bool] | None = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise BudgetExceeded(f"{self.what} was cancelled: the client went away")
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"{self.what} stopped at its time limit of {self.seconds:.0f} s")


_current: ContextVar[Budget | None] = ContextVar("fer_budget", default=None)


@contextmanager
def time_limit(
    seconds: float, *, what: str = "this request", cancelled: Callable[[], bool] | None = None
) -> Iterator[Budget]:
    """Run the block under a budget of ``seconds``; a budget already in force keeps its earlier deadline."""
    outer = _current.get()
    deadline = time.monotonic() + seconds
    if outer is not None and outer.deadline < deadline:
        deadline, seconds, what = outer.deadline, outer.seconds, outer.what
    if outer is not None and outer.cancelled is not None:
        mine = cancelled
        cancelled = (lambda: outer.cancelled() or mine()) if mine else outer.cancelled  # type: ignore[misc]
    budget = Budget(deadline, seconds, what, cancelled)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def current_budget() -> Budget | None:
    """The budget in force in this thread/context, if any."""
    return _current.get()


def check_budget() -> None:
    """Raise :class:`BudgetExceeded` when the budget in force has run out or was cancelled; else nothing."""
    budget = _current.get()
    if budget is not None:
        budget.check()
