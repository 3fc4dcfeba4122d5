"""Every endpoint and admin action, per role and per team: allowed, 403, 401, or 404 (another team's
objects look absent). One row per operation; each cell is what that caller must get."""

import django_rq
import pytest
from django.urls import reverse

from accounts.services.tokens import issue_token
from phantoms.engine.models import DeadLetter
from pipeline.models import Asset
from publishing.models import Publication
from tests.admin.factories import make_staff
from tests.api.conftest import client_for
from tests.factories import (
    make_asset,
    make_channel,
    make_failed_asset,
    make_letter,
    make_publication_in,
    make_publishing_asset,
    make_team,
)

pytestmark = pytest.mark.django_db

HUMANS = ("viewer", "editor", "approver", "operator")
API_CALLERS = ("anonymous", "integration", *HUMANS, "stranger")
ADMIN_CALLERS = (*HUMANS, "stranger")


@pytest.fixture
def world(settings):
    settings.API_THROTTLE_RATES = {}
    team, other = make_team("ours"), make_team("theirs")
    channel = make_channel("youtube", team=team)
    review = make_asset(Asset.State.AWAITING_REVIEW, channels=[channel], team=team)
    publishing = make_publishing_asset(channels=[channel], team=team)
    publication = make_publication_in(publishing, channel, Publication.State.NEEDS_ATTENTION)
    failed = make_failed_asset("voice", team=team)
    letter = make_letter(failed, stage="voice", traceback="Traceback (most recent call last): secret-frame")
    return {"team": team, "other": other, "channel": channel, "review": review, "publication": publication,
            "failed": failed, "letter": letter}


def api_client(caller, world):
    from rest_framework.test import APIClient

    if caller == "anonymous":
        return APIClient()
    if caller == "integration":
        _, key = issue_token(name="crm", team=world["team"])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client
    if caller == "stranger":  # every role, but in another team
        return client_for(make_staff("stranger", roles=HUMANS, teams=[world["other"]]))
    return client_for(make_staff(caller, roles=[caller], teams=[world["team"]]))


# (operation, method, path, body, {caller: status}); unlisted callers expect `default`.
def api_rows(w):
    review, letter, publication = w["review"], w["letter"], w["publication"]
    humans_ok = {h: 200 for h in HUMANS}
    return [
        ("list assets", "get", "/api/assets/", None, {"anonymous": 401, "integration": 200, **humans_ok,
                                                      "stranger": 200}),
        ("submit a brief", "post", "/api/assets/", {"brief": "b", "channels": [w["channel"].pk]},
         {"anonymous": 401, "integration": 201, "viewer": 403, "editor": 201, "approver": 403, "operator": 403,
          "stranger": 400}),
        ("read an asset", "get", f"/api/assets/{review.pk}/", None,
         {"anonymous": 401, "integration": 404, **humans_ok, "stranger": 404}),
        ("approve", "post", f"/api/assets/{review.pk}/approve/", {}, {"anonymous": 401, "integration": 403,
         "viewer": 403, "editor": 403, "approver": 200, "operator": 403, "stranger": 404}),
        ("reject", "post", f"/api/assets/{review.pk}/reject/", {"notes": "no"}, {"anonymous": 401,
         "integration": 403, "viewer": 403, "editor": 200, "approver": 403, "operator": 403, "stranger": 404}),
        ("list publications", "get", "/api/publications/", None, {"anonymous": 401, "integration": 200,
                                                                  **humans_ok, "stranger": 200}),
        ("read a publication", "get", f"/api/publications/{publication.pk}/", None,
         {"anonymous": 401, "integration": 404, **humans_ok, "stranger": 404}),
        ("list dead letters", "get", "/api/dead-letters/", None, {"anonymous": 401, "integration": 403,
                                                                  **humans_ok, "stranger": 200}),
        ("read a dead letter", "get", f"/api/dead-letters/{letter.pk}/", None,
         {"anonymous": 401, "integration": 403, **humans_ok, "stranger": 404}),
        ("requeue a dead letter", "post", f"/api/dead-letters/{letter.pk}/requeue/", None,
         {"anonymous": 401, "integration": 403, "viewer": 403, "editor": 403, "approver": 403, "operator": 200,
          "stranger": 404}),
        ("breakers", "get", "/api/breakers/", None, {"anonymous": 401, "integration": 403, "viewer": 403,
                                                     "editor": 403, "approver": 403, "operator": 200,
                                                     "stranger": 200}),
        ("status", "get", "/api/status/", None, {"anonymous": 401, "integration": 403, **humans_ok,
                                                 "stranger": 200}),
        ("metric readings", "get", "/api/metrics/", None, {"anonymous": 401, "integration": 403, **humans_ok,
                                                           "stranger": 200}),
        ("rollups", "get", "/api/rollups/", None, {"anonymous": 401, "integration": 403, **humans_ok,
                                                   "stranger": 200}),
        ("audit trail", "get", "/api/audit/", None, {"anonymous": 401, "integration": 403, **humans_ok,
                                                     "stranger": 200}),
    ]


API_OPERATIONS = ["list assets", "submit a brief", "read an asset", "approve", "reject", "list publications",
                  "read a publication", "list dead letters", "read a dead letter", "requeue a dead letter",
                  "breakers", "status", "metric readings", "rollups", "audit trail"]


@pytest.mark.parametrize("caller", API_CALLERS)
@pytest.mark.parametrize("operation", API_OPERATIONS)
def test_api(world, operation, caller):
    row = next(r for r in api_rows(world) if r[0] == operation)
    _, method, path, body, expected = row
    client = api_client(caller, world)
    response = getattr(client, method)(path, body, format="json") if body is not None else \
        getattr(client, method)(path)
    assert response.status_code == expected[caller], (operation, caller, response.content[:300])
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}


def test_what_a_stranger_lists_is_only_their_own_team(world):
    client = api_client("stranger", world)
    for path in ("/api/assets/", "/api/publications/", "/api/dead-letters/", "/api/audit/", "/api/metrics/",
                 "/api/rollups/"):
        assert client.get(path).json()["results"] == [], path
    metrics = client.get("/api/status/").json()
    assert metrics["assets"] == {} and metrics["dead_letters"]["open"] == 0


def test_tracebacks_are_for_operators_only(world):
    path = f"/api/dead-letters/{world['letter'].pk}/"
    for caller in ("viewer", "editor", "approver"):
        assert api_client(caller, world).get(path).json()["traceback"] is None
    assert "secret-frame" in api_client("operator", world).get(path).json()["traceback"]


def test_an_integration_reads_only_its_own_assets(world):
    client = api_client("integration", world)
    mine = client.post("/api/assets/", {"brief": "mine"}, format="json").json()["id"]
    assert [row["id"] for row in client.get("/api/assets/").json()["results"]] == [mine]
    assert client.get(f"/api/assets/{mine}/").status_code == 200


# --- the admin

def admin_client(client, caller, world):
    if caller == "stranger":
        client.force_login(make_staff("stranger", roles=HUMANS, teams=[world["other"]]))
    else:
        client.force_login(make_staff(caller, roles=[caller], teams=[world["team"]]))
    return client


ADMIN_PAGES = {
    # page: (url builder, {caller: status})
    "asset list": (lambda w: reverse("admin:pipeline_asset_changelist"), dict.fromkeys(ADMIN_CALLERS, 200)),
    "asset page": (lambda w: reverse("admin:pipeline_asset_change", args=[w["review"].pk]),
                   {**dict.fromkeys(HUMANS, 200), "stranger": 302}),
    "submit a brief": (lambda w: reverse("admin:pipeline_asset_add"),
                       {"viewer": 403, "editor": 200, "approver": 403, "operator": 403, "stranger": 200}),
    "review queue": (lambda w: reverse("admin:pipeline_asset_review"), dict.fromkeys(ADMIN_CALLERS, 200)),
    "dead letters": (lambda w: reverse("admin:engine_deadletter_changelist"), dict.fromkeys(ADMIN_CALLERS, 200)),
    "a dead letter": (lambda w: reverse("admin:engine_deadletter_change", args=[w["letter"].pk]),
                      {**dict.fromkeys(HUMANS, 200), "stranger": 302}),
    "breakers": (lambda w: reverse("admin:engine_breaker_changelist"),
                 {"viewer": 403, "editor": 403, "approver": 403, "operator": 200, "stranger": 200}),
    "queue dashboard": (lambda w: "/admin/rq/",
                        {"viewer": 403, "editor": 403, "approver": 403, "operator": 200, "stranger": 200}),
    "channels": (lambda w: reverse("admin:publishing_channel_changelist"), dict.fromkeys(ADMIN_CALLERS, 200)),
    "connect a channel": (lambda w: reverse("admin:publishing_channel_add"),
                          {"viewer": 403, "editor": 403, "approver": 403, "operator": 200, "stranger": 200}),
    "a channel": (lambda w: reverse("admin:publishing_channel_change", args=[w["channel"].pk]),
                  {**dict.fromkeys(HUMANS, 200), "stranger": 302}),
    "publications": (lambda w: reverse("admin:publishing_publication_changelist"),
                     dict.fromkeys(ADMIN_CALLERS, 200)),
    "audit trail": (lambda w: reverse("admin:accounts_auditevent_changelist"), dict.fromkeys(ADMIN_CALLERS, 200)),
    "issue a token": (lambda w: reverse("admin:accounts_integrationtoken_add"),
                      {"viewer": 403, "editor": 403, "approver": 403, "operator": 200, "stranger": 200}),
    "teams": (lambda w: reverse("admin:accounts_team_changelist"), dict.fromkeys(ADMIN_CALLERS, 403)),
}


@pytest.mark.parametrize("caller", ADMIN_CALLERS)
@pytest.mark.parametrize("page", list(ADMIN_PAGES))
def test_admin_pages(client, world, page, caller):
    url, expected = ADMIN_PAGES[page]
    response = admin_client(client, caller, world).get(url(world))
    assert response.status_code == expected[caller], (page, caller)
    if response.status_code == 302:  # another team's object: the admin says it does not exist
        assert "admin" in response["Location"] and "/login/" not in response["Location"]


def transition(client, world, name):
    return client.post(reverse("admin:pipeline_asset_transition", args=[world["review"].pk, name]), {"notes": "n"})


ADMIN_ACTIONS = {
    # action: (do it, did it happen?, {caller: status})
    "approve": (lambda c, w: transition(c, w, "approve"),
                lambda w: Asset.objects.get(pk=w["review"].pk).state == Asset.State.PUBLISHING,
                {"viewer": 403, "editor": 403, "approver": 302, "operator": 403, "stranger": 404}),
    "reject": (lambda c, w: transition(c, w, "reject"),
               lambda w: Asset.objects.get(pk=w["review"].pk).state == Asset.State.REJECTED,
               {"viewer": 403, "editor": 302, "approver": 403, "operator": 403, "stranger": 404}),
    "send back": (lambda c, w: transition(c, w, "send_back"),
                  lambda w: Asset.objects.get(pk=w["review"].pk).state == Asset.State.SCRIPTING,
                  {"viewer": 403, "editor": 302, "approver": 403, "operator": 403, "stranger": 404}),
    "cancel": (lambda c, w: transition(c, w, "cancel"),
               lambda w: Asset.objects.get(pk=w["review"].pk).state == Asset.State.CANCELLED,
               {"viewer": 403, "editor": 302, "approver": 403, "operator": 403, "stranger": 404}),
    "requeue a dead letter": (
        lambda c, w: c.post(reverse("admin:engine_deadletter_requeue", args=[w["letter"].pk])),
        lambda w: DeadLetter.objects.get(pk=w["letter"].pk).status == DeadLetter.Status.REQUEUED,
        {"viewer": 403, "editor": 403, "approver": 403, "operator": 302, "stranger": 404}),
    "discard a dead letter": (
        lambda c, w: c.post(reverse("admin:engine_deadletter_discard", args=[w["letter"].pk])),
        lambda w: DeadLetter.objects.get(pk=w["letter"].pk).status == DeadLetter.Status.DISCARDED,
        {"viewer": 403, "editor": 403, "approver": 403, "operator": 302, "stranger": 404}),
    "open a breaker": (
        lambda c, w: c.post(reverse("admin:engine_breaker_action", args=["x", "open"])),
        lambda w: __import__("phantoms.resilience.breakers", fromlist=["get_breaker"]).get_breaker(
            "x").status().state == "open",
        {"viewer": 403, "editor": 403, "approver": 403, "operator": 302, "stranger": 302}),
    "retry a publication": (
        lambda c, w: c.post(reverse("admin:publishing_publication_changelist"),
                            {"action": "retry_selected", "_selected_action": [w["publication"].pk]}),
        lambda w: Publication.objects.get(pk=w["publication"].pk).state == Publication.State.PENDING,
        # Without the permission the action is not offered: the list comes back with "no action selected".
        {"viewer": 200, "editor": 200, "approver": 302, "operator": 302, "stranger": 302}),
    "empty a queue": (
        lambda c, w: (django_rq.get_queue("script").enqueue("phantoms.engine.jobs.run_stage", 1, "script"),
                      c.post("/admin/rq/queues/4/empty/"))[1],  # 4: "script"
        lambda w: django_rq.get_queue("script").count == 0,
        {"viewer": 403, "editor": 403, "approver": 403, "operator": 302, "stranger": 302}),
}
# Who may make each action happen (an answer of 302 alone does not say the action ran).
ACTION_DONE_BY = {"approve": {"approver"}, "reject": {"editor"}, "send back": {"editor"}, "cancel": {"editor"},
                  "requeue a dead letter": {"operator"}, "discard a dead letter": {"operator"},
                  "open a breaker": {"operator", "stranger"}, "retry a publication": {"approver", "operator"},
                  # Queues and breakers are shared by every team: any operator's.
                  "empty a queue": {"operator", "stranger"}}


@pytest.mark.parametrize("caller", ADMIN_CALLERS)
@pytest.mark.parametrize("action", list(ADMIN_ACTIONS))
def test_admin_actions(client, world, action, caller):
    do, happened, expected = ADMIN_ACTIONS[action]
    response = do(admin_client(client, caller, world), world)
    assert response.status_code == expected[caller], (action, caller)
    assert happened(world) == (caller in ACTION_DONE_BY[action]), (action, caller)
