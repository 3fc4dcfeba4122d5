"""/healthz says the process is up; /readyz says whether the database and Redis can be reached."""

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from phantoms.redis import get_redis

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_without_touching_anything(client, monkeypatch):
    monkeypatch.setattr(get_redis(), "ping", lambda: (_ for _ in ()).throw(RedisConnectionError("down")))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_database_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "redis": "ok"}


def test_readyz_is_503_naming_redis_when_redis_is_unreachable(client, monkeypatch):
    def ping():
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(get_redis(), "ping", ping)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["database"] == "ok"
    assert body["redis"].startswith("error:") and "Connection refused" in body["redis"]


def test_readyz_is_503_naming_the_database_when_it_fails(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def execute(self, sql, params=None):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(CursorWrapper, "execute", execute)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["redis"] == "ok" and "database is gone" in body["database"]


def test_health_endpoints_need_no_login(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
