"""The ledger: what the fake services accepted, so tests and the chaos report can count it."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class SandboxPost(models.Model):
    PROCESSING = "processing"
    PUBLISHED = "published"
    STATUS_CHOICES = [(PROCESSING, "Processing"), (PUBLISHED, "Published")]

    platform = models.CharField(max_length=20, db_index=True)
    remote_id = models.CharField(max_length=64, unique=True)
    client_ref = models.CharField(max_length=200, blank=True, default="", db_index=True)
    # What the ledger counts duplicates by: the old protocol's asset ref, or for the real protocols a
    # fingerprint of the account, the words and the video bytes (sandbox/views/platforms/common.py).
    asset_ref = models.CharField(max_length=200, blank=True, default="", db_index=True)
    # The account the post was made for (the token's holder) and the platform handle it came from
    # (a YouTube upload session, a TikTok publish_id, an Instagram container, an X media id).
    account = models.CharField(max_length=200, blank=True, default="")
    handle = models.CharField(max_length=500, blank=True, default="", db_index=True)
    title = models.CharField(max_length=300, blank=True, default="")
    caption = models.TextField(blank=True, default="")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=PROCESSING)
    # Set when an accept_then_timeout fault hid the 201 from the client: the post exists but the
    # client never heard about it, which is exactly the case that produces double posts.
    response_lost = models.BooleanField(default=False)
    accepted_at = models.DateTimeField(default=timezone.now, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["accepted_at", "id"]
        verbose_name = "sandbox post"

    def __str__(self) -> str:
        return f"{self.platform}:{self.remote_id}"

    def current_status(self) -> str:
        """Processing flips to published once SANDBOX_PROCESSING_SECONDS have passed; persisted on flip."""
        if self.status == self.PROCESSING:
            ready_at = self.accepted_at + timedelta(seconds=settings.SANDBOX_PROCESSING_SECONDS)
            now = timezone.now()
            if now >= ready_at:
                self.status = self.PUBLISHED
                self.published_at = ready_at
                SandboxPost.objects.filter(pk=self.pk, status=self.PROCESSING).update(
                    status=self.PUBLISHED, published_at=ready_at
                )
        return self.status


class SandboxUpload(models.Model):
    """A platform upload in progress: a session, an init, a container or a media id, with its bytes
    received so far (kept in a file under the sandbox's var directory) and when it expires."""

    platform = models.CharField(max_length=20, db_index=True)
    handle = models.CharField(max_length=200, unique=True)
    token = models.CharField(max_length=500, blank=True, default="")
    total_bytes = models.BigIntegerField(default=0)
    received_bytes = models.BigIntegerField(default=0)
    # What the client declared at the start (the video resource, post_info, ...), as the platform kept it.
    meta = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=40, default="open")
    post = models.ForeignKey(SandboxPost, null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "sandbox upload"

    def __str__(self) -> str:
        return f"{self.platform} upload {self.handle} ({self.received_bytes}/{self.total_bytes})"

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and timezone.now() >= self.expires_at


class SandboxRender(models.Model):
    QUEUED = "queued"
    FETCHING = "fetching"
    PREPROCESSING = "preprocessing"
    RENDERING = "rendering"
    SAVING = "saving"
    DONE = "done"
    FAILED = "failed"
    STATUS_CHOICES = [(QUEUED, "Queued"), (FETCHING, "Fetching"), (PREPROCESSING, "Preprocessing"),
                      (RENDERING, "Rendering"), (SAVING, "Saving"), (DONE, "Done"), (FAILED, "Failed")]

    render_id = models.CharField(max_length=36, unique=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=QUEUED)
    duration_seconds = models.FloatField(default=5.0)
    url = models.URLField(max_length=500, blank=True, default="")
    poster_url = models.URLField(max_length=500, blank=True, default="")
    render_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    callback_url = models.URLField(max_length=500, blank=True, default="")
    callback_status = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "sandbox render"

    def __str__(self) -> str:
        return f"render {self.render_id} ({self.status})"


class SandboxObject(models.Model):
    """What a platform keeps for a while besides posts: an Instagram container, an X media upload or post.

    Kept in the database, not Redis, because a real platform does not forget its containers when our
    Redis is flushed; `expires_at` is the platform's own lifetime for the object.
    """

    platform = models.CharField(max_length=20)
    kind = models.CharField(max_length=20)
    object_id = models.CharField(max_length=40)
    owner = models.CharField(max_length=100, blank=True, default="")
    data = models.JSONField(default=dict)
    # What the object became, written once with a conditional UPDATE (a container's media id): two
    # concurrent publishes of one container make one post.
    result_id = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "sandbox platform object"
        constraints = [models.UniqueConstraint(fields=["platform", "kind", "object_id"],
                                               name="sandbox_object_unique_id")]
        indexes = [models.Index(fields=["platform", "kind", "owner", "created_at"], name="sandbox_object_owner")]

    def __str__(self) -> str:
        return f"{self.platform} {self.kind} {self.object_id}"


# The sandbox's authorization servers keep their grants and tokens in their own module.
from sandbox.oauth.models import OAuthGrant, OAuthToken  # noqa: E402, F401
