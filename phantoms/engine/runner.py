"""The stage runner: one run of one stage on one row, from claim to outcome.

1. claim the row with a conditional UPDATE and a lease (`claim.py`); a row that has moved on, or
   that another worker holds, means there is nothing to do;
2. pass the per-provider rate limit and the integration's breaker; a wait for either is a deferral,
   not an attempt;
3. call the provider outside any transaction (the handler's `work`);
4. commit the outcome and the transition in one short atomic block and enqueue the next stage on
   commit, or classify the failure (`outcome.py`).

Stage handlers say what each stage does; the engine owns when it runs again. See
docs/architecture.md, "The stage engine".
"""

import logging
import random
import socket
import time
import traceback
import uuid

from django.db import close_old_connections, transaction
from django.utils import timezone

from phantoms.resilience import ratelimit
from phantoms.resilience.breakers import get_breaker
from phantoms.resilience.errors import (
    BreakerOpen,
    NotReady,
    PermanentError,
    RateLimited,
    TransientError,
    UnknownOutcome,
)

from .claim import claim
from .handler import SHUTTING_DOWN, Context, GiveUp, Interrupted, StageHandler
from .models import StageAttempt
from .outcome import (
    Superseded,
    commit_outcome,
    dead_letter,
    defer,
    finish_attempt,
    retry_or_dead_letter,
    wait_out_outage,
)

logger = logging.getLogger("phantoms.runner")
WORKER_NAME = f"{socket.gethostname()}:{uuid.uuid4().hex[:6]}"
WAITS = (BreakerOpen, RateLimited, NotReady)


def run(handler: StageHandler, pk: int, job_id: str = "") -> str:
    close_old_connections()
    try:
        return _run(handler, pk, job_id)
    finally:
        close_old_connections()


def _run(handler: StageHandler, pk: int, job_id: str) -> str:
    token = uuid.uuid4().hex
    claimed = claim(handler, pk, token, job_id)
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
                                        job_id=job_id, worker=WORKER_NAME, lease_token=token,
                                        finished_at=timezone.now(),
                                        duration_ms=0, outcome=StageAttempt.Outcome.RATE_LIMITED,
                                        error=f"local rate limit for {limit[0]}: wait {wait:.1f}s", **owner)
            defer(handler, pk, token, wait, error="")
            return "rate_limited"

    ctx.attempt = StageAttempt(stage=handler.name, provider=provider, number=obj.attempts + 1,
                               job_id=job_id, worker=WORKER_NAME, lease_token=token, **owner)
    started = time.monotonic()
    try:
        payload = _work(handler, obj, ctx, pk, token, started)
    except Interrupted as exc:
        # The shutdown signal reached the stage's own subprocess or connection too (a whole process
        # group is signalled by a terminal's Ctrl-C or systemd): not the provider's fault, no attempt.
        finish_attempt(ctx.attempt, started, "transient", f"interrupted by the worker's shutdown: {exc}")
        defer(handler, pk, token, 0.0, error="")
        return "handed_back"
    except WAITS as exc:
        outcome = exc.failure_class
        finish_attempt(ctx.attempt, started, outcome, str(exc))
        delay = exc.retry_after + random.uniform(0, 0.5)
        if isinstance(exc, BreakerOpen):
            return wait_out_outage(handler, obj, token, exc, ctx, delay)
        defer(handler, pk, token, delay, error="")
        return outcome
    except PermanentError as exc:
        finish_attempt(ctx.attempt, started, "permanent", str(exc))
        dead_letter(handler, pk, token, exc, ctx, attempts=obj.attempts + 1)
        return "dead_lettered"
    except UnknownOutcome as exc:
        finish_attempt(ctx.attempt, started, "unknown_outcome", str(exc))
        handler.on_unknown(obj, exc, ctx)
        return retry_or_dead_letter(handler, obj, token, exc, ctx)
    except TransientError as exc:
        finish_attempt(ctx.attempt, started, "transient", str(exc))
        return retry_or_dead_letter(handler, obj, token, exc, ctx)
    except GiveUp as exc:
        finish_attempt(ctx.attempt, started, "permanent", str(exc))
        dead_letter(handler, pk, token, exc, ctx, attempts=1, attention=True)
        return "needs_attention"
    except Exception as exc:  # a bug or an unclassified library error: retried, then dead-lettered
        logger.exception("%s %s: unexpected error", handler.name, pk)
        finish_attempt(ctx.attempt, started, "error", traceback.format_exc())
        return retry_or_dead_letter(handler, obj, token, exc, ctx)

    try:
        commit_outcome(handler, obj, payload, ctx, started)
    except Superseded:
        finish_attempt(ctx.attempt, started, "superseded", "the row moved on while the stage ran")
        return "superseded"
    return "succeeded"


def _begin(handler: StageHandler, obj, ctx: Context) -> None:
    """The running attempt (for long stages) and the stage's intent, in one commit."""
    prepares = type(handler).prepare is not StageHandler.prepare
    if not prepares and not handler.show_running_attempt:
        return
    try:
        with transaction.atomic():
            if handler.show_running_attempt:
                ctx.attempt.save()
            if prepares:
                handler.prepare(obj, ctx)
    except BaseException:
        # Rolled back: the attempt is written afresh with its outcome.
        ctx.attempt.pk = None
        ctx.attempt._state.adding = True
        raise


def _work(handler: StageHandler, obj, ctx: Context, pk: int, token: str, started: float):
    """Commit intent, then call out through the breaker; a shutdown under way turns failures into hand-backs."""
    breaker_name = handler.breaker_name(obj)
    try:
        _begin(handler, obj, ctx)
        if breaker_name:
            return get_breaker(breaker_name).call(handler.work, obj, ctx)
        return handler.work(obj, ctx)
    except Exception as exc:
        if SHUTTING_DOWN.is_set() and not isinstance(exc, WAITS):
            raise Interrupted(str(exc)) from exc
        raise
    except BaseException:
        # A cold shutdown (a second SIGTERM, Ctrl-C) unwinds through here: hand the row back now
        # rather than leave it claimed until its lease runs out.
        try:
            finish_attempt(ctx.attempt, started, "transient", "interrupted: the worker was stopped")
            defer(handler, pk, token, 0.0, error="")
        except Exception:
            logger.exception("%s %s: could not hand the row back; its lease will expire", handler.name, pk)
        raise
