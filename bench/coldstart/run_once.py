"""One cold start, in the fresh process ``bench/coldstart_bench.py`` starts for it.

Usage: ``python run_once.py APP_DIR MODULE WARM EVENTS_JSON``. Sets up what the Lambda runtime
has in place before it loads a handler (its JSON logging, its context class), then times, on the
wall clock: the import of MODULE from APP_DIR (plus, when WARM names module attributes,
``lambdakit.warm_up(module.a, module.b, ...)`` with them, as a call at the end of the module
would run it: INIT), the first invocation and the second (two different batches from
EVENTS_JSON). Prints one JSON line: the three times in ms and
both responses. Nothing of lambdakit or Powertools is imported before the timed import.
"""

from __future__ import annotations

import json
import os
import sys
import time

TIMEOUT_S = 30.0  # the template's function timeout


def main(argv: list[str]) -> int:
    app_dir, module, warm, events_path = argv
    with open(events_path, encoding="utf-8") as file:
        first_event, second_event = json.load(file)

    from lambda_env import lambda_context, lambda_logging  # beside this file

    lambda_logging()
    sys.path.insert(0, app_dir)
    first_context = lambda_context(TIMEOUT_S, "request-1")
    second_context = lambda_context(TIMEOUT_S, "request-2")

    start = time.perf_counter()
    app = __import__(module)
    if warm:
        import lambdakit

        targets = [getattr(app, name) for name in warm.split(",")]
        lambdakit.warm_up(*targets)
    imported = time.perf_counter()
    first = app.handler(first_event, first_context)
    invoked = time.perf_counter()
    second = app.handler(second_event, second_context)
    done = time.perf_counter()

    result = {
        "import_ms": (imported - start) * 1000,
        "first_ms": (invoked - imported) * 1000,
        "second_ms": (done - invoked) * 1000,
        "responses": [first, second],
    }
    print(json.dumps(result), flush=True)
    # Both apps have flushed every message; skip interpreter teardown (the Kafka clients'
    # destructors), which Lambda never runs between invocations either.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
