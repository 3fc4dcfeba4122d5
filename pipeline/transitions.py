"""Apply an FSM transition and record it (DESIGN principle 8). The caller saves the object."""

import threading
from contextlib import contextmanager

from pipeline.models import Asset, TransitionLog

_batch = threading.local()


def transit(obj, name: str, *, by=None, actor: str = "", reason: str = "", **kwargs):
    from_state = obj.state
    getattr(obj, name)(**kwargs)
    asset_id, publication = (obj.pk, None) if isinstance(obj, Asset) else (obj.asset_id, obj)
    record = TransitionLog(
        asset_id=asset_id,
        publication=publication,
        from_state=from_state,
        to_state=obj.state,
        by=by if getattr(by, "pk", None) else None,
        actor=actor or (by.get_username() if getattr(by, "pk", None) else "system"),
        reason=reason[:5000],
    )
    pending = getattr(_batch, "records", None)
    if pending is None:
        record.save(force_insert=True)
    else:
        pending.append(record)
    return obj


@contextmanager
def recorded_together():
    """Transitions applied inside the block are recorded in one INSERT when it ends.

    For code that makes several transitions in one transaction (a render that is auto-approved and
    starts publishing, an upload answered with a live post). Use inside that transaction: if the
    block raises, nothing is recorded, as the transaction will not commit either.
    """
    outer = getattr(_batch, "records", None)
    if outer is not None:  # already batching: the outermost block writes
        yield
        return
    _batch.records = []
    try:
        yield
        records = _batch.records
    finally:
        _batch.records = None
    if records:
        TransitionLog.objects.bulk_create(records)
