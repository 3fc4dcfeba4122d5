"""Throttling per token, per user and per anonymous address; sign-in lockout after repeated failures."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.conftest import client_for, token_client
from tests.factories import make_team, make_user

pytestmark = pytest.mark.django_db


def statuses(client, n, path="/api/assets/"):
    return [client.get(path).status_code for _ in range(n)]


def test_a_token_is_throttled_on_its_own(settings):
    settings.API_THROTTLE_RATES = {"token": "5/min", "user": "100/min", "anon": "100/min"}
    team = make_team()
    first, _ = token_client(team, name="first")
    second, _ = token_client(team, name="second")
    assert statuses(first, 7) == [200] * 5 + [429] * 2
    response = first.get("/api/assets/")
    assert response.json()["error"]["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    # Another token of the same team has its own allowance.
    assert statuses(second, 5) == [200] * 5


def test_a_user_is_throttled_on_their_own(settings):
    settings.API_THROTTLE_RATES = {"token": "100/min", "user": "3/min", "anon": "100/min"}
    alice = client_for(make_user("alice", roles=["viewer"]))
    bob = client_for(make_user("bob", roles=["viewer"]))
    assert statuses(alice, 4) == [200, 200, 200, 429]
    assert statuses(bob, 3) == [200, 200, 200]


def test_anonymous_requests_are_throttled_per_address(settings):
    settings.API_THROTTLE_RATES = {"token": "100/min", "user": "100/min", "anon": "4/min"}
    guesser = APIClient(REMOTE_ADDR="10.1.2.3")
    guesser.credentials(HTTP_AUTHORIZATION="Bearer abcdefgh.guessing-a-secret")
    assert statuses(guesser, 6) == [401] * 4 + [429] * 2
    assert guesser.get("/api/assets/").json()["error"]["code"] == "throttled"
    # Another address is not affected, nor are valid credentials from elsewhere.
    assert APIClient(REMOTE_ADDR="10.9.9.9").get("/api/assets/").status_code == 401
    member = client_for(make_user("member", roles=["viewer"]))
    assert member.get("/api/assets/").status_code == 200


def test_three_hundred_quick_requests_meet_a_429(settings):
    api, _ = token_client(make_team())
    answers = statuses(api, 300)
    assert answers.count(200) == int(settings.API_THROTTLE_RATES["token"].split("/")[0])
    assert answers[-1] == 429


def login(client, username, password):
    return client.post(reverse("admin:login"), {"username": username, "password": password,
                                                "next": "/admin/"}, REMOTE_ADDR="10.0.0.7")


def test_repeated_wrong_passwords_lock_the_account_out(client, settings):
    make_user("editor", roles=["editor"], is_staff=True)
    limit = settings.AXES_FAILURE_LIMIT
    answers = [login(client, "editor", f"wrong-{i}").status_code for i in range(limit)]
    assert answers[:-1] == [200] * (limit - 1)  # the login form again, with an error
    assert answers[-1] == 429
    # Now even the right password is refused from there, until the cool-off.
    locked = login(client, "editor", "pw")
    assert locked.status_code == 429 and "_auth_user_id" not in client.session


def test_a_success_before_the_limit_resets_the_count(client, settings):
    make_user("approver", roles=["approver"], is_staff=True)
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "approver", f"wrong-{i}")
    assert login(client, "approver", "pw").status_code == 302
    client.logout()
    assert login(client, "approver", "wrong-again").status_code == 200
