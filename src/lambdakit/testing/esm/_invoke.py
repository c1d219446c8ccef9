"""One invocation of the handler as Lambda makes it: a copy of the event, a context counting
down on the mapping's clock, the CPU and wall time measured, and a run past the function timeout
treated as a timeout whatever the handler returned."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from typing import Any

from lambdakit.testing.clock import FakeClock
from lambdakit.testing.context import LambdaContext

RETURNED = "returned"
RAISED = "raised"
TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class Outcome:
    """How an invocation ended: ``kind`` (returned, raised, timed_out), the handler's
    response (returned only), its exception (raised only), its CPU seconds, its real (wall)
    seconds, and the simulated seconds that passed on the mapping's clock."""

    kind: str
    response: Any = None
    error: BaseException | None = None
    cpu_seconds: float = 0.0
    seconds: float = 0.0
    wall_seconds: float = 0.0


def invoke(
    handler: Any, event: dict[str, Any], clock: FakeClock, function_timeout: float, number: int
) -> Outcome:
    """Call ``handler(event, context)`` once (``async def`` handlers run to completion).

    The handler gets a deep copy (Lambda serialises the event; a handler mutating it must not
    change what the model redelivers). Simulated time passes only when the handler advances
    ``clock``; a handler that advanced it past ``function_timeout`` timed out, as on Lambda,
    and its response does not count."""
    context = LambdaContext(
        timeout=function_timeout,
        clock=clock,
        aws_request_id=f"esm-invocation-{number}",
    )
    event = copy.deepcopy(
        event
    )  # before the timers: the copy is the model's work, not the handler's
    started = clock()
    timers = (time.process_time(), time.perf_counter())
    try:
        response = handler(event, context)
        if hasattr(response, "__await__"):
            import asyncio

            response = asyncio.run(awaited(response))
        json.dumps(response)  # Lambda serialises the response: Runtime.MarshalError otherwise
    except Exception as exc:  # the invocation failed; KeyboardInterrupt and the like propagate
        return _ended(RAISED, None, exc, timers, clock() - started, function_timeout)
    return _ended(RETURNED, response, None, timers, clock() - started, function_timeout)


async def awaited(awaitable: Any) -> Any:
    """Any awaitable as a coroutine, which is what ``asyncio.run`` takes (an ``async def``
    handler may return a Future or another awaitable)."""
    return await awaitable


def _ended(
    kind: str,
    response: Any,
    error: BaseException | None,
    timers: tuple[float, float],
    seconds: float,
    limit: float,
) -> Outcome:
    cpu = time.process_time() - timers[0]
    wall = time.perf_counter() - timers[1]
    if seconds > limit:
        return Outcome(TIMED_OUT, None, None, cpu, seconds, wall)
    return Outcome(kind, response, error, cpu, seconds, wall)
