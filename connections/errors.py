"""What a publication meets when its channel cannot speak for the account right now."""

from django.conf import settings

from phantoms.resilience.errors import NotReady


class AwaitingReconnect(NotReady):
    """The channel needs a person to connect it (again): its publications wait, they do not fail.

    A wait (docs/architecture.md, "Failure classes"): not an attempt, not counted by the breaker,
    never a dead letter. Reconnecting the channel wakes them at once (connections.services).
    """

    def __init__(self, message: str, **kwargs):
        kwargs.setdefault("retry_after", settings.OAUTH_REAUTH_RECHECK)
        super().__init__(message, **kwargs)


class ConnectError(ValueError):
    """A connect flow that cannot finish: names the field (state, code, account, scope…) and the problem."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
