import pytest
from django.conf import settings
from django.urls import reverse

from phantoms.engine.models import BreakerEvent
from phantoms.resilience.breakers import get_breaker
from tests.admin.factories import make_staff

pytestmark = pytest.mark.django_db

PAGE_URL = reverse("admin:engine_breaker_changelist")


def action_url(name, action):
    return reverse("admin:engine_breaker_action", args=[name, action])


def test_page_lists_every_breaker(admin_client):
    response = admin_client.get(PAGE_URL)
    html = response.content.decode()
    assert response.status_code == 200
    for name in settings.BREAKERS:
        assert f'id="breaker-{name}"' in html
        assert action_url(name, "open") in html
    assert "0 / 5" in html


def test_open_and_close_change_the_shared_state(admin_client):
    response = admin_client.post(action_url("tiktok", "open"), follow=True)
    assert get_breaker("tiktok").status().state == "open"
    assert "The tiktok breaker was opened." in response.content.decode()
    event = BreakerEvent.objects.get(name="tiktok")
    assert (event.to_state, event.actor) == ("open", "admin")
    assert "opened by admin" in admin_client.get(PAGE_URL).content.decode()

    admin_client.post(action_url("tiktok", "close"))
    assert get_breaker("tiktok").status().state == "closed"
    assert BreakerEvent.objects.filter(name="tiktok", to_state="closed").count() == 1


def test_reset_clears_the_failure_count(admin_client):
    breaker = get_breaker("openai")
    breaker.storage.increment_counter()
    assert breaker.status().fail_counter == 1
    admin_client.post(action_url("openai", "reset"))
    assert breaker.status().fail_counter == 0


def test_staff_without_permission_can_look_but_not_touch(client):
    client.force_login(make_staff(perms=["engine.view_breakers"]))
    html = client.get(PAGE_URL).content.decode()
    assert 'id="breaker-openai"' in html and action_url("openai", "open") not in html
    assert client.post(action_url("openai", "open")).status_code == 403
    assert get_breaker("openai").status().state == "closed"


def test_actions_are_post_only(admin_client):
    assert admin_client.get(action_url("openai", "open")).status_code == 405
    assert get_breaker("openai").status().state == "closed"


def test_staff_without_the_operator_role_do_not_see_the_page(client):
    client.force_login(make_staff(roles=["editor", "approver", "viewer"]))
    assert client.get(PAGE_URL).status_code == 403
    assert client.post(action_url("openai", "open")).status_code == 403
    assert get_breaker("openai").status().state == "closed"


def test_forcing_a_breaker_is_in_the_audit_trail(admin_client):
    from accounts.models import AuditEvent

    admin_client.post(action_url("x", "open"))
    event = AuditEvent.objects.get(action="breaker_changed")
    assert (event.actor_name, event.target_type, event.target_id, event.details["change"]) == (
        "admin", "breaker", "x", "open")
