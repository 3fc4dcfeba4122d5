"""The admin's scheduling page (approve now, at a slot, at a time) and the calendar of posts."""

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from pipeline.models import Asset
from publishing.models import Publication
from tests.admin.conftest import texts
from tests.admin.factories import make_asset
from tests.factories import make_channel, make_team, make_user

pytestmark = pytest.mark.django_db

CALENDAR_URL = reverse("admin:publishing_publication_calendar")


def schedule_url(asset):
    return reverse("admin:pipeline_asset_schedule", args=[asset.pk])


def move_url(publication):
    return reverse("admin:publishing_publication_reschedule", args=[publication.pk])


@pytest.fixture
def approver(client):
    user = make_user(roles=["approver"], is_staff=True)
    client.force_login(user)
    return client


def test_approve_with_a_time_a_slot_and_now(approver):
    paris = make_channel("youtube", posting_slots="mon-sun 09:00", timezone="Europe/Paris")
    x, tiktok = make_channel("x"), make_channel("tiktok")
    asset = make_asset(channels=[paris, x, tiktok])

    page = approver.get(schedule_url(asset))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Next posting slot:" in html and "(Europe/Paris)" in html

    later = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("UTC")).replace(second=0, microsecond=0)
    response = approver.post(schedule_url(asset), {
        f"when_{paris.pk}": "slot", f"when_{x.pk}": "time", f"at_{x.pk}": later.strftime("%Y-%m-%dT%H:%M"),
        f"when_{tiktok.pk}": "now", "notes": "for the morning"})

    assert response.status_code == 302
    assert any("approved:" in text for text in texts(response))
    by_channel = {p.channel_id: p for p in Publication.objects.filter(asset=asset)}
    assert by_channel[paris.pk].state == Publication.State.SCHEDULED
    local = by_channel[paris.pk].scheduled_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (9, 0)
    assert by_channel[x.pk].scheduled_at == later
    assert by_channel[tiktok.pk].state == Publication.State.PENDING and by_channel[tiktok.pk].scheduled_at is None
    assert Asset.objects.get(pk=asset.pk).state == Asset.State.PUBLISHING
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SCHEDULED, target_id=str(asset.pk)).exists()


def test_a_time_choice_without_a_time_or_in_the_past_is_refused_and_nothing_changes(approver):
    x = make_channel("x")
    asset = make_asset(channels=[x])

    missing = approver.post(schedule_url(asset), {f"when_{x.pk}": "time"})
    assert missing.status_code == 200
    assert "choose the date and time" in missing.content.decode()

    past = approver.post(schedule_url(asset), {f"when_{x.pk}": "time", f"at_{x.pk}": "2020-01-01T09:00"})
    assert past.status_code == 200
    assert f"schedule[{x.pk}]: 2020-01-01 09:00" in past.content.decode() and "is in the past" in past.content.decode()
    assert Asset.objects.get(pk=asset.pk).state == Asset.State.AWAITING_REVIEW
    assert not Publication.objects.exists()


def test_only_approvers_see_the_scheduling_page(client):
    asset = make_asset(channels=[make_channel("x")])
    client.force_login(make_user(roles=["editor"], is_staff=True))
    assert client.get(schedule_url(asset)).status_code == 403
    assert 'id="approve-schedule"' not in client.get(reverse("admin:pipeline_asset_change", args=[asset.pk])
                                                       ).content.decode()


def scheduled_post(days=3, **channel):
    x = make_channel("x", **channel)
    asset = make_asset(channels=[x], title="Moon facts")
    from pipeline.services.review import approve_asset

    at = (timezone.now() + timedelta(days=days)).replace(hour=14, minute=30, second=0, microsecond=0)
    approve_asset(asset.pk, schedule={x.pk: at})
    return Publication.objects.get(asset=asset), at


def test_the_calendar_shows_scheduled_posts_by_month_and_week(approver):
    publication, at = scheduled_post()

    month = approver.get(CALENDAR_URL, {"date": at.date().isoformat()})
    week = approver.get(CALENDAR_URL, {"view": "week", "date": at.date().isoformat()})

    for response in (month, week):
        assert response.status_code == 200
        html = response.content.decode()
        assert f'id="post-{publication.pk}"' in html and "Moon facts" in html and "14:30" in html
        assert f'data-move-url="{move_url(publication)}"' in html
        assert "phantoms/calendar" in html  # the drag script and its styles, from static
    assert month.content.decode().count('class="ph-cal-day') >= 28
    assert week.content.decode().count('class="ph-cal-day') == 7
    other_week = approver.get(CALENDAR_URL, {"view": "week", "date": (at + timedelta(days=14)).date().isoformat()})
    assert f'id="post-{publication.pk}"' not in other_week.content.decode()

    bad = approver.get(CALENDAR_URL, {"view": "year", "date": "tomorrow"})
    assert bad.status_code == 200
    assert any("view: 'year' is not one of month, week" in text for text in texts(bad))
    assert any("date: 'tomorrow' is not a date" in text for text in texts(bad))


def test_dragging_to_another_day_keeps_the_time_of_day(approver):
    publication, at = scheduled_post()
    target = (at + timedelta(days=2)).date()

    response = approver.post(move_url(publication), {"date": target.isoformat()}, HTTP_ACCEPT="application/json")

    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["date"] == target.isoformat() and body["time"] == "14:30"
    publication.refresh_from_db()
    assert publication.scheduled_at == at + timedelta(days=2) and publication.next_run_at == publication.scheduled_at


def test_moving_is_checked_and_bad_input_named(approver):
    publication, at = scheduled_post()

    bad_date = approver.post(move_url(publication), {"date": "someday"}, HTTP_ACCEPT="application/json")
    assert bad_date.status_code == 400 and json.loads(bad_date.content)["error"].startswith("date: 'someday'")
    past = approver.post(move_url(publication), {"scheduled_at": "2020-01-01T10:00"}, HTTP_ACCEPT="application/json")
    assert past.status_code == 400 and "is in the past" in json.loads(past.content)["error"]
    assert approver.get(move_url(publication)).status_code == 405

    client = Client()  # another person's browser
    client.force_login(make_user(roles=["viewer"], is_staff=True))
    refused = client.post(move_url(publication), {"date": at.date().isoformat()}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 403 and "may not schedule" in json.loads(refused.content)["error"]
    client.force_login(make_user(roles=["approver"], is_staff=True, teams=[make_team()]))
    elsewhere = client.post(move_url(publication), {"date": at.date().isoformat()}, HTTP_ACCEPT="application/json")
    assert elsewhere.status_code == 404
    publication.refresh_from_db()
    assert publication.scheduled_at == at

    # Without JavaScript: the Move form, answered with a redirect and a message.
    new_time = (at + timedelta(hours=3)).astimezone(timezone.get_current_timezone())
    moved = approver.post(move_url(publication), {"scheduled_at": new_time.strftime("%Y-%m-%dT%H:%M"),
                                                  "next": CALENDAR_URL})
    assert moved.status_code == 302 and moved.url == CALENDAR_URL
    assert any("moved to" in text for text in texts(moved)), texts(moved)
    publication.refresh_from_db()
    assert publication.scheduled_at == at + timedelta(hours=3)


def test_the_calendar_shows_times_in_the_installation_s_time_zone(approver, settings):
    """PHANTOMS_TIME_ZONE: a post scheduled for 14:30 UTC shows at its New York time, and a drag keeps it."""
    from zoneinfo import ZoneInfo

    publication, at = scheduled_post()
    settings.TIME_ZONE = "America/New_York"
    local = at.astimezone(ZoneInfo("America/New_York"))

    html = approver.get(CALENDAR_URL, {"view": "week", "date": local.date().isoformat()}).content.decode()

    assert f'id="post-{publication.pk}"' in html and local.strftime("%H:%M") in html and "14:30" not in html
    assert "America/New_York" in html
    target = local.date() + timedelta(days=1)
    moved = approver.post(move_url(publication), {"date": target.isoformat()}, HTTP_ACCEPT="application/json")
    assert json.loads(moved.content)["time"] == local.strftime("%H:%M")
    publication.refresh_from_db()
    assert publication.scheduled_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == local.strftime(
        "%H:%M")


def test_a_time_zone_that_does_not_exist_stops_the_start_naming_the_variable():
    import os
    import subprocess
    import sys

    env = {**os.environ, "PHANTOMS_TIME_ZONE": "Mars/Olympus_Mons", "DJANGO_SETTINGS_MODULE": "phantoms.settings"}
    started = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert started.returncode != 0
    assert "PHANTOMS_TIME_ZONE: 'Mars/Olympus_Mons' is not an IANA time zone name" in started.stderr
