"""No configured secret in any answer, page or log line: every API endpoint and every admin page is
fetched with distinctive secrets configured, and none of them may appear anywhere."""

import logging

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from accounts.services.tokens import issue_token
from phantoms.engine.models import StageAttempt
from tests.factories import (
    make_asset,
    make_channel,
    make_failed_asset,
    make_letter,
    make_publication_in,
    make_publishing_asset,
    make_team,
    make_user,
)

pytestmark = pytest.mark.django_db

SECRETS = {
    "SECRET_KEY": "django-secret-9f2b7c1e-do-not-show",
    "PEXELS_API_KEY": "pexels-key-4d1a8e5b-do-not-show",
    "OPENAI_API_KEY": "sk-openai-7c3e9a2f-do-not-show",
    "RENDER_SERVICE_KEY": "render-key-1b6d4f8a-do-not-show",
}
CHANNEL_TOKEN = "channel-token-5e8c2a7d-do-not-show"


@pytest.fixture
def world(settings):
    for name, value in SECRETS.items():
        setattr(settings, name, value)
    settings.API_THROTTLE_RATES = {}
    team = make_team("secrets")
    channel = make_channel("youtube", team=team, access_token=CHANNEL_TOKEN)
    asset = make_publishing_asset(channels=[channel], team=team)
    make_publication_in(asset, channel)
    failed = make_failed_asset("render", team=team)
    make_letter(failed, stage="render", traceback="Traceback: boom")
    StageAttempt.objects.create(asset=failed, stage="render", number=1, provider="remote", outcome="transient")
    make_asset(team=team)
    token, key = issue_token(name="crm", team=team, role="operator")
    return {"team": team, "key": key, "asset": asset, "channel": channel}


def leaks(text: str, key: str) -> list[str]:
    found = [name for name, value in SECRETS.items() if value in text]
    if CHANNEL_TOKEN in text:
        found.append("channel access token")
    if key.split(".")[1] in text:
        found.append("integration token secret")
    return found


def test_no_secret_in_api_answers_admin_pages_or_logs(client, world, caplog):
    caplog.set_level(logging.DEBUG)
    key = world["key"]
    superuser = make_user("root", is_staff=True, is_superuser=True, teams=[world["team"]])
    client.force_login(superuser)
    answers = []

    api_paths = ["/api/schema/?format=json", "/api/docs/", "/api/assets/", f"/api/assets/{world['asset'].pk}/",
                 "/api/publications/", "/api/dead-letters/", "/api/breakers/", "/api/status/", "/api/metrics/",
                 "/api/rollups/", "/api/audit/"]
    for path in api_paths:
        answers.append((path, client.get(path, HTTP_AUTHORIZATION=f"Bearer {key}")))
    answers.append(("bad token", client.get("/api/assets/", HTTP_AUTHORIZATION=f"Bearer {key}x")))

    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        for view, args in (("changelist", []), ("add", [])):
            try:
                answers.append((f"{opts.label} {view}", client.get(reverse(f"admin:{opts.app_label}_"
                                                                           f"{opts.model_name}_{view}", args=args))))
            except NoReverseMatch:
                pass
        obj = model_admin.get_queryset(type("R", (), {"user": superuser})()).first() if opts.managed else None
        if obj is not None:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            answers.append((f"{opts.label} change", client.get(url)))
    answers.append(("rq dashboard", client.get("/admin/rq/")))

    assert len(answers) > 30
    for what, response in answers:
        assert response.status_code < 500, what
        text = response.content.decode(errors="replace") + str(dict(response.headers))
        assert leaks(text, key) == [], what
    assert leaks(caplog.text, key) == []
