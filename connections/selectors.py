"""Reads of connections that services act on."""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from connections.models import Connection


def connections_near_an_end(now: datetime, *, margin: timedelta, idle: timedelta) -> QuerySet[Connection]:
    """Connected accounts where something may end soon: a token or refresh token expiring within
    `margin`, or tokens last refreshed (or first issued) `idle` ago or longer.

    A superset: `connections.services.keepalive_reason` decides per row (a YouTube access token
    expires within the hour, which alone is no reason to refresh an idle channel).
    """
    soon, idle_since = now + margin, now - idle
    return (Connection.objects.filter(status=Connection.Status.CONNECTED)
            .filter(Q(expires_at__lte=soon) | Q(refresh_expires_at__lte=soon) | Q(refreshed_at__lte=idle_since)
                    | Q(refreshed_at__isnull=True, connected_at__lte=idle_since))
            .select_related("channel").order_by("pk"))
