"""Connected platform accounts and publications (one per asset × channel, each with its own fate)."""

import uuid

from django.conf import settings
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from accounts.teams import default_team_pk
from phantoms.engine.models import Leased, due_index
from publishing.platforms import registry


class Channel(models.Model):
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="channels",
                             default=default_team_pk)
    # The one platform list (publishing/platforms/registry.py): a callable, so registering a platform
    # needs no migration.
    platform = models.CharField(max_length=20, choices=registry.choices)
    name = models.CharField(max_length=100)
    account_id = models.CharField(max_length=100, help_text="The platform's id for this account.")
    is_active = models.BooleanField(default=True)
    posting_slots = models.CharField(
        max_length=500, blank=True,
        help_text='When posts go out by default, in the channel\'s time zone: e.g. "mon-fri 09:00, sat 11:30, 18:00" '
                  "(a time alone means every day). Empty: no default slots.")
    timezone = models.CharField(max_length=64, default="UTC", blank=True,
                                help_text="The time zone of the posting slots (IANA, e.g. Europe/Paris); empty: UTC.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform", "name"]
        constraints = [models.UniqueConstraint(fields=["platform", "account_id"], name="unique_channel_account")]

    # accounts.scoping: a channel belongs to its team.
    team_field = "team"

    def __str__(self):
        return f"{self.get_platform_display()}: {self.name}"


class Publication(FSMModelMixin, Leased):
    class State(models.TextChoices):
        # Waiting for its time (`scheduled_at`): the publish stage's row, due then (publishing.scheduling).
        SCHEDULED = "scheduled"
        PENDING = "pending"
        UPLOADING = "uploading"
        PROCESSING = "processing"
        PUBLISHED = "published"
        FAILED = "failed"
        NEEDS_ATTENTION = "needs_attention"

    STAGE_FOR_STATE = {State.SCHEDULED: "publish", State.PENDING: "publish", State.UPLOADING: "publish",
                       State.PROCESSING: "poll"}
    TERMINAL = {State.PUBLISHED, State.FAILED, State.NEEDS_ATTENTION}
    RETRYABLE = (State.FAILED, State.NEEDS_ATTENTION)

    asset = models.ForeignKey("pipeline.Asset", on_delete=models.CASCADE, related_name="publications")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="publications")
    state = FSMField(default=State.PENDING, choices=State.choices, protected=True, db_index=True)
    # Sent with the upload so that, after an unknown outcome, we can ask the platform whether it has it.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    remote_id = models.CharField(max_length=120, blank=True)
    # The platform's own handles for this work (YouTube session URI, TikTok publish_id, Instagram
    # container id, X media id), each written in its own commit before the call that depends on it
    # (docs/platforms.md, "Handles"): after a lost answer the next run asks the platform about them.
    handles = models.JSONField(default=dict, blank=True)
    # What the platform answered when asked about those handles: shown to the person who decides
    # a needs_attention publication.
    evidence = models.JSONField(default=list, blank=True)
    remote_url = models.URLField(blank=True)
    failed_stage = models.CharField(max_length=20, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                        help_text="When it is to go out; empty: as soon as approved.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset_id", "channel_id"]
        constraints = [models.UniqueConstraint(fields=["asset", "channel"], name="one_publication_per_channel")]
        indexes = [due_index("publishing_publication_due")]
        permissions = [("resolve_publication", "Can retry failed or needs-attention publications")]

    team_field = "asset__team"

    def __str__(self):
        return f"{self.asset_id} → {self.channel}"

    @property
    def platform(self) -> str:
        return self.channel.platform

    @property
    def current_stage(self) -> str | None:
        return self.STAGE_FOR_STATE.get(self.state)

    def transition_owner(self) -> dict:
        """A publication's transitions belong to it and to its asset (phantoms.engine.transitions)."""
        return {"asset_id": self.asset_id, "publication": self}

    @transition(field=state, source=[State.SCHEDULED, State.PENDING, State.UPLOADING], target=State.UPLOADING)
    def begin_upload(self):
        pass

    @transition(field=state, source=[State.SCHEDULED, State.PENDING, State.UPLOADING, State.NEEDS_ATTENTION],
                target=State.PROCESSING)
    def uploaded(self):
        pass

    @transition(field=state, source=State.PROCESSING, target=State.PUBLISHED)
    def went_live(self):
        pass

    @transition(field=state, source=[State.SCHEDULED, State.PENDING, State.UPLOADING, State.PROCESSING],
                target=State.FAILED)
    def fail(self):
        pass

    @transition(field=state, source=[State.UPLOADING, State.PENDING, State.SCHEDULED], target=State.NEEDS_ATTENTION)
    def needs_attention(self):
        pass

    @transition(field=state, source=State.NEEDS_ATTENTION, target=State.PUBLISHED,
                permission="publishing.resolve_publication")
    def confirmed_published(self):
        """A person checked the platform and found the post (the admin's "it is published" button)."""

    @transition(field=state, source=[State.FAILED, State.NEEDS_ATTENTION], target=State.PENDING,
                permission="publishing.resolve_publication")
    def retry(self):
        pass


class PlatformCopy(models.Model):
    """What one platform receives for one asset instead of the script's text (publishing.selectors.platform_copy).

    An empty title or caption, or hashtags left null, fall back to the script; an empty list of
    hashtags means none.
    """

    asset = models.ForeignKey("pipeline.Asset", on_delete=models.CASCADE, related_name="platform_copies")
    platform = models.CharField(max_length=20, choices=registry.choices)
    title = models.CharField(max_length=300, blank=True)
    caption = models.TextField(blank=True)
    hashtags = models.JSONField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset_id", "platform"]
        constraints = [models.UniqueConstraint(fields=["asset", "platform"], name="one_copy_per_platform")]

    team_field = "asset__team"

    def __str__(self):
        return f"{self.asset_id} on {self.get_platform_display()}"
