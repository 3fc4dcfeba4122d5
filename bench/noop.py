"""The bare RQ chain the pipeline is measured against: five no-op jobs per item, each enqueuing the next."""

from rq import get_current_job

CHAIN_LENGTH = 5


def step(item: int, n: int) -> int:
    if n + 1 < CHAIN_LENGTH:
        get_current_job().origin  # noqa: B018 - touch the job like a real one would
        from django_rq import get_queue

        get_queue("script").enqueue(step, item, n + 1)
    return n
