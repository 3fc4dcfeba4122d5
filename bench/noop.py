"""The bare RQ chain the pipeline is measured against: five no-op jobs per item, each enqueuing the next."""

import time

from rq import Queue, get_current_job

CHAIN_LENGTH = 5


def step(item: int, n: int) -> int:
    job = get_current_job()
    if n + 1 < CHAIN_LENGTH:
        Queue(job.origin, connection=job.connection).enqueue(step, item, n + 1)
    else:
        # The chain's end time, so the benchmark can exclude the worker's own shutdown.
        job.connection.set("phantoms:bench:last_chain_done", time.time())
    return n
