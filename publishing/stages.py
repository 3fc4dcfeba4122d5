"""The publication stages: upload (the irreversible call) and the poll that waits for processing."""

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.services import schedule_readbacks
from phantoms.engine.handler import Context, StageHandler
from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.transitions import transit
from phantoms.resilience.errors import NotReady, PermanentError, TransientError
from publishing import platforms, renditions
from publishing.models import Channel, Publication
from publishing.platforms.base import Handles, PublishRequest
from publishing.services import retry_publication, settle_asset


def stored_handles(publication, token: str) -> Handles:
    """The publication's platform handles; each save is its own commit, and only while we hold the lease
    (docs/platforms.md, "Handles")."""

    def persist(values: dict, evidence: list):
        with transaction.atomic():
            held = Publication.objects.filter(pk=publication.pk, lease_owner=token).update(
                handles=values, evidence=evidence, updated_at=timezone.now())
        if not held:
            raise TransientError(f"publication {publication.pk} lost its lease; the handle was not stored",
                                 provider=publication.channel.platform)
        publication.handles, publication.evidence = values, evidence

    return Handles(publication.handles, persist=persist, evidence=publication.evidence)


def not_due_for(publication) -> float:
    """Seconds until a scheduled publication's time (0 when due, or not scheduled)."""
    if publication.state != Publication.State.SCHEDULED or publication.scheduled_at is None:
        return 0.0
    return max(0.0, (publication.scheduled_at - timezone.now()).total_seconds())


class PublicationStage(StageHandler):
    model = Publication
    # The adapter stores handles and evidence in their own commits while it works.
    writes_while_working = ("handles", "evidence", "updated_at")

    def load(self, claimed):
        # The claimed row and its channel (platform, token): the asset's large row only where a stage
        # reads it (the upload).
        claimed.channel = Channel.objects.get(pk=claimed.channel_id)
        return claimed

    def provider_name(self, publication):
        return publication.channel.platform

    def breaker_name(self, publication):
        return publication.channel.platform

    def platform(self, publication):
        return publication.channel.platform

    def attempt_owner(self, publication):
        return {"asset_id": publication.asset_id, "publication": publication}

    def fail(self, publication, ctx, error):
        publication.failed_stage = self.name
        transit(publication, "fail", actor="worker", reason=error)
        transaction.on_commit(lambda: settle_asset(publication.asset_id))

    def go_live(self, publication, remote, ctx: Context):
        # Some platforms name the public post only once it is live (TikTok's post id after moderation).
        publication.remote_id = remote.id or publication.remote_id
        publication.remote_url = remote.url or publication.remote_url
        publication.published_at = timezone.now()
        transit(publication, "went_live", actor="worker")
        schedule_readbacks(publication)
        ctx.after_write.append(lambda: settle_asset(publication.asset_id))

    def needs_attention(self, publication, ctx, error):
        publication.failed_stage = self.name
        transit(publication, "needs_attention", actor="worker", reason=error)
        transaction.on_commit(lambda: settle_asset(publication.asset_id))

    def requeue(self, letter, *, user=None, actor: str = "") -> str:
        """A failed or parked publication goes back to pending; one still moving is given a job."""
        publication = Publication.objects.select_for_update().get(pk=letter.publication_id)
        if publication.state in Publication.RETRYABLE:
            retry_publication(publication.pk, user=user, actor=actor, reason=f"dead letter {letter.pk} requeued")
            return f"publication {publication.pk} back to pending"
        stage = STAGES.get(publication.current_stage or "")
        if stage:
            enqueue_on_commit(stage, publication.pk)
        return f"publication {publication.pk} is {publication.state}; nothing to reset"


class PublishStage(PublicationStage):
    name = "publish"
    queue = "publish"
    # A scheduled publication is this stage's row too, due at its time: the reconciler finds it by its
    # `next_run_at` like any other, so a flushed Redis loses no scheduled post (publishing.scheduling).
    states = (Publication.State.SCHEDULED, Publication.State.PENDING, Publication.State.UPLOADING)

    # What an upload never reads of its asset: the render's recipe and the voice's timings are the
    # largest columns of a row (tens of KB in production), read here for every publication.
    UNREAD_ASSET_FIELDS = ("asset__render_spec", "asset__word_timings", "asset__visuals", "asset__usage")

    def load(self, claimed):
        return (self.model.objects.select_related("asset", "channel").defer(*self.UNREAD_ASSET_FIELDS)
                .get(pk=claimed.pk))

    def work(self, publication, ctx: Context):
        early = not_due_for(publication)
        if early > 0:
            # Only a job run before its time gets here (its schedule moved while it waited): wait, no attempt.
            raise NotReady(f"scheduled for {publication.scheduled_at:%Y-%m-%d %H:%M:%S %Z}", retry_after=early)
        return self.upload(publication, ctx)

    def rate_limit_key(self, publication):
        return (publication.channel.platform, publication.channel.account_id)

    def upload(self, publication, ctx: Context):
        adapter = platforms.adapter_for(publication.channel)
        if publication.state in (Publication.State.SCHEDULED, Publication.State.PENDING):
            with transaction.atomic():
                transit(publication, "begin_upload", actor="worker", reason="upload intent committed")
                publication.save(update_fields=["state", "updated_at"])
        handles = stored_handles(publication, ctx.token)
        request = PublishRequest(video=self.video_for(publication, adapter), copy=adapter.copy(publication.asset),
                                 handles=handles, key=str(publication.idempotency_key),
                                 duration=publication.asset.video_duration,
                                 cover_at=publication.asset.cover_timestamp,
                                 cover=self.cover_for(publication))
        try:
            # The adapter asks the platform about any stored handle before it repeats a call.
            return adapter.publish(request)
        finally:
            ctx.outcome_uncertain = handles.uncertain

    @staticmethod
    def cover_for(publication) -> Path | None:
        """The review's cover image, where the render stored one."""
        name = publication.asset.cover.name
        if not name:
            return None
        path = Path(settings.MEDIA_ROOT) / name
        return path if path.is_file() else None

    def video_for(self, publication, adapter) -> Path:
        """The platform's rendition of the master (publishing/renditions.py)."""
        master = Path(settings.MEDIA_ROOT) / publication.asset.video.name
        return renditions.rendition_for(master, adapter.rendition, publication.channel.platform,
                                        meta=renditions.recorded_meta(publication.asset))

    def commit(self, publication, remote, ctx):
        publication.remote_id = remote.id
        publication.remote_url = remote.url
        transit(publication, "uploaded", actor="worker", reason=f"accepted as {remote.id}")
        if remote.status == "published":
            # Some platforms publish synchronously (X; a sandbox with no processing time): there is
            # nothing to wait for, so no poll job is spent asking.
            self.go_live(publication, remote, ctx)
        else:
            enqueue_on_commit(POLL, publication.pk, delay=settings.PUBLISH_POLL_INTERVAL, row=publication)


class PollStage(PublicationStage):
    name = "poll"
    queue = "publish"
    states = (Publication.State.PROCESSING,)

    def work(self, publication, ctx):
        adapter = platforms.adapter_for(publication.channel)
        remote = adapter.status(publication.remote_id, stored_handles(publication, ctx.token))
        if remote.status == "published":
            return remote
        if remote.status == "failed":
            reason = f": {remote.reason}" if remote.reason else ""
            raise PermanentError(f"the platform rejected post {remote.id}{reason}",
                                 provider=publication.channel.platform)
        age = (timezone.now() - publication.updated_at).total_seconds()
        if age > settings.PUBLISH_PROCESSING_DEADLINE:
            raise PermanentError(f"still processing after {int(age)} s", provider=publication.channel.platform)
        raise NotReady(f"post {remote.id} is {remote.status}", retry_after=settings.PUBLISH_POLL_INTERVAL)

    def commit(self, publication, remote, ctx):
        self.go_live(publication, remote, ctx)


PUBLISH = PublishStage()
POLL = PollStage()
STAGES = {PUBLISH.name: PUBLISH, POLL.name: POLL}
