"""No token the platforms issued appears in any admin page, API answer, message, error or log line."""

import logging
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from connections import services
from connections.errors import AwaitingReconnect
from connections.models import Connection
from publishing.models import Channel
from sandbox.oauth.models import OAuthGrant, OAuthToken
from tests.connections.conftest import connect


def test_no_issued_token_in_any_page_answer_or_log(oauth_sandbox, admin_client, admin_user, caplog):
    caplog.set_level(logging.DEBUG)
    answers = []
    for platform in ("youtube", "tiktok", "instagram", "x"):
        answer, _ = connect(admin_client, platform)
        answers.append((f"connect {platform}", answer, [str(m) for m in get_messages(answer.wsgi_request)]))
    # Refresh everything once (new tokens), then have one platform refuse (an error path).
    Connection.objects.update(expires_at=timezone.now())
    for channel in Channel.objects.all():
        services.access_token(channel)
    x = Connection.objects.get(channel__platform="x")
    OAuthGrant.objects.filter(platform="x").update(revoked_at=timezone.now())
    Connection.objects.filter(pk=x.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AwaitingReconnect) as refused:
        services.access_token(Channel.objects.get(platform="x"))
    errors = [str(refused.value), repr(refused.value), Connection.objects.get(pk=x.pk).last_error]

    pages = [reverse("admin:connections_connection_changelist"), "/api/audit/", "/api/publications/",
             reverse("admin:publishing_channel_changelist"), reverse("admin:accounts_auditevent_changelist")]
    for connection in Connection.objects.all():
        pages += [reverse("admin:connections_connection_change", args=[connection.pk]),
                  reverse("admin:connections_connection_reconnect", args=[connection.pk]),
                  reverse("admin:connections_connection_disconnect", args=[connection.pk]),
                  reverse("admin:publishing_channel_change", args=[connection.channel_id])]
    for model in admin.site._registry:  # and every other admin list
        try:
            pages.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        except NoReverseMatch:
            pass
    for path in pages:
        response = admin_client.get(path)
        assert response.status_code < 400, path
        answers.append((path, response, []))
    answer = admin_client.post(reverse("admin:connections_connection_disconnect",
                                       args=[Connection.objects.get(channel__platform="youtube").pk]))
    answers.append(("disconnect", answer, [str(m) for m in get_messages(answer.wsgi_request)]))

    tokens = list(OAuthToken.objects.exclude(kind="code").values_list("value", flat=True))
    assert len(tokens) >= 12
    for what, response, texts in answers:
        shown = response.content.decode(errors="replace") + str(dict(response.headers)) + " ".join(texts)
        assert [t for t in tokens if t in shown] == [], what
    assert [t for t in tokens if any(t in e for e in errors)] == []
    assert [t for t in tokens if t in caplog.text] == []
    assert "needs reconnecting" in caplog.text  # the log was captured, and says what happened
    assert admin_user  # the pages were seen by a superuser: nothing was hidden by permissions

