"""Reads of connections that services act on."""

from django.db.models import QuerySet

from connections.models import Connection


def connected_accounts() -> QuerySet[Connection]:
    """Every connection the platform has not refused, with its channel (one per channel: a short list)."""
    return Connection.objects.filter(status=Connection.Status.CONNECTED).select_related("channel").order_by("pk")
