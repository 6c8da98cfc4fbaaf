"""What a load run's figures mean, without any transport: which cases the store confirms lost
and which were only unfinished when the drain ended, whether a step held its rate, and the step
search for the highest rate held.

A case the clients did not see concluded is *lost* only when the store confirms it: not
concluded in intake or in approval, and nothing of it in flight anywhere (no outbox row of it
unpublished in any service, no open task of it waiting for a department, no message waiting in
any service's queue), in two looks a moment apart. Anything else is *unfinished*: the system
still owes it work, or finished it after the clients stopped watching.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

LOST, UNFINISHED = "lost", "unfinished"


@dataclass(frozen=True)
class StoreLook:
    """One look at the store and the broker, for the cases the clients did not see concluded."""
    concluded: frozenset[str]  # concluded in intake or in approval
    unpublished: frozenset[str]  # a row of the case in some service's outbox not yet published
    open_tasks: frozenset[str]  # a task of the case not decided, waiting for its department
    statuses: dict[str, str]  # intake's status of each case, to tell a case that moved between looks
    queued: int = 0  # messages waiting in the services' queues: not told apart by case


def moving(look: StoreLook) -> frozenset[str]:
    return look.concluded | look.unpublished | look.open_tasks


def fates(open_cases: Iterable[str], first: StoreLook, second: StoreLook) -> dict[str, str]:
    """Each open case (accepted, not seen concluded by its clients): lost or unfinished.

    Lost only when neither look shows it concluded or in flight, no queue held a message in
    either look, and its status did not change between the looks."""
    result = {}
    for number in open_cases:
        lost = (first.queued == 0 and second.queued == 0
                and number not in moving(first) and number not in moving(second)
                and first.statuses.get(number) == second.statuses.get(number))
        result[number] = LOST if lost else UNFINISHED
    return result


# A step holds its rate when every case concluded within the drain with p99 under the bound and
# the concluded cases kept up with the offer (not more than this share behind it).
BEHIND = 0.9


def held(result: dict, p99_ms: float) -> tuple[bool, str]:
    """Whether a step's figures hold its offered rate; the reason when they do not."""
    if result["lost"] or result["duplicated"]:
        return False, f"{result['lost']} lost, {result['duplicated']} duplicated"
    if result["unfinished"]:
        return False, f"{result['unfinished']} cases unfinished after the drain: they fell behind"
    if result["cases_per_s"] < BEHIND * result["rate"]:
        return False, f"{result['cases_per_s']} cases/s concluded of {result['rate']}/s offered: they fell behind"
    if result["p99_ms"] > p99_ms:
        return False, f"p99 {result['p99_ms']} ms over {p99_ms:g} ms"
    return True, "held"


@dataclass
class Step:
    rate: float
    held: bool
    why: str
    result: dict


def find_max(run_step: Callable[[float], dict], start: float, step: float, p99_ms: float,
             most: int = 20) -> tuple[float | None, list[Step]]:
    """Raise the rate by `step` from `start` until a step does not hold (or `most` steps ran);
    the highest rate held (None if the first did not) and every step."""
    steps: list[Step] = []
    best = None
    rate = start
    for _ in range(most):
        result = run_step(rate)
        ok, why = held(result, p99_ms)
        steps.append(Step(rate, ok, why, result))
        if not ok:
            break
        best = rate
        rate = round(rate + step, 3)
    return best, steps
