from rest_framework import serializers

from ..models import DeadLetter, StageAttempt, TransitionLog


class StageAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageAttempt
        fields = ["id", "stage", "provider", "number", "outcome", "error", "started_at", "finished_at",
                  "duration_ms", "publication"]


class TransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = TransitionLog
        fields = ["from_state", "to_state", "actor", "reason", "at", "publication"]


class DeadLetterSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeadLetter
        fields = ["id", "asset", "publication", "stage", "queue", "platform", "job_id", "error_class",
                  "error_message", "traceback", "attempts", "first_failed_at", "last_failed_at", "status",
                  "requeued_at", "requeued_by"]
