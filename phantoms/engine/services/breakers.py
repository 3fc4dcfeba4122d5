"""A person forcing a breaker: close it (the provider is back), open it (keep calls away), reset it."""

from accounts.models import AuditEvent
from accounts.services import audit
from phantoms.resilience.breakers import all_breakers, get_breaker

# action -> (the breaker's method, the past tense for messages)
ACTIONS = {
    "close": ("force_close", "closed"),
    "open": ("force_open", "opened"),
    "reset": ("reset", "reset"),
}


class UnknownBreakerAction(ValueError):
    pass


def force(name: str, action: str, *, actor: str, user=None) -> str:
    """Apply `action` to breaker `name` (recorded as a BreakerEvent by `actor`, and in the audit trail);
    returns the past tense."""
    if action not in ACTIONS:
        raise UnknownBreakerAction(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if name not in {breaker.name for breaker in all_breakers()}:
        raise UnknownBreakerAction(f"no breaker is called {name!r}")
    method, done = ACTIONS[action]
    getattr(get_breaker(name), method)(actor=actor)
    audit.record(AuditEvent.Action.BREAKER_CHANGED, actor=user or actor, target_type="breaker", target_id=name,
                 summary=f"{name} breaker {done}", breaker=name, change=action)
    return done
