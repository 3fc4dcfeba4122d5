"""Approve now or at a time: the asset's scheduling page (per channel: now, its next posting slot, a time).

The page only collects the choice; `pipeline.services.review.approve_asset` decides (permissions,
team, past times, channels without slots) and `publishing.scheduling` places the posts.
"""

from datetime import datetime

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone

from phantoms.admin import admin_page
from pipeline.models import Asset
from pipeline.services.review import ReviewError, approve_asset
from publishing import slots as slot_rules
from publishing.scheduling import NOW, SLOT, next_slot

TIME = "time"
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class ScheduleForm(forms.Form):
    """One "when" and one "at" per target channel; times are in the channel's own time zone."""

    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), required=False)

    def __init__(self, channels, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channels = list(channels)
        self.rows = []
        for channel in self.channels:
            try:
                slot = next_slot(channel)
            except slot_rules.SlotError:
                slot = None
            choices = [(NOW, "Now")]
            if slot is not None:
                local = slot.astimezone(slot_rules.zone(channel.timezone))
                choices.append((SLOT, f"Next posting slot: {local:%a %d %b %H:%M} ({channel.timezone})"))
            choices.append((TIME, "At a time"))
            self.fields[f"when_{channel.pk}"] = forms.ChoiceField(
                choices=choices, initial=SLOT if slot else NOW, widget=forms.RadioSelect, label=str(channel))
            self.fields[f"at_{channel.pk}"] = forms.DateTimeField(
                required=False, input_formats=[LOCAL_FORMAT], label=f"time ({channel.timezone})",
                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT))
            self.rows.append({"channel": channel, "when": self[f"when_{channel.pk}"], "at": self[f"at_{channel.pk}"]})

    def clean(self):
        cleaned = super().clean()
        for channel in self.channels:
            if cleaned.get(f"when_{channel.pk}") == TIME and not cleaned.get(f"at_{channel.pk}"):
                self.add_error(f"at_{channel.pk}", f"{channel}: choose the date and time, or another option")
        return cleaned

    def schedule(self) -> dict:
        """Channel id → "now", "slot" or an aware datetime (the local time read in the channel's zone)."""
        chosen = {}
        for channel in self.channels:
            when = self.cleaned_data[f"when_{channel.pk}"]
            if when == TIME:
                at: datetime = self.cleaned_data[f"at_{channel.pk}"]
                zone = slot_rules.zone(channel.timezone)
                chosen[channel.pk] = at.replace(tzinfo=zone) if timezone.is_naive(at) else at.astimezone(zone)
            else:
                chosen[channel.pk] = when
        return chosen


class ScheduleMixin:
    """For the asset admin: the "Approve and schedule" page."""

    def get_urls(self):
        return [path("<path:object_id>/schedule/", self.admin_site.admin_view(self.schedule_view),
                     name="pipeline_asset_schedule")] + super().get_urls()

    def schedule_url(self, request, asset) -> str | None:
        if asset.state != Asset.State.AWAITING_REVIEW or not self.has_approve_permission(request, asset):
            return None
        return reverse("admin:pipeline_asset_schedule", args=[asset.pk])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        asset = self.get_object(request, unquote(object_id))
        if asset is not None:
            extra_context["schedule_url"] = self.schedule_url(request, asset)
        return super().change_view(request, object_id, form_url, extra_context)

    def schedule_view(self, request, object_id):
        asset = self.get_object(request, unquote(object_id))
        if asset is None:
            raise Http404
        if not self.has_approve_permission(request, asset):
            raise PermissionDenied
        change_url = reverse("admin:pipeline_asset_change", args=[asset.pk])
        if asset.state != Asset.State.AWAITING_REVIEW:
            messages.error(request, f"Asset {asset.pk} is {asset.get_state_display().lower()}, not awaiting review.")
            return HttpResponseRedirect(change_url)
        channels = asset.channels.filter(is_active=True).order_by("platform", "name")
        form = ScheduleForm(channels, request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                approved = approve_asset(asset.pk, user=request.user, notes=form.cleaned_data["notes"].strip(),
                                         schedule=form.schedule())
            except ReviewError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Asset {approved.pk} ({approved}) approved: {_summary(approved)}.")
                return HttpResponseRedirect(change_url)
        return admin_page(self, request, "admin/pipeline/asset/schedule.html", f"Approve and schedule: {asset}",
                          asset=asset, form=form, original=asset, change_url=change_url,
                          calendar_url=reverse("admin:publishing_publication_calendar"))


def _summary(asset) -> str:
    parts = []
    for publication in asset.publications.select_related("channel").order_by("channel__platform"):
        if publication.scheduled_at:
            zone = slot_rules.zone(publication.channel.timezone)
            parts.append(f"{publication.channel} on {publication.scheduled_at.astimezone(zone):%a %d %b %H:%M %Z}")
        else:
            parts.append(f"{publication.channel} now")
    return "; ".join(parts) or "no active channel"
