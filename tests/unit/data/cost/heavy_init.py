"""A handler module whose INIT takes time and memory: it waits 50 ms and keeps 64 MiB."""

import time

time.sleep(0.05)
BUFFER = b"x" * (64 * 1024 * 1024)


def handler(event: object, context: object) -> None:
    pass
