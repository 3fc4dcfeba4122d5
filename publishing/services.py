"""Fan-out on approval and settling an asset once every publication has its outcome."""

from django.db import transaction

from phantoms.runner import enqueue_on_commit
from pipeline.models import Asset
from pipeline.transitions import transit
from publishing.models import Publication
from publishing.stages import PUBLISH

TERMINAL = Publication.TERMINAL


def fan_out(asset: Asset) -> int:
    """One publication per active target channel, each on the publish queue; returns how many.

    Call inside the asset's transaction, with the asset locked: that is what keeps two approvals
    from creating the same publication twice.
    """
    channels = list(asset.channels.filter(is_active=True))
    existing = {publication.channel_id: publication for publication in asset.publications.all()}
    for channel in channels:
        publication = existing.get(channel.pk)
        if publication is None:
            publication = Publication(asset=asset, channel=channel)
            enqueue_on_commit(PUBLISH, None, row=publication)
            publication.save(force_insert=True)
        elif publication.state == Publication.State.PENDING:
            enqueue_on_commit(PUBLISH, publication.pk)
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


class RetryError(Exception):
    pass


def retry_publication(publication_id: int, user=None) -> Publication:
    """Send a failed or needs-attention publication back to pending and queue its upload again.

    For publications with an open dead letter, requeue the letter instead (it records who and when).
    """
    from django_fsm import can_proceed

    with transaction.atomic():
        publication = Publication.objects.select_for_update().get(pk=publication_id)
        if not can_proceed(publication.retry):
            raise RetryError(f"publication {publication.pk} is {publication.state}; "
                             "only failed or needs_attention publications can be retried")
        asset = Asset.objects.select_for_update().get(pk=publication.asset_id)
        transit(publication, "retry", by=user, reason="retried by an operator")
        publication.attempts = 0
        publication.lease_owner, publication.lease_expires_at = "", None
        publication.save()
        if asset.state in (Asset.State.FAILED, Asset.State.PARTIALLY_PUBLISHED):
            transit(asset, "start_publishing", by=user, reason=f"publication {publication.pk} retried")
            asset.save()
        enqueue_on_commit(PUBLISH, publication.pk)
    return publication
