"""Claiming a row: a conditional UPDATE and a lease, so one job (of many copies) does the work."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from .handler import StageHandler


def _has_returning() -> bool:
    """UPDATE ... RETURNING: PostgreSQL, and SQLite from 3.35 (Django's flag for RETURNING on insert)."""
    return connection.features.can_return_columns_from_insert


def claim(handler: StageHandler, pk: int, token: str, job_id: str = ""):
    """Lease the row if it is in one of the stage's states and nobody holds a live lease on it.

    A job claims only the row that names it as its next job (`job_id`; a run outside any queue passes
    none). Once the reconciler has replaced a job it judged lost, the original, should it surface
    after all (a stopped worker resumed), finds nothing to do instead of running the row early.

    One UPDATE ... RETURNING where the database has it (PostgreSQL, SQLite >= 3.35): the claim and
    the read of the claimed row are a single statement. Only the winner of a race gets the row;
    None means there is nothing to do.
    """
    now = timezone.now()
    until = now + timedelta(seconds=settings.LEASE_SECONDS)
    if not _has_returning():  # claim, then read
        rows = (handler.model.objects.filter(pk=pk, state__in=handler.states)
                .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)))
        if job_id:
            rows = rows.filter(Q(job_id=job_id) | Q(job_id=""))
        claimed = rows.update(lease_owner=token, lease_expires_at=until)
        return handler.model.objects.get(pk=pk) if claimed else None
    meta = handler.model._meta
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    lease, expires, job = quote("lease_owner"), quote("lease_expires_at"), quote("job_id")
    ours = f"AND ({job} = %s OR {job} = '') " if job_id else ""
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {lease} = %s, {expires} = %s "
        f"WHERE {quote(meta.pk.column)} = %s AND {quote('state')} IN ({', '.join(['%s'] * len(handler.states))}) "
        f"AND ({expires} IS NULL OR {expires} < %s) {ours}"
        f"RETURNING {', '.join(quote(field.column) for field in meta.concrete_fields)}"
    )
    params = [token, adapt(until), pk, *handler.states, adapt(now), *([job_id] if job_id else [])]
    rows = list(handler.model.objects.raw(sql, params))
    return rows[0] if rows else None


def release(obj):
    obj.lease_owner = ""
    obj.lease_expires_at = None


def clear_lease(obj):
    release(obj)
    obj.next_run_at = None
