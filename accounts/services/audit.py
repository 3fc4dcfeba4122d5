"""The audit trail: one call records who did what to which object, in which team.

Any feature that changes what the system does on a person's say-so calls `record` (approvals,
rejections, edits, requeues, breaker and fault changes, channels, tokens, ...). It writes in the
caller's transaction, so an action that rolls back leaves no record of having happened.
"""

import logging

from accounts.models import AuditEvent

logger = logging.getLogger("phantoms.audit")


def actor_label(user, fallback: str = "system") -> str:
    if getattr(user, "pk", None):
        return user.get_username()
    return str(user) if isinstance(user, str) and user else fallback


def record(action: str, *, actor=None, target=None, team=None, summary: str = "", target_type: str = "",
           target_id="", **details) -> AuditEvent:
    """Record `action` by `actor` (a user, a name, or None for the system) on `target` (a model instance).

    `team` defaults to the target's own team when it has a `team_id`.
    """
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or target.pk
        if team is None and hasattr(target, "team_id"):
            team = target.team_id
    team_id = getattr(team, "pk", team)
    event = AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None, actor_name=actor_label(actor)[:150],
        action=action, team_id=team_id, target_type=target_type[:40], target_id=str(target_id or "")[:64],
        summary=summary[:500], details=details,
    )
    logger.info("audit: %s %s %s %s", event.actor_name, action, target_type, event.target_id)
    return event
