from pathlib import Path

from django.conf import settings
from rest_framework import serializers

from accounts import scoping
from accounts.models import Team
from phantoms.engine.api.serializers import StageAttemptSerializer, TransitionSerializer
from pipeline.media.motion import THEMES
from pipeline.models import Asset
from pipeline.services.briefs import MAX_WORD_LENGTH, BriefError, validate_brief_text, validate_providers
from pipeline.services.signed_media import signed_url
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
        request = self.context.get("request")
        base = request.build_absolute_uri("/") if request is not None else settings.PHANTOMS_PUBLIC_URL or "/"
        return signed_url(Path(settings.MEDIA_ROOT) / field.name, base=base)

    def get_video_url(self, asset) -> str | None:
        return self._signed(asset.video)

    def get_cover_url(self, asset) -> str | None:
        return self._signed(asset.cover)


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


class ReviewSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    rewrite = serializers.BooleanField(required=False, default=False,
                                       help_text="Send back to scripting with the notes instead of rejecting.")
