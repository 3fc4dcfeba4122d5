"""Idempotency-Key as payment APIs do it: per sender, fingerprinted, 422 on a different body, 409 while
the first request is under way, expiring; and never a lost or doubled brief."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from pipeline.models import Asset, IdempotencyKey
from pipeline.services.briefs import IdempotencyKeyInUse, claim_key, key_scope, purge_expired_keys
from tests.api.conftest import client_for, token_client
from tests.factories import make_channel, make_team, make_user

pytestmark = pytest.mark.django_db

BRIEF = {"brief": "Five facts about octopuses", "target_duration_seconds": 20}


@pytest.fixture(autouse=True)
def no_throttling(settings):
    settings.API_THROTTLE_RATES = {}


@pytest.fixture
def editor():
    return client_for(make_user("editor", roles=["editor"]))


def post(client, body, key="order-42"):
    return client.post("/api/assets/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_same_body_answers_the_first_asset(editor):
    first, second = post(editor, BRIEF), post(editor, BRIEF)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Asset.objects.count() == 1
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.DONE


def test_same_key_different_body_is_a_422_naming_what_differs(editor):
    channel = make_channel()
    assert post(editor, BRIEF).status_code == 201
    response = post(editor, {**BRIEF, "brief": "Five facts about squid", "channels": [channel.pk]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert set(error["fields"]) == {"Idempotency-Key", "brief", "channels"}
    assert "order-42" in error["message"]
    # The second brief was not silently dropped into the first asset: nothing was made of it, and the
    # first is untouched.
    assert list(Asset.objects.values_list("brief", flat=True)) == ["Five facts about octopuses"]


def test_whitespace_the_service_trims_is_the_same_request(editor):
    assert post(editor, BRIEF).status_code == 201
    assert post(editor, {**BRIEF, "brief": f"  {BRIEF['brief']}  "}).status_code == 200


def test_two_users_with_the_same_key_get_their_own_assets(editor):
    other = client_for(make_user("other editor", roles=["editor"]))
    team = make_team()
    integration, _ = token_client(team)
    first, second, third = post(editor, BRIEF), post(other, BRIEF), post(integration, BRIEF)
    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 201)
    assert len({first.json()["id"], second.json()["id"], third.json()["id"]}) == 3
    # Nobody reads another's asset through a shared key.
    assert post(other, BRIEF).json()["id"] == second.json()["id"]


def test_a_key_still_being_processed_is_a_409(editor):
    user = make_user("holder", roles=["editor"])
    with pytest.raises(IdempotencyKeyInUse):
        claim_key(key_scope(user), "busy", {"brief": "x"})
        claim_key(key_scope(user), "busy", {"brief": "x"})

    client = client_for(user)
    first = post(client, BRIEF, key="slow")
    # As if the first request were still at work: its key claimed a moment ago, no asset yet.
    IdempotencyKey.objects.filter(key="slow").update(state="processing", asset=None, locked_at=timezone.now())
    response = post(client, BRIEF, key="slow")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert list(Asset.objects.values_list("pk", flat=True)) == [first.json()["id"]]


def test_a_key_whose_request_died_is_taken_over(editor, settings):
    user = make_user("survivor", roles=["editor"])
    client = client_for(user)
    assert post(client, BRIEF, key="k1").status_code == 201
    # Simulate a first request that claimed its key and died before making anything.
    record = IdempotencyKey.objects.get(key="k1")
    IdempotencyKey.objects.filter(pk=record.pk).update(state="processing", asset=None,
                                                       locked_at=timezone.now() - timedelta(minutes=5))
    response = post(client, BRIEF, key="k1")
    assert response.status_code == 201
    assert IdempotencyKey.objects.get(key="k1").asset_id == response.json()["id"]


def test_a_failed_submission_frees_its_key(editor, monkeypatch):
    from pipeline.services import briefs

    def broken(*args, **kwargs):
        raise RuntimeError("the queue is down")

    monkeypatch.setattr(briefs, "enqueue_on_commit", broken)
    with pytest.raises(RuntimeError):
        post(editor, BRIEF)
    assert not IdempotencyKey.objects.exists() and not Asset.objects.exists()
    monkeypatch.undo()
    assert post(editor, BRIEF).status_code == 201


def test_keys_expire(editor, settings):
    assert post(editor, BRIEF).status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL + 1))
    again = post(editor, {**BRIEF, "brief": "A new brief under an old key"})
    assert again.status_code == 201 and Asset.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL + 1))
    assert purge_expired_keys() == 1 and not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_use_makes_one_asset(settings):
    settings.API_THROTTLE_RATES = {}
    user = make_user("racer", roles=["editor"])
    barrier = threading.Barrier(4)
    answers = []

    def send():
        client = client_for(user)
        barrier.wait()
        try:
            answers.append(post(client, BRIEF, key="race").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 4 and answers.count(201) == 1
    assert set(answers) <= {200, 201, 409}
    assert Asset.objects.count() == 1
    assert post(client_for(user), BRIEF, key="race").status_code == 200
