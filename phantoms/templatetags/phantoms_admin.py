"""The admin index's dashboard: where things stand, each number linking to the page that explains it."""

import logging

from django import template
from django.urls import reverse

from phantoms.admin import STATE_COLOURS
from phantoms.engine.models import DeadLetter
from phantoms.engine.selectors import (
    breaker_states,
    dashboard_since,
    dead_letters_by_class,
    open_dead_letters,
    queue_overview,
    recent_trips,
    stage_durations,
    state_counts,
    throughput,
)
from pipeline.models import Asset
from publishing.models import Publication

logger = logging.getLogger("phantoms.admin")
register = template.Library()


@register.simple_tag
def phantoms_dashboard() -> dict:
    assets_url = reverse("admin:pipeline_asset_changelist")
    counts = state_counts(Asset)
    asset_states = [
        {"state": value, "label": label, "count": counts.get(value, 0), "colour": STATE_COLOURS.get(value),
         "url": f"{assets_url}?state__exact={value}"}
        for value, label in Asset.State.choices
    ]
    publications_url = reverse("admin:publishing_publication_changelist")
    attention = state_counts(Publication).get(Publication.State.NEEDS_ATTENTION, 0)
    letters_url = reverse("admin:engine_deadletter_changelist")
    dashboard = {
        "asset_states": asset_states,
        "awaiting_review": counts.get(Asset.State.AWAITING_REVIEW, 0),
        "review_url": reverse("admin:pipeline_asset_review"),
        "open_letters": open_dead_letters().count(),
        "letters_url": f"{letters_url}?status__exact={DeadLetter.Status.OPEN}",
        "needs_attention": attention,
        "attention_url": f"{publications_url}?state__exact={Publication.State.NEEDS_ATTENTION}",
        "breakers_url": reverse("admin:engine_breaker_changelist"),
        "breakers_not_closed": None,
        "breakers": None,
        "queues": None,
        "redis_error": "",
        "window_hours": 24,
        "throughput": throughput(since := dashboard_since()),
        "durations": stage_durations(since),
        "trips": recent_trips(since),
        "letters_by_class": dead_letters_by_class(),
        "performance_url": reverse("admin:analytics_performance"),
    }
    # Redis may be down; the database half of the picture is still worth showing.
    try:
        dashboard["breakers"] = breaker_states()
        dashboard["breakers_not_closed"] = [b for b in dashboard["breakers"] if b["state"] != "closed"]
        dashboard["queues"] = queue_overview()
    except Exception as exc:
        logger.warning("dashboard could not read Redis: %s", exc)
        dashboard["redis_error"] = str(exc)
    return dashboard
