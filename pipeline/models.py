"""Assets (the unit editors see) and the prompt templates that write their scripts.

The asset's state machine and its lease live in the database (docs/architecture.md, "Truth and
transport"); the records that explain each step (transitions, attempts, dead letters) are the engine's.
"""

from django.conf import settings
from django.db import models
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from accounts.teams import default_team_pk
from phantoms.engine.models import Leased, due_index


class Asset(FSMModelMixin, Leased):
    class State(models.TextChoices):
        DRAFT = "draft"
        SCRIPTING = "scripting"
        VOICING = "voicing"
        VISUALIZING = "visualizing"
        RENDERING = "rendering"
        AWAITING_REVIEW = "awaiting_review"
        APPROVED = "approved"
        PUBLISHING = "publishing"
        PUBLISHED = "published"
        PARTIALLY_PUBLISHED = "partially_published"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        FAILED = "failed"

    # The stage each working state runs, and the state a requeue returns to.
    STAGE_FOR_STATE = {State.SCRIPTING: "script", State.VOICING: "voice", State.VISUALIZING: "visuals",
                       State.RENDERING: "render"}
    STATE_FOR_STAGE = {"script": State.SCRIPTING, "voice": State.VOICING, "visuals": State.VISUALIZING,
                       "render": State.RENDERING, "publish": State.PUBLISHING}
    CANCELLABLE = [State.DRAFT, State.SCRIPTING, State.VOICING, State.VISUALIZING, State.RENDERING,
                   State.AWAITING_REVIEW, State.APPROVED, State.FAILED]

    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="assets",
                             default=default_team_pk)
    title = models.CharField(max_length=200, blank=True)
    brief = models.TextField()
    channels = models.ManyToManyField("publishing.Channel", related_name="assets", blank=True,
                                      help_text="Where the approved video is published.")
    target_duration_seconds = models.PositiveIntegerField(default=20)
    providers = models.JSONField(default=dict, blank=True,
                                 help_text='Per-asset provider choice, e.g. {"script": "openai"}.')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    script = models.JSONField(null=True, blank=True)
    script_provider = models.CharField(max_length=40, blank=True)
    script_model = models.CharField(max_length=80, blank=True)
    prompt_template = models.ForeignKey("pipeline.PromptTemplate", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="assets")
    usage = models.JSONField(default=dict, blank=True, help_text="Tokens and cost per provider.")

    audio = models.FileField(upload_to="assets/", blank=True)
    audio_duration = models.FloatField(null=True, blank=True)
    voice_provider = models.CharField(max_length=40, blank=True)
    word_timings = models.JSONField(default=list, blank=True)
    word_timings_source = models.CharField(
        max_length=20, blank=True,
        help_text="engine (the synthesiser's word events), transcription (aligned speech recognition) "
                  "or estimated (spread over the audio's length).")

    visuals = models.JSONField(default=list, blank=True,
                               help_text="One visual per beat: file, kind, span on the timeline, attribution.")
    visuals_provider = models.CharField(max_length=40, blank=True)
    visual_theme = models.CharField(max_length=30, blank=True,
                                    help_text="Colour theme of generated visuals; empty: VISUALS_THEME.")

    video = models.FileField(upload_to="assets/", blank=True)
    video_duration = models.FloatField(null=True, blank=True)
    video_sha256 = models.CharField(max_length=64, blank=True)
    video_info = models.JSONField(
        default=dict, blank=True,
        help_text="The master as its render probed it (codecs, size, fps, pixel format, duration) and its sha256: "
                  "publishing checks it against each platform's limits without probing the file again.")
    render_provider = models.CharField(max_length=40, blank=True)
    render_spec = models.JSONField(null=True, blank=True, help_text="Everything needed to render again.")
    render_progress = models.FloatField(default=0)
    render_remote_id = models.CharField(max_length=100, blank=True)
    # sha256 of the remote render's callback token; "used:<sha256>" once a callback has spent it.
    render_callback_digest = models.CharField(max_length=80, blank=True, db_index=True)
    cover = models.FileField(upload_to="assets/", blank=True,
                             help_text="The cover frame (YouTube thumbnail, Instagram and TikTok cover).")
    cover_timestamp = models.FloatField(null=True, blank=True, help_text="Where the cover frame is, in seconds.")

    review_notes = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    state = FSMField(default=State.DRAFT, choices=State.choices, protected=True, db_index=True)
    failed_stage = models.CharField(max_length=20, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The API's list: a team's assets, newest first (a page, its cursor) without sorting the table;
        # carrying updated_at, the list's ETag aggregate (count, newest change, newest id) is an
        # index-only scan on PostgreSQL instead of a read of every row (INCLUDE is ignored by SQLite).
        indexes = [due_index("pipeline_asset_due"),
                   models.Index(fields=["team", "-created_at", "-id"], include=["updated_at"],
                                name="pipeline_asset_team_list")]
        permissions = [("approve_asset", "Can approve assets awaiting review"),
                       ("reject_asset", "Can reject assets or send them back to scripting")]

    # accounts.scoping: an asset belongs to its team.
    team_field = "team"

    def __str__(self):
        return self.title or f"Asset {self.pk}"

    @property
    def current_stage(self) -> str | None:
        return self.STAGE_FOR_STATE.get(self.state)

    def transition_owner(self) -> dict:
        """Which asset a transition record belongs to (phantoms.engine.transitions)."""
        return {"asset_id": self.pk}

    # --- transitions: state only; side effects live in services (docs/architecture.md).
    @transition(field=state, source=State.DRAFT, target=State.SCRIPTING)
    def submit(self):
        pass

    @transition(field=state, source=State.SCRIPTING, target=State.VOICING)
    def script_done(self):
        pass

    @transition(field=state, source=State.VOICING, target=State.VISUALIZING)
    def voice_done(self):
        pass

    @transition(field=state, source=State.VISUALIZING, target=State.RENDERING)
    def visuals_done(self):
        pass

    @transition(field=state, source=State.RENDERING, target=State.AWAITING_REVIEW)
    def render_done(self):
        pass

    @transition(field=state, source=State.AWAITING_REVIEW, target=State.APPROVED,
                permission="pipeline.approve_asset")
    def approve(self):
        pass

    @transition(field=state, source=State.AWAITING_REVIEW, target=State.REJECTED,
                permission="pipeline.reject_asset")
    def reject(self):
        pass

    @transition(field=state, source=State.AWAITING_REVIEW, target=State.SCRIPTING,
                permission="pipeline.reject_asset")
    def send_back(self):
        pass

    @transition(field=state, source=[State.APPROVED, State.PARTIALLY_PUBLISHED, State.FAILED],
                target=State.PUBLISHING)
    def start_publishing(self):
        pass

    @transition(field=state, source=State.PUBLISHING, target=State.PUBLISHED)
    def publish_done(self):
        pass

    @transition(field=state, source=State.PUBLISHING, target=State.PARTIALLY_PUBLISHED)
    def publish_partly(self):
        pass

    @transition(field=state, source=[State.SCRIPTING, State.VOICING, State.VISUALIZING, State.RENDERING,
                                     State.PUBLISHING],
                target=State.FAILED)
    def fail(self):
        pass

    @transition(field=state, source=State.FAILED,
                target=RETURN_VALUE(State.SCRIPTING, State.VOICING, State.VISUALIZING, State.RENDERING,
                                    State.PUBLISHING))
    def resume(self):
        return self.STATE_FOR_STAGE.get(self.failed_stage, self.State.SCRIPTING)

    @transition(field=state, source=State.AWAITING_REVIEW,
                target=RETURN_VALUE(State.VOICING, State.VISUALIZING, State.RENDERING),
                permission="pipeline.change_asset")
    def revise(self, stage: str):
        """An editor changed the script: back to the first stage the change invalidates."""
        return self.STATE_FOR_STAGE[stage]

    @transition(field=state, source=CANCELLABLE, target=State.CANCELLED, permission="pipeline.change_asset")
    def cancel(self):
        pass


class ScriptVersion(models.Model):
    """One saved version of an asset's script: the writer's first, then every editor's change.

    Versions are never edited; comparing two shows what changed (pipeline.selectors.script_diff).
    """

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="script_versions")
    number = models.PositiveIntegerField()
    script = models.JSONField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    author = models.CharField(max_length=150, help_text="Who wrote it: a user's name or the script provider.")
    changed = models.JSONField(default=list, blank=True, help_text="The script fields this version changed.")
    reruns = models.CharField(max_length=20, blank=True,
                              help_text="The first stage the change re-ran (voice, visuals, render), if any.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["asset_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["asset", "number"], name="one_script_version_number")]

    team_field = "asset__team"

    def __str__(self):
        return f"asset {self.asset_id} script v{self.number}"


class Notice(models.Model):
    """Something a person should hear about, noted once and sent in the next batch (pipeline.services.notify).

    `key` names the thing ("asset:7:awaiting_review:3", "deadletter:12"): unique per kind, so a thing
    is announced once however often the batch job runs.
    """

    class Kind(models.TextChoices):
        AWAITING_REVIEW = "awaiting_review", "awaiting review"
        DEAD_LETTER = "dead_letter", "dead letter"
        NEEDS_ATTENTION = "needs_attention", "publication needs attention"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    key = models.CharField(max_length=120)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    summary = models.CharField(max_length=300)
    link = models.CharField(max_length=300, help_text="Path of the page to open, e.g. /admin/pipeline/asset/7/change/.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delivery = models.JSONField(default=dict, blank=True, help_text="Who was mailed; the webhook's answer.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="one_notice_per_thing")]

    team_field = "team"

    def __str__(self):
        return f"{self.get_kind_display()}: {self.summary}"


class PromptTemplate(models.Model):
    """An editor-managed system prompt; every save makes a new version so assets can say which they used."""

    name = models.CharField(max_length=80)
    version = models.PositiveIntegerField(default=1)
    system_prompt = models.TextField()
    style_guide = models.TextField(blank=True, help_text="Brand voice and rules appended to the prompt.")
    model = models.CharField(max_length=80, blank=True, help_text="Empty: OPENAI_MODEL.")
    temperature = models.FloatField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="unique_template_version")]

    def __str__(self):
        return f"{self.name} v{self.version}"


class IdempotencyKey(models.Model):
    """A brief's `Idempotency-Key`, scoped to who sent it, with the fingerprint of what was sent.

    Committed as `processing` before the asset is created, so a second request with the key while
    the first is under way is told so (409) instead of creating a second asset; `done` points at the
    asset. Keys expire after IDEMPOTENCY_KEY_TTL seconds (pipeline.services.briefs).
    """

    class State(models.TextChoices):
        PROCESSING = "processing"
        DONE = "done"

    scope = models.CharField(max_length=40, help_text='"user:<id>" (a person or a token\'s principal) or "system".')
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    request = models.JSONField(default=dict, help_text="The normalised request, to name what differs on a reuse.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PROCESSING)
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    locked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_idempotency_key_per_scope")]

    def __str__(self):
        return f"{self.scope} {self.key}"
