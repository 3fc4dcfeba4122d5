from rest_framework import serializers

from pipeline.models import Asset, DeadLetter, StageAttempt, TransitionLog
from pipeline.providers import REGISTRY
from publishing.models import Channel, Publication


class StageAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageAttempt
        fields = ["id", "stage", "provider", "number", "outcome", "error", "started_at", "finished_at",
                  "duration_ms", "publication"]


class TransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = TransitionLog
        fields = ["from_state", "to_state", "actor", "reason", "at", "publication"]


class PublicationSerializer(serializers.ModelSerializer):
    platform = serializers.CharField(source="channel.platform", read_only=True)
    channel_name = serializers.CharField(source="channel.name", read_only=True)

    class Meta:
        model = Publication
        fields = ["id", "asset", "channel", "channel_name", "platform", "state", "remote_id", "remote_url",
                  "attempts", "last_error", "failed_stage", "published_at", "created_at", "updated_at"]


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
        for stage, name in providers.items():
            if stage not in REGISTRY:
                raise serializers.ValidationError(f"unknown stage {stage!r}; stages are {', '.join(REGISTRY)}")
            if name not in REGISTRY[stage]:
                raise serializers.ValidationError(
                    f"unknown {stage} provider {name!r}; choose one of {', '.join(sorted(REGISTRY[stage]))}")
        return providers


class ReviewSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    rewrite = serializers.BooleanField(required=False, default=False,
                                       help_text="Send back to scripting with the notes instead of rejecting.")


class DeadLetterSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeadLetter
        fields = ["id", "asset", "publication", "stage", "queue", "platform", "job_id", "error_class",
                  "error_message", "traceback", "attempts", "first_failed_at", "last_failed_at", "status",
                  "requeued_at", "requeued_by"]
