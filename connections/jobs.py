"""RQ entry points of connections: each calls a service. Nothing else lives here."""

from connections.services import keep_idle_connections_alive


def keep_connections_alive() -> dict:
    return keep_idle_connections_alive()
