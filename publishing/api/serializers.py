from rest_framework import serializers

from publishing.models import Publication


class PublicationSerializer(serializers.ModelSerializer):
    platform = serializers.CharField(source="channel.platform", read_only=True)
    channel_name = serializers.CharField(source="channel.name", read_only=True)

    class Meta:
        model = Publication
        fields = ["id", "asset", "channel", "channel_name", "platform", "state", "remote_id", "remote_url",
                  "attempts", "last_error", "failed_stage", "scheduled_at", "published_at", "created_at", "updated_at"]
