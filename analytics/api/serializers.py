from rest_framework import serializers

from analytics.models import MetricReadback, MetricRollup


class MetricReadingSerializer(serializers.ModelSerializer):
    asset = serializers.IntegerField(source="publication.asset_id", read_only=True)
    channel = serializers.IntegerField(source="publication.channel_id", read_only=True)
    platform = serializers.CharField(source="publication.channel.platform", read_only=True)

    class Meta:
        model = MetricReadback
        fields = ["id", "publication", "asset", "channel", "platform", "offset_seconds", "due_at", "state",
                  "taken_at", "views", "likes", "comments", "shares", "saves", "watch_time_seconds", "impressions",
                  "batch_size"]


class MetricRollupSerializer(serializers.ModelSerializer):
    class Meta:
        model = MetricRollup
        fields = ["day", "asset", "channel", "platform", "views", "likes", "comments", "shares", "saves",
                  "watch_time_seconds", "impressions", "readings"]
