from rest_framework import serializers

from phantoms.engine.api.serializers import StageAttemptSerializer, TransitionSerializer
from pipeline.models import Asset
from pipeline.services.briefs import BriefError, validate_providers
from publishing.api.serializers import PublicationSerializer
from publishing.models import Channel


class AssetSerializer(serializers.ModelSerializer):
    channels = serializers.PrimaryKeyRelatedField(many=True, queryset=Channel.objects.filter(is_active=True),
                                                  required=False)
    video_url = serializers.SerializerMethodField()

    class Meta:
        model = Asset
        fields = ["id", "title", "brief", "channels", "target_duration_seconds", "providers", "state",
                  "failed_stage", "attempts", "last_error", "script", "script_provider", "script_model",
                  "usage", "audio_duration", "video_url", "video_duration", "render_progress",
                  "review_notes", "reviewed_at", "created_at", "updated_at"]
        read_only_fields = [f for f in fields if f not in {"title", "brief", "channels",
                                                            "target_duration_seconds", "providers"}]

    def get_video_url(self, asset) -> str | None:
        return asset.video.url if asset.video else None


class AssetDetailSerializer(AssetSerializer):
    attempts_log = StageAttemptSerializer(source="stage_attempts", many=True, read_only=True)
    transitions = TransitionSerializer(many=True, read_only=True)
    publications = PublicationSerializer(many=True, read_only=True)

    class Meta(AssetSerializer.Meta):
        fields = AssetSerializer.Meta.fields + ["attempts_log", "transitions", "publications"]


class BriefSerializer(serializers.Serializer):
    """What an integration POSTs to start an asset."""

    brief = serializers.CharField(max_length=5000, allow_blank=False, trim_whitespace=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    channels = serializers.PrimaryKeyRelatedField(many=True, queryset=Channel.objects.filter(is_active=True),
                                                  required=False, default=list)
    target_duration_seconds = serializers.IntegerField(min_value=5, max_value=180, default=20)
    providers = serializers.DictField(child=serializers.CharField(), required=False, default=dict)

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
