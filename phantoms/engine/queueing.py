"""Putting a stage's job on its queue, now or later, and remembering on the row which job that is.

The row's `job_id` and `next_run_at` are written in the same commit as whatever made the job
necessary, so the reconciler can tell a row whose job was lost from one whose job is on its way.
"""

import uuid
from datetime import timedelta

import django_rq
from django.db import transaction
from django.utils import timezone
from rq.scheduler import RQScheduler

from phantoms.redis import get_redis

from .handler import StageHandler

# The one job function every stage runs through (it finds the stage by name in the registry).
JOB_PATH = "phantoms.engine.jobs.run_stage"
JOB_OPTIONS = {"job_timeout": 900, "result_ttl": 300, "failure_ttl": 7 * 86400}


def get_queue(name: str):
    """The process's queue object: one Redis connection pool, not a new connection per enqueue."""
    return django_rq.get_queue(name, connection=get_redis())


def promote_due_jobs(queue_names, connection):
    """Move scheduled jobs whose time has come onto their queues: what a worker's scheduler does, for
    in-process burst workers (tests, benchmarks) that run without one."""
    scheduler = RQScheduler(list(queue_names), connection=connection)
    scheduler.acquire_locks()
    try:
        scheduler.enqueue_scheduled_jobs()
    finally:
        scheduler.release_locks()


def _put(handler: StageHandler, pk: int, delay: float, job_id: str):
    return put_many([(handler, pk, delay, job_id)])[0]


def put_many(jobs):
    """Put jobs, given as (handler, pk, delay, job_id), on their queues in one round trip to Redis."""
    if not jobs:
        return []
    put = []
    connection = get_queue(jobs[0][0].queue).connection
    with connection.pipeline() as pipe:
        for handler, pk, delay, job_id in jobs:
            queue = get_queue(handler.queue)
            if delay > 0:
                put.append(queue.enqueue_in(timedelta(seconds=delay), JOB_PATH, pk, handler.name, pipeline=pipe,
                                            job_id=job_id, **JOB_OPTIONS))
            else:
                put.append(queue.enqueue(JOB_PATH, pk, handler.name, pipeline=pipe, job_id=job_id, **JOB_OPTIONS))
        pipe.execute()
    return put


def _remember_job(handler: StageHandler, pk: int, delay: float, job_id: str, row=None):
    job = {"job_id": job_id, "next_run_at": timezone.now() + timedelta(seconds=max(delay, 0))}
    if row is not None:
        for name, value in job.items():
            setattr(row, name, value)
    else:
        handler.model.objects.filter(pk=pk).update(**job)


def enqueue(handler: StageHandler, pk: int, delay: float = 0.0):
    """Remember which job runs the row next, then put it on its queue (now or later).

    In that order, because a job claims only the row that names it: a worker fast enough to take the
    job before the row knew its id would find nothing to do. Call it outside a transaction; inside
    one, use `enqueue_on_commit`.
    """
    job_id = str(uuid.uuid4())
    _remember_job(handler, pk, delay, job_id)
    return _put(handler, pk, delay, job_id)


def enqueue_on_commit(handler: StageHandler, pk: int | None, delay: float = 0.0, *, row=None):
    """Enqueue once the current transaction commits; the row learns its job id in that same commit.

    Pass `row` when the caller is about to save that very row in this transaction (a stage's commit,
    a publication being created): the job id is set on it rather than written by a separate UPDATE,
    and the job is for whatever primary key the row has by the time the transaction commits.
    """
    job_id = str(uuid.uuid4())
    _remember_job(handler, pk, delay, job_id, row)
    transaction.on_commit(lambda: _put(handler, pk if row is None else row.pk, delay, job_id))
