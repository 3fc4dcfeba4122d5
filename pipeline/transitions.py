"""Apply an FSM transition and record it (DESIGN principle 8). The caller saves the object."""

from pipeline.models import Asset, TransitionLog


def transit(obj, name: str, *, by=None, actor: str = "", reason: str = "", **kwargs):
    from_state = obj.state
    getattr(obj, name)(**kwargs)
    asset_id, publication = (obj.pk, None) if isinstance(obj, Asset) else (obj.asset_id, obj)
    TransitionLog.objects.create(
        asset_id=asset_id,
        publication=publication,
        from_state=from_state,
        to_state=obj.state,
        by=by if getattr(by, "pk", None) else None,
        actor=actor or (by.get_username() if getattr(by, "pk", None) else "system"),
        reason=reason[:5000],
    )
    return obj
