from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from accounts import scoping
from accounts.models import Team
from phantoms.engine.api.serializers import StageAttemptSerializer, TransitionSerializer
from phantoms.signed_media import PageSigner, signed_url
from pipeline.media.motion import THEMES
from pipeline.models import Asset
from pipeline.services.briefs import MAX_WORD_LENGTH, BriefError, validate_brief_text, validate_providers
from publishing.api.serializers import PublicationSerializer
from publishing.models import Channel
from publishing.selectors import channels_for

MAX_CHANNELS = 20


class AssetSerializer(serializers.ModelSerializer):
    video_url = serializers.SerializerMethodField()
    cover_url = serializers.SerializerMethodField()

    class Meta:
        model = Asset
        fields = ["id", "team", "title", "brief", "channels", "target_duration_seconds", "providers", "visual_theme",
                  "state", "failed_stage", "attempts", "last_error", "script", "script_provider", "script_model",
                  "usage", "audio_duration", "visuals_provider", "visuals", "video_url", "video_duration",
                  "cover_url", "cover_timestamp", "render_progress", "review_notes", "reviewed_at", "created_at",
                  "updated_at"]
        read_only_fields = fields

    def _signed(self, field) -> str | None:
        """Media is private: API clients get a signed, expiring link (SIGNED_MEDIA_MAX_AGE) to the file."""
        if not field:
            return None
        return signed_media_url(field.name, media_base(self.context.get("request")))

    def get_video_url(self, asset) -> str | None:
        return self._signed(asset.video)

    def get_cover_url(self, asset) -> str | None:
        return self._signed(asset.cover)


# The list's representation: what a table of assets shows, without the script, usage, visuals and
# review notes (the detail has them, with attempts, transitions and publications). Read with
# `values()` (pipeline.selectors.asset_list_page) and built here without model instances: the list
# never loads render_spec or word_timings, and signs a page's links with one PageSigner.
LIST_FIELDS = ["id", "team", "title", "brief", "channels", "target_duration_seconds", "state", "failed_stage",
               "attempts", "last_error", "video_url", "video_duration", "cover_url", "render_progress",
               "created_at", "updated_at"]


class AssetListSerializer(AssetSerializer):
    """The list's shape, for the schema and for one asset; lists are built by `list_rows` to the same shape."""

    class Meta(AssetSerializer.Meta):
        fields = LIST_FIELDS
        read_only_fields = fields


def _datetime(value):
    # As DRF's DateTimeField writes it under TIME_ZONE = "UTC".
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def media_base(request) -> str:
    return request.build_absolute_uri("/") if request is not None else settings.PHANTOMS_PUBLIC_URL or "/"


def signed_media_url(name: str, base: str) -> str | None:
    return signed_url(Path(settings.MEDIA_ROOT) / name, base=base) if name else None


def list_rows(rows: list[dict], channels: dict[int, list[int]], request=None) -> list[dict]:
    """`values()` rows (pipeline.selectors.LIST_COLUMNS) in the list's representation."""
    url = PageSigner(base=media_base(request)).url
    return [{
        "id": row["id"], "team": row["team_id"], "title": row["title"], "brief": row["brief"],
        "channels": channels.get(row["id"], []), "target_duration_seconds": row["target_duration_seconds"],
        "state": row["state"], "failed_stage": row["failed_stage"], "attempts": row["attempts"],
        "last_error": row["last_error"], "video_url": url(row["video"]),
        "video_duration": row["video_duration"], "cover_url": url(row["cover"]),
        "render_progress": row["render_progress"], "created_at": _datetime(row["created_at"]),
        "updated_at": _datetime(row["updated_at"]),
    } for row in rows]


class AssetDetailSerializer(AssetSerializer):
    attempts_log = StageAttemptSerializer(source="stage_attempts", many=True, read_only=True)
    transitions = TransitionSerializer(many=True, read_only=True)
    publications = PublicationSerializer(many=True, read_only=True)

    class Meta(AssetSerializer.Meta):
        fields = AssetSerializer.Meta.fields + ["attempts_log", "transitions", "publications"]
        read_only_fields = fields


class BriefSerializer(serializers.Serializer):
    """What an integration POSTs to start an asset. Channels and team are the caller's own."""

    brief = serializers.CharField(min_length=1, max_length=5000, allow_blank=False, trim_whitespace=True,
                                  help_text=f"What the video is about. Words of at most {MAX_WORD_LENGTH} characters.")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.none(), required=False, allow_null=True,
                                              default=None,
                                              help_text="The team the brief is for; may be left out by a member "
                                                        "of exactly one team (a token's team is its own).")
    channels = serializers.PrimaryKeyRelatedField(many=True, queryset=Channel.objects.none(), required=False,
                                                  default=list, help_text=f"At most {MAX_CHANNELS} channel ids "
                                                                          "of the brief's team.")
    target_duration_seconds = serializers.IntegerField(min_value=5, max_value=180, default=20)
    providers = serializers.DictField(child=serializers.CharField(max_length=40), required=False, default=dict,
                                      help_text='Per-stage provider, e.g. {"script": "offline"}.')
    visual_theme = serializers.ChoiceField(choices=sorted(THEMES), required=False, default="",
                                           help_text="Colour theme of generated visuals; empty: VISUALS_THEME.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["team"].queryset = scoping.visible(Team.objects.all(), request.user)
            self.fields["channels"].child_relation.queryset = channels_for(request.user, active_only=True)

    def to_internal_value(self, data):
        channels = data.get("channels") if hasattr(data, "get") else None
        if isinstance(channels, list) and len(channels) > MAX_CHANNELS:
            raise serializers.ValidationError({"channels": [f"at most {MAX_CHANNELS} channels"]})
        return super().to_internal_value(data)

    def validate_brief(self, brief):
        try:
            return validate_brief_text(brief)
        except BriefError as exc:
            raise serializers.ValidationError(exc.problem)

    def validate_providers(self, providers):
        try:
            return validate_providers(providers)
        except BriefError as exc:
            raise serializers.ValidationError(f"{exc.field}: {exc.problem}" if exc.field != "providers"
                                              else exc.problem)


class ApproveSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    publish_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="When every channel's post goes out (ISO 8601); omitted: at once.")
    schedule = serializers.DictField(
        child=serializers.CharField(max_length=40), required=False, default=dict,
        help_text='Per channel id: "now", "slot" (the channel\'s next free posting slot) or an ISO 8601 time; '
                  "overrides publish_at for those channels.")

    def validate_schedule(self, value):
        if len(value) > 50:
            raise serializers.ValidationError("at most 50 channels")
        chosen = {}
        for key, choice in value.items():
            if not str(key).isdigit():
                raise serializers.ValidationError(f"{key!r} is not a channel id")
            if choice in ("now", "slot"):
                chosen[int(key)] = choice
                continue
            try:
                when = parse_datetime(choice)
            except ValueError:
                when = None
            if when is None:
                raise serializers.ValidationError(f"{key}: {choice!r} is not \"now\", \"slot\" or an ISO 8601 time")
            chosen[int(key)] = when if timezone.is_aware(when) else timezone.make_aware(when)
        return chosen


class ReviewSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    rewrite = serializers.BooleanField(required=False, default=False,
                                       help_text="Send back to scripting with the notes instead of rejecting.")
