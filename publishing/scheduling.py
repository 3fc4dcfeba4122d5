"""Scheduling publications: when each channel's post goes out, and moving it before it does.

A scheduled publication is a row in state `scheduled` whose `next_run_at` is its `scheduled_at`: the
publish stage's own row, claimed like any other by the job that row names. Its RQ job is put on the
queue for that time, but the row is the truth (docs/architecture.md, "Truth and transport"): after a
flushed Redis, the reconciler finds the row once it is due and gives it a job, and the claim lets
one job only post it. Moving a post names a new job on the row, so the old one claims nothing.

Who may: scheduling is part of approving, so moving a post takes `pipeline.approve_asset` and the
asset's team, and is recorded in the audit trail.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts import scoping
from accounts.models import AuditEvent
from accounts.services import audit
from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.registry import get_stage
from publishing import slots as slot_rules
from publishing.models import Channel, Publication

SCHEDULE_PERMISSION = "pipeline.approve_asset"
# A time this far in the past is a mistake, not "now" (a form left open a while is still "now").
PAST_TOLERANCE = timedelta(minutes=5)

NOW = "now"
SLOT = "slot"
# Auto-approval's choice, never a person's: the next free posting slot where the channel has one, else now.
SLOT_OR_NOW = "slot-or-now"


class ScheduleError(ValueError):
    """Bad input or a move that cannot be made; names the field and the problem."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NotAllowed(ScheduleError):
    pass


@dataclass(frozen=True)
class Planned:
    channel: Channel
    at: datetime | None  # None: at once
    how: str  # "now", "slot" or "time"


def _aware(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise ScheduleError(field, "must be a date and time")
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def taken_slots(channel: Channel, exclude_pk=None) -> list[datetime]:
    rows = Publication.objects.filter(channel=channel, state=Publication.State.SCHEDULED,
                                      scheduled_at__isnull=False)
    if exclude_pk:
        rows = rows.exclude(pk=exclude_pk)
    return list(rows.values_list("scheduled_at", flat=True))


def next_slot(channel: Channel, after: datetime | None = None, exclude_pk=None) -> datetime | None:
    """The channel's next free posting slot, or None when it has no slots."""
    rules = slot_rules.parse(channel.posting_slots)
    if not rules:
        return None
    return slot_rules.next_free(rules, slot_rules.zone(channel.timezone), after or timezone.now(),
                                taken_slots(channel, exclude_pk))


def plan(channels, choices: dict, *, now: datetime | None = None) -> dict[int, Planned]:
    """When each channel's post goes out: `choices` maps a channel id to "now", "slot" or a datetime.

    A channel not in `choices` goes out at once. Two channels are never given the same slot of one
    channel, and a slot already held by another post of that channel is skipped.
    """
    now = now or timezone.now()
    planned = {}
    for channel in channels:
        choice = choices.get(channel.pk, NOW)
        field = f"schedule[{channel.pk}]"
        if choice in (None, "", NOW):
            planned[channel.pk] = Planned(channel, None, NOW)
        elif choice == SLOT_OR_NOW:
            try:
                at = next_slot(channel, now)
            except slot_rules.SlotError:
                at = None  # slots that no longer parse (edited outside the admin): now, rather than no post
            planned[channel.pk] = Planned(channel, at, SLOT if at else NOW)
        elif choice == SLOT:
            at = next_slot(channel, now)
            if at is None:
                raise ScheduleError(field, f"{channel} has no posting slots; choose a time or now")
            planned[channel.pk] = Planned(channel, at, SLOT)
        else:
            at = _aware(choice, field)
            if at < now - PAST_TOLERANCE:
                raise ScheduleError(field, f"{at:%Y-%m-%d %H:%M %Z} is in the past")
            planned[channel.pk] = Planned(channel, max(at, now), "time")
    return planned


def delay_until(at: datetime | None, now: datetime | None = None) -> float:
    if at is None:
        return 0.0
    return max(0.0, (at - (now or timezone.now())).total_seconds())


def new_publication(asset, channel: Channel, at: datetime | None) -> Publication:
    """An unsaved publication with its publish job named (put on the queue at its time, on commit)."""
    if at is None:
        publication = Publication(asset=asset, channel=channel)
    else:
        publication = Publication(asset=asset, channel=channel, state=Publication.State.SCHEDULED, scheduled_at=at)
    enqueue_on_commit(get_stage("publish"), None, delay=delay_until(at), row=publication)
    if at is not None:
        publication.next_run_at = at  # due exactly then, not a few microseconds earlier
    return publication


def reschedule(publication_id: int, at: datetime, *, user=None) -> Publication:
    """Move a scheduled post to `at` (a time now or in the past of a few minutes: at once).

    Refused for a post no longer scheduled (already going out or out), one a worker holds, one of
    another team (looks absent), and for people without the approver's permission.
    """
    at = _aware(at, "scheduled_at")
    now = timezone.now()
    if at < now - PAST_TOLERANCE:
        raise ScheduleError("scheduled_at", f"{at:%Y-%m-%d %H:%M %Z} is in the past")
    with transaction.atomic():
        publication = (Publication.objects.select_for_update().select_related("asset", "channel")
                       .get(pk=publication_id))
        if user is not None:
            if not scoping.in_team(user, publication.asset.team_id):
                raise Publication.DoesNotExist(f"no publication {publication_id} among your teams")
            if not user.has_perm(SCHEDULE_PERMISSION):
                raise NotAllowed("scheduled_at", f"{user} may not schedule posts (approvers may)")
        if publication.state != Publication.State.SCHEDULED:
            raise ScheduleError("scheduled_at", f"publication {publication.pk} is {publication.state}; "
                                                "only scheduled posts can be moved")
        if publication.lease_expires_at and publication.lease_expires_at > now:
            raise ScheduleError("scheduled_at", f"publication {publication.pk} is going out now")
        before = publication.scheduled_at
        publication.scheduled_at = max(at, now)
        # A new job for the new time: the one waiting for the old time finds the row no longer names it.
        enqueue_on_commit(get_stage("publish"), publication.pk, delay=delay_until(publication.scheduled_at, now),
                          row=publication)
        publication.next_run_at = publication.scheduled_at
        publication.save(update_fields=["scheduled_at", "job_id", "next_run_at", "updated_at"])
        audit.record(AuditEvent.Action.SCHEDULED, actor=user, target=publication, team=publication.asset.team_id,
                     summary=f"{publication.channel} moved from {_when(before)} to {_when(publication.scheduled_at)}",
                     scheduled_at=publication.scheduled_at.isoformat(),
                     previous=before.isoformat() if before else None)
    return publication


def _when(value):
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z}" if value else "now"
