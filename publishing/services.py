"""Fan-out on approval and settling an asset once every publication has its outcome."""

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from accounts import scoping
from accounts.models import AuditEvent
from accounts.services import audit
from phantoms.engine.models import DeadLetter
from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.registry import get_stage
from phantoms.engine.services import dead_letters
from phantoms.engine.transitions import transit
from pipeline.models import Asset
from publishing.models import Channel, Publication
from publishing.scheduling import new_publication

TERMINAL = Publication.TERMINAL


def fan_out(asset: Asset, when: dict | None = None) -> int:
    """One publication per active target channel, each on the publish queue; returns how many.

    `when` maps a channel id to the time its post goes out (publishing.scheduling.plan); a channel
    without one goes out at once. Call inside the asset's transaction, with the asset locked: that is
    what keeps two approvals from creating the same publication twice.
    """
    when = when or {}
    # The channels and the publication each already has, in one query.
    existing = Publication.objects.filter(asset=asset, channel=OuterRef("pk"))
    channels = list(asset.channels.filter(is_active=True).annotate(
        publication_pk=Subquery(existing.values("pk")[:1]), publication_state=Subquery(existing.values("state")[:1])))
    for channel in channels:
        if channel.publication_pk is None:
            publication = new_publication(asset, channel, when.get(channel.pk))
            publication.save(force_insert=True)
        elif channel.publication_state == Publication.State.PENDING:
            enqueue_on_commit(get_stage("publish"), channel.publication_pk)
    return len(channels)


def settle_asset(asset_id: int):
    """Move a publishing asset to published / partially_published / failed when all channels are done."""
    with transaction.atomic():
        # Only what settling reads and writes: the script, timings and render spec are large JSON.
        asset = Asset.objects.select_for_update().only("state", "failed_stage").get(pk=asset_id)
        if asset.state != Asset.State.PUBLISHING:
            return asset.state
        states = list(asset.publications.values_list("state", flat=True))
        if any(state not in TERMINAL for state in states):
            return asset.state
        published = sum(state == Publication.State.PUBLISHED for state in states)
        if published == len(states):
            transit(asset, "publish_done", actor="worker", reason=f"published on {published} channel(s)")
        elif published:
            transit(asset, "publish_partly", actor="worker",
                    reason=f"published on {published} of {len(states)} channels")
        else:
            asset.failed_stage = "publish"
            transit(asset, "fail", actor="worker", reason="no channel accepted the video")
        asset.save(update_fields=["state", "failed_stage", "updated_at"])
        return asset.state


def settle_stuck_assets() -> int:
    """Assets still `publishing` whose publications all finished (a crash between the two commits).

    A reconciler pass (registered in PublishingConfig.ready); returns how many it settled.
    """
    stuck = Asset.objects.filter(state=Asset.State.PUBLISHING).exclude(
        Q(publications__state__in=list(Publication.STAGE_FOR_STATE))
    )
    settled = 0
    for asset_id in stuck.values_list("pk", flat=True).distinct():
        if settle_asset(asset_id) != Asset.State.PUBLISHING:
            settled += 1
    return settled


class RetryError(Exception):
    pass


def retry_publication(publication_id: int, user=None, *, actor: str = "",
                      reason: str = "retried by an operator") -> Publication:
    """Send a failed or needs-attention publication back to pending and queue its upload again.

    Locks the publication, then its asset (the order every publication path takes).
    """
    with transaction.atomic():
        publication = Publication.objects.select_for_update().get(pk=publication_id)
        if not can_proceed(publication.retry):
            raise RetryError(f"publication {publication.pk} is {publication.state}; "
                             "only failed or needs_attention publications can be retried")
        if getattr(user, "pk", None) and not has_transition_perm(publication.retry, user):
            raise RetryError(f"{user} may not retry publications")
        asset = Asset.objects.select_for_update().get(pk=publication.asset_id)
        transit(publication, "retry", by=user, actor=actor, reason=reason)
        publication.attempts = 0
        publication.lease_owner, publication.lease_expires_at = "", None
        publication.save()
        if asset.state in (Asset.State.FAILED, Asset.State.PARTIALLY_PUBLISHED):
            transit(asset, "start_publishing", by=user, actor=actor, reason=f"publication {publication.pk} retried")
            asset.save()
        enqueue_on_commit(get_stage("publish"), publication.pk)
    return publication


def retry_or_requeue(publication_id: int, user=None) -> str:
    """An operator's "retry": through the publication's open dead letter if it has one (so the letter
    records who requeued it), otherwise straight back to pending. Says what happened."""
    letter = (DeadLetter.objects.filter(publication_id=publication_id, status=DeadLetter.Status.OPEN)
              .exclude(stage="analytics").order_by("-last_failed_at", "-id").first())
    if getattr(user, "pk", None):
        publication = Publication.objects.select_related("asset").get(pk=publication_id)
        if not scoping.in_team(user, publication.asset.team_id):
            raise Publication.DoesNotExist(f"no publication {publication_id} among your teams")
        if not has_transition_perm(publication.retry, user):
            raise RetryError(f"{user} may not retry publications")
    if letter is not None:
        result = dead_letters.requeue(letter.pk, user=user)
        if not result.requeued:
            raise RetryError(f"dead letter {letter.pk} not requeued: {result.detail}")
        detail = f"dead letter {letter.pk} requeued: {result.detail}"
    else:
        retry_publication(publication_id, user=user)
        detail = "pending again and queued"
    publication = Publication.objects.select_related("asset").get(pk=publication_id)
    audit.record(AuditEvent.Action.PUBLICATION_RETRIED, actor=user, target=publication, team=publication.asset.team_id,
                 summary=detail)
    return detail


# --- Channels: connecting a platform account to a team, changing it, disconnecting it.

class ChannelError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def save_channel(channel: Channel, *, changed: list[str], user=None) -> Channel:
    """Connect a new channel, or save the fields an operator changed; recorded in the audit trail.

    Turning `is_active` off disconnects it (no new brief may target it); the stored token is never
    written to the trail, only whether it changed.
    """
    adding = channel.pk is None
    if user is not None and not scoping.in_team(user, channel.team_id):
        raise ChannelError("team", "you may connect channels only for your own teams")
    with transaction.atomic():
        if adding:
            channel.save()
            action, summary = AuditEvent.Action.CHANNEL_CONNECTED, f"connected {channel}"
        else:
            if changed:
                channel.save(update_fields=changed)
            if "is_active" in changed:
                action = (AuditEvent.Action.CHANNEL_CONNECTED if channel.is_active
                          else AuditEvent.Action.CHANNEL_DISCONNECTED)
                summary = f"{'reconnected' if channel.is_active else 'disconnected'} {channel}"
            else:
                action, summary = AuditEvent.Action.CHANNEL_CHANGED, f"changed {', '.join(changed)} of {channel}"
        if adding or changed:
            audit.record(action, actor=user, target=channel, summary=summary, fields=sorted(changed))
    return channel


def disconnect_channel(channel_id: int, *, user=None) -> None:
    """Delete a channel no publication refers to (one with publications can only be deactivated)."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel_id)
        if user is not None and not scoping.in_team(user, channel.team_id):
            raise Channel.DoesNotExist(f"no channel {channel_id} among your teams")
        audit.record(AuditEvent.Action.CHANNEL_DISCONNECTED, actor=user, target=channel, summary=f"deleted {channel}")
        channel.delete()


# --- A person decides a needs_attention publication (docs/platforms.md, "Handles, and exactly once").

class ResolveError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _resolvable(publication_id: int, user) -> Publication:
    publication = Publication.objects.select_for_update().select_related("asset", "channel").get(pk=publication_id)
    if user is not None and getattr(user, "pk", None) and not scoping.in_team(user, publication.asset.team_id):
        raise Publication.DoesNotExist(f"no publication {publication_id} among your teams")
    if publication.state != Publication.State.NEEDS_ATTENTION:
        raise ResolveError("state", f"publication {publication.pk} is {publication.state}; only a needs_attention "
                                    "publication is decided by a person")
    return publication


def confirm_published(publication_id: int, url: str, *, user=None) -> Publication:
    """"It is published, here is the URL": a person found the post on the platform.

    Records the URL, marks the publication published (its open dead letter is closed) and settles
    the asset. The platform is not called: the person's word is the evidence, and it is recorded.
    """
    url = (url or "").strip()
    try:
        URLValidator(schemes=["https"])(url)
    except ValidationError:
        raise ResolveError("url", "give the post's https:// address on the platform")
    with transaction.atomic():
        publication = _resolvable(publication_id, user)
        if getattr(user, "pk", None) and not has_transition_perm(publication.confirmed_published, user):
            raise ResolveError("user", f"{user} may not resolve publications")
        publication.remote_url = url
        publication.remote_id = publication.remote_id or url.rstrip("/").rsplit("/", 1)[-1][:120]
        publication.published_at = timezone.now()
        publication.evidence = [*publication.evidence, {"asked": f"{user or 'an operator'} checked the platform",
                                                        "answer": f"published at {url}"}]
        transit(publication, "confirmed_published", by=user, reason=f"confirmed published at {url}")
        publication.save()
        DeadLetter.objects.filter(publication=publication, status=DeadLetter.Status.OPEN).update(
            status=DeadLetter.Status.DISCARDED)
        audit.record(AuditEvent.Action.CONFIRMED_PUBLISHED, actor=user, target=publication,
                     team=publication.asset.team_id, summary=f"confirmed published at {url}"[:500])
        transaction.on_commit(lambda: settle_asset(publication.asset_id))
    return publication


def publish_again(publication_id: int, *, user=None) -> str:
    """"Publish again": a person checked the platform and found no post. The stored handles are
    forgotten (so nothing is asked about them again) and the publication goes back to pending."""
    with transaction.atomic():
        publication = _resolvable(publication_id, user)
        forgotten = ", ".join(sorted(publication.handles)) or "none"
        publication.evidence = [*publication.evidence, {"asked": f"{user or 'an operator'} checked the platform",
                                                        "answer": f"no post found; publish again (forgot {forgotten})"}]
        publication.handles = {}
        publication.save(update_fields=["handles", "evidence", "updated_at"])
    return retry_or_requeue(publication_id, user=user)
