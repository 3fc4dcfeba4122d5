from rest_framework import serializers

from accounts.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor_name", "action", "team", "target_type", "target_id", "summary", "details"]
