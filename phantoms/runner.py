"""The stage runner: how every stage job claims, calls, classifies and commits.

A stage job names a row and a stage. The runner follows DESIGN principles 2, 3 and 5:

1. claim the row with a conditional UPDATE and a lease; a row that has moved on, or that another
   worker holds, means there is nothing to do;
2. pass the per-provider rate limit and the integration's breaker; a wait for either is a deferral,
   not an attempt;
3. call the provider outside any transaction;
4. commit the outcome and the transition in one short atomic block, and enqueue the next stage
   on commit; or classify the failure: backoff, deferral, dead letter, or a check before retrying.

Stage handlers (pipeline/stages.py, publishing/stages.py, analytics/stages.py) say what each stage
does; this module owns when it runs again.
"""

import logging
import pickle
import random
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import django_rq
from django.conf import settings
from django.db import close_old_connections, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from phantoms.redis import get_redis
from phantoms.resilience import ratelimit
from phantoms.resilience.breakers import get_breaker
from phantoms.resilience.errors import (
    BreakerOpen,
    NotReady,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    UnknownOutcome,
)

logger = logging.getLogger("phantoms.runner")
WORKER_NAME = f"{socket.gethostname()}:{uuid.uuid4().hex[:6]}"


class GiveUp(Exception):
    """Raised by a handler's `on_unknown` when a person has to decide (needs_attention)."""


class Interrupted(Exception):
    """The stage failed while its worker was shutting down: hand the row back, charge nothing."""


# Set by phantoms.worker.Worker when it receives SIGTERM or SIGINT (warm shutdown).
SHUTTING_DOWN = threading.Event()


@dataclass
class Context:
    token: str
    job_id: str
    attempt: object = None
    notes: dict = field(default_factory=dict)
    # Run in the outcome's transaction once the row is written (e.g. settle the asset a publication
    # belongs to): after the row's own lock, so locks are taken in the same order as elsewhere.
    after_write: list = field(default_factory=list)


class StageHandler:
    """Override the hooks; keep provider calls in `work` and state changes in `commit`."""

    name: str = ""
    queue: str = ""
    model = None
    states: tuple = ()
    job_path: str = ""

    # Long stages record their attempt as "running" at once, so the admin shows it while it runs.
    show_running_attempt = False
    # The outcome is written as the difference from the row as claimed. Fields a stage writes to its
    # own row while it works (progress, a remote job's id) are read again before its outcome, or an
    # outcome equal to the stale value would look like no change.
    writes_while_working: tuple[str, ...] = ()

    def load(self, claimed):
        """The object the stage works on, given the row as claimed (override to join related rows)."""
        return claimed

    def provider_name(self, obj) -> str:
        return ""

    def breaker_name(self, obj) -> str | None:
        return None

    def rate_limit_key(self, obj) -> tuple[str, str] | None:
        return None

    def attempt_budget(self) -> int:
        return settings.STAGE_ATTEMPTS.get(self.name, 3)

    def attempt_owner(self, obj) -> dict:
        """The asset (and publication) an attempt or dead letter belongs to."""
        return {"asset": obj}

    def platform(self, obj) -> str:
        return ""

    def prepare(self, obj, ctx: Context):
        """Commit intent before the external call (e.g. an idempotency key). Runs in its own atomic().

        A stage that writes its row here or in `work` names those fields in `writes_while_working`.
        """

    def work(self, obj, ctx: Context):
        raise NotImplementedError

    def commit(self, obj, payload, ctx: Context):
        """Apply the outcome and transition `obj`; the runner writes the fields that changed."""
        raise NotImplementedError

    def fail(self, obj, ctx: Context, error: str):
        """Transition the locked row to its failed state (dead letter)."""
        raise NotImplementedError

    def on_unknown(self, obj, exc: UnknownOutcome, ctx: Context):
        """An irreversible call's outcome is unknown. Default: treat as transient."""

    def needs_attention(self, obj, ctx: Context, error: str):
        self.fail(obj, ctx, error)


def backoff_delay(attempts: int) -> float:
    """Exponential backoff with full jitter: uniform(base, min(cap, base * 2**attempts))."""
    base, cap = settings.BACKOFF_BASE, settings.BACKOFF_CAP
    return random.uniform(base, max(base, min(cap, base * (2 ** attempts))))


def get_queue(name: str):
    """The process's queue object: one Redis connection pool, not a new connection per enqueue."""
    return django_rq.get_queue(name, connection=get_redis())


def promote_due_jobs(queue_names, connection):
    """Move scheduled jobs whose time has come onto their queues: what a worker's scheduler does, for
    in-process burst workers (tests, benchmarks) that run without one."""
    from rq.scheduler import RQScheduler

    scheduler = RQScheduler(list(queue_names), connection=connection)
    scheduler.acquire_locks()
    try:
        scheduler.enqueue_scheduled_jobs()
    finally:
        scheduler.release_locks()


def _put(handler: StageHandler, pk: int, delay: float, job_id: str):
    queue = get_queue(handler.queue)
    kwargs = {"job_id": job_id, "job_timeout": 900, "result_ttl": 300, "failure_ttl": 7 * 86400}
    # On one pipeline, so an enqueue is one round trip to Redis rather than two.
    with queue.connection.pipeline() as pipe:
        if delay > 0:
            job = queue.enqueue_in(timedelta(seconds=delay), handler.job_path, pk, handler.name, pipeline=pipe,
                                   **kwargs)
        else:
            job = queue.enqueue(handler.job_path, pk, handler.name, pipeline=pipe, **kwargs)
        pipe.execute()
    return job


def _remember_job(handler: StageHandler, pk: int, delay: float, job_id: str, row=None):
    job = {"job_id": job_id, "next_run_at": timezone.now() + timedelta(seconds=max(delay, 0))}
    if row is not None:
        for name, value in job.items():
            setattr(row, name, value)
    else:
        handler.model.objects.filter(pk=pk).update(**job)


def enqueue(handler: StageHandler, pk: int, delay: float = 0.0):
    """Put the stage job on its queue (now or later) and remember which job that is."""
    job_id = str(uuid.uuid4())
    job = _put(handler, pk, delay, job_id)
    _remember_job(handler, pk, delay, job_id)
    return job


def enqueue_on_commit(handler: StageHandler, pk: int, delay: float = 0.0, *, row=None):
    """Enqueue once the current transaction commits; the row learns its job id in that same commit.

    Pass `row` when the caller is about to save that very row in this transaction (a stage's commit,
    a publication being created): the job id is set on it rather than written by a separate UPDATE,
    and the job is for whatever primary key the row has by the time the transaction commits.
    """
    job_id = str(uuid.uuid4())
    _remember_job(handler, pk, delay, job_id, row)
    transaction.on_commit(lambda: _put(handler, pk if row is None else row.pk, delay, job_id))


def run(handler: StageHandler, pk: int, job_id: str = "") -> str:
    close_old_connections()
    try:
        return _run(handler, pk, job_id)
    finally:
        close_old_connections()


def _has_returning() -> bool:
    """UPDATE ... RETURNING: PostgreSQL, and SQLite from 3.35 (Django's flag for RETURNING on insert)."""
    return connection.features.can_return_columns_from_insert


def _claim(handler: StageHandler, pk: int, token: str):
    """Lease the row if it is in one of the stage's states and nobody holds a live lease on it.

    One UPDATE ... RETURNING where the database has it (PostgreSQL, SQLite >= 3.35): the claim and
    the read of the claimed row are a single statement. Only the winner of a race gets the row;
    None means there is nothing to do.
    """
    now = timezone.now()
    until = now + timedelta(seconds=settings.LEASE_SECONDS)
    if not _has_returning():  # claim, then read
        claimed = (handler.model.objects.filter(pk=pk, state__in=handler.states)
                   .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
                   .update(lease_owner=token, lease_expires_at=until))
        return handler.model.objects.get(pk=pk) if claimed else None
    meta = handler.model._meta
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    lease, expires = quote("lease_owner"), quote("lease_expires_at")
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {lease} = %s, {expires} = %s "
        f"WHERE {quote(meta.pk.column)} = %s AND {quote('state')} IN ({', '.join(['%s'] * len(handler.states))}) "
        f"AND ({expires} IS NULL OR {expires} < %s) "
        f"RETURNING {', '.join(quote(field.column) for field in meta.concrete_fields)}"
    )
    rows = list(handler.model.objects.raw(sql, [token, adapt(until), pk, *handler.states, adapt(now)]))
    return rows[0] if rows else None


def _run(handler: StageHandler, pk: int, job_id: str) -> str:
    from pipeline.models import StageAttempt

    token = uuid.uuid4().hex
    claimed = _claim(handler, pk, token)
    if claimed is None:
        logger.info("%s %s: nothing to do (moved on or leased elsewhere)", handler.name, pk)
        return "skipped"
    obj = handler.load(claimed)
    ctx = Context(token=token, job_id=job_id)
    owner = handler.attempt_owner(obj)
    provider = handler.provider_name(obj)

    limit = handler.rate_limit_key(obj)
    if limit:
        wait = ratelimit.acquire(*limit)
        if wait > 0:
            StageAttempt.objects.create(stage=handler.name, provider=provider, number=obj.attempts + 1,
                                        job_id=job_id, worker=WORKER_NAME, finished_at=timezone.now(),
                                        duration_ms=0, outcome=StageAttempt.Outcome.RATE_LIMITED,
                                        error=f"local rate limit for {limit[0]}: wait {wait:.1f}s", **owner)
            _defer(handler, pk, token, wait, error="")
            return "rate_limited"

    ctx.attempt = StageAttempt(stage=handler.name, provider=provider, number=obj.attempts + 1,
                               job_id=job_id, worker=WORKER_NAME, **owner)
    if handler.show_running_attempt:
        ctx.attempt.save()
    started = time.monotonic()
    breaker_name = handler.breaker_name(obj)
    try:
        try:
            if type(handler).prepare is not StageHandler.prepare:
                with transaction.atomic():
                    handler.prepare(obj, ctx)
            if breaker_name:
                payload = get_breaker(breaker_name).call(handler.work, obj, ctx)
            else:
                payload = handler.work(obj, ctx)
        except Exception as exc:
            if SHUTTING_DOWN.is_set() and not isinstance(exc, (BreakerOpen, RateLimited, NotReady)):
                raise Interrupted(str(exc)) from exc
            raise
        except BaseException:
            # A cold shutdown (a second SIGTERM, Ctrl-C) unwinds through here: hand the row back now
            # rather than leave it claimed until its lease runs out.
            try:
                _finish(ctx.attempt, started, "transient", "interrupted: the worker was stopped")
                _defer(handler, pk, token, 0.0, error="")
            except Exception:
                logger.exception("%s %s: could not hand the row back; its lease will expire", handler.name, pk)
            raise
    except Interrupted as exc:
        # The shutdown signal reached the stage's own subprocess or connection too (a whole process
        # group is signalled by a terminal's Ctrl-C or systemd): not the provider's fault, no attempt.
        _finish(ctx.attempt, started, "transient", f"interrupted by the worker's shutdown: {exc}")
        _defer(handler, pk, token, 0.0, error="")
        return "handed_back"
    except (BreakerOpen, RateLimited, NotReady) as exc:
        outcome = exc.failure_class
        _finish(ctx.attempt, started, outcome, str(exc))
        _defer(handler, pk, token, exc.retry_after + random.uniform(0, 0.5), error="")
        return outcome
    except PermanentError as exc:
        _finish(ctx.attempt, started, "permanent", str(exc))
        _dead_letter(handler, pk, token, exc, ctx, attempts=obj.attempts + 1)
        return "dead_lettered"
    except UnknownOutcome as exc:
        _finish(ctx.attempt, started, "unknown_outcome", str(exc))
        handler.on_unknown(obj, exc, ctx)
        return _retry_or_dead(handler, obj, token, exc, ctx)
    except TransientError as exc:
        _finish(ctx.attempt, started, "transient", str(exc))
        return _retry_or_dead(handler, obj, token, exc, ctx)
    except GiveUp as exc:
        _finish(ctx.attempt, started, "permanent", str(exc))
        _attention(handler, pk, token, exc, ctx)
        return "needs_attention"
    except Exception as exc:  # a bug or an unclassified library error: retried, then dead-lettered
        logger.exception("%s %s: unexpected error", handler.name, pk)
        _finish(ctx.attempt, started, "error", traceback.format_exc())
        return _retry_or_dead(handler, obj, token, exc, ctx)

    try:
        _commit_outcome(handler, obj, payload, ctx, started)
    except Superseded:
        _finish(ctx.attempt, started, "superseded", "the row moved on while the stage ran")
        return "superseded"
    return "succeeded"


class Superseded(Exception):
    """The row lost its lease or changed state while the stage ran: its outcome must not land."""


def _commit_outcome(handler: StageHandler, obj, payload, ctx: Context, started: float):
    """Apply the handler's outcome to the row we claimed and write it only if we still hold it.

    One conditional UPDATE of the fields the outcome changed, instead of locking and re-reading the
    row: fields that others wrote while the stage ran (render progress, the render spec, an editor's
    change) are not overwritten, and a lost lease rolls back everything the outcome did, including
    its transition records and the next stage's job. The attempt's record lands in the same commit.
    """
    from pipeline.transitions import recorded_together

    if handler.writes_while_working:
        obj.refresh_from_db(fields=["lease_owner", "state", *handler.writes_while_working])
        if obj.lease_owner != ctx.token or obj.state not in handler.states:
            raise Superseded
    claimed_state = obj.state
    before = _snapshot(obj)
    with transaction.atomic():
        obj.next_run_at = None
        with recorded_together():
            handler.commit(obj, payload, ctx)
        obj.attempts = 0
        obj.last_error = ""
        changes = _changes(obj, before)
        changes.update(lease_owner="", lease_expires_at=None)
        if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
            changes["updated_at"] = timezone.now()
        held = handler.model.objects.filter(pk=obj.pk, lease_owner=ctx.token, state=claimed_state)
        if not held.update(**changes):
            raise Superseded
        _finish(ctx.attempt, started, "succeeded", "")
        for hook in ctx.after_write:
            hook()
    _release(obj)


def _snapshot(obj) -> dict:
    values = {f.attname: _plain(f, obj) for f in obj._meta.concrete_fields if not f.primary_key}
    # A deep copy, because JSON fields may be changed in place; pickle's is several times faster
    # than copy.deepcopy on scripts and word timings.
    return pickle.loads(pickle.dumps(values, pickle.HIGHEST_PROTOCOL))


def _plain(field, obj):
    value = getattr(obj, field.attname)
    # A FieldFile is renamed in place: compare its name.
    return value.name if isinstance(field, models.FileField) else value


def _changes(obj, before: dict) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields
            if not f.primary_key and _plain(f, obj) != before[f.attname]}


def _finish(attempt, started: float, outcome: str, error: str):
    attempt.finished_at = timezone.now()
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    attempt.outcome = outcome
    attempt.error = error[:20000]
    if attempt.pk is None:
        attempt.save()  # short stages write their attempt once, when it is over
    else:
        attempt.save(update_fields=["finished_at", "duration_ms", "outcome", "error"])


def _clear_lease(obj):
    _release(obj)
    obj.next_run_at = None


def _release(obj):
    obj.lease_owner = ""
    obj.lease_expires_at = None


def _defer(handler, pk, token, delay: float, *, error: str, attempts: int | None = None):
    with transaction.atomic():
        updates = {"lease_owner": "", "lease_expires_at": None,
                   "next_run_at": timezone.now() + timedelta(seconds=delay)}
        if attempts is not None:
            updates["attempts"] = attempts
        if error:
            updates["last_error"] = error[:5000]
        if handler.model.objects.filter(pk=pk, lease_owner=token).update(**updates):
            enqueue_on_commit(handler, pk, delay)


def _retry_or_dead(handler, obj, token, exc, ctx) -> str:
    attempts = obj.attempts + 1
    if attempts >= handler.attempt_budget():
        if isinstance(exc, UnknownOutcome) or ctx.notes.get("unknown_outcome"):
            _attention(handler, obj.pk, token, exc, ctx, attempts=attempts)
            return "needs_attention"
        _dead_letter(handler, obj.pk, token, exc, ctx, attempts=attempts)
        return "dead_lettered"
    delay = backoff_delay(attempts)
    _defer(handler, obj.pk, token, delay, error=_describe(exc), attempts=attempts)
    return "retrying"


def _describe(exc: BaseException) -> str:
    kind = getattr(exc, "failure_class", type(exc).__name__)
    return f"[{kind}] {exc}"


def _error_class(exc: BaseException) -> str:
    return exc.failure_class if isinstance(exc, ProviderError) else type(exc).__name__


def _dead_letter(handler, pk, token, exc, ctx, *, attempts: int, attention: bool = False):
    """Fail the row (or park it for a person) and record the letter operators requeue from."""
    from pipeline.models import DeadLetter

    with transaction.atomic():
        locked = handler.model.objects.select_for_update().get(pk=pk)
        if locked.lease_owner != token:
            return
        message = _describe(exc)
        if attention:
            handler.needs_attention(locked, ctx, message)
        else:
            handler.fail(locked, ctx, message)
        _clear_lease(locked)
        locked.attempts = attempts
        locked.last_error = message
        locked.save()
        now = timezone.now()
        owner = handler.attempt_owner(locked)
        tb = "".join(traceback.format_exception(exc))
        error_class = "needs_attention" if attention else _error_class(exc)
        letter = DeadLetter.objects.filter(status=DeadLetter.Status.OPEN, stage=handler.name, **owner).first()
        if letter:
            letter.attempts += attempts
            letter.last_failed_at = now
            letter.error_class, letter.error_message, letter.traceback = error_class, str(exc), tb
            letter.job_id = ctx.job_id
            letter.save()
        else:
            DeadLetter.objects.create(
                stage=handler.name, queue=handler.queue, platform=handler.platform(locked), job_id=ctx.job_id,
                error_class=error_class, error_message=str(exc)[:20000], traceback=tb, attempts=attempts,
                first_failed_at=now, last_failed_at=now, **owner,
            )
    logger.warning("%s %s: %s after %d attempts: %s", handler.name, pk,
                   "needs attention" if attention else "dead-lettered", attempts, exc)


def _attention(handler, pk, token, exc, ctx, *, attempts: int | None = None):
    _dead_letter(handler, pk, token, exc, ctx, attempts=attempts or 1, attention=True)
