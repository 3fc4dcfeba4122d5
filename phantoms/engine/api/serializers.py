from rest_framework import serializers

from ..models import DeadLetter, StageAttempt, TransitionLog

TRACEBACK_PERMISSION = "engine.view_deadletter_traceback"


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
    traceback = serializers.SerializerMethodField(
        help_text="The server's traceback; null unless the caller may see tracebacks (operators).")

    class Meta:
        model = DeadLetter
        fields = ["id", "asset", "publication", "stage", "queue", "platform", "job_id", "error_class",
                  "error_message", "traceback", "attempts", "first_failed_at", "last_failed_at", "status",
                  "requeued_at", "requeued_by"]

    def get_traceback(self, letter) -> str | None:
        request = self.context.get("request")
        if request is not None and request.user.has_perm(TRACEBACK_PERMISSION):
            return letter.traceback
        return None


class RequeueResultSerializer(DeadLetterSerializer):
    requeued = serializers.BooleanField()
    detail = serializers.CharField()

    class Meta(DeadLetterSerializer.Meta):
        fields = DeadLetterSerializer.Meta.fields + ["requeued", "detail"]


class BreakerStateSerializer(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=["closed", "open", "half-open", "unknown"])
    error = serializers.CharField(required=False, help_text="Only when the state could not be read.")
    fail_counter = serializers.IntegerField(required=False)
    fail_max = serializers.FloatField(required=False)
    reset_timeout = serializers.FloatField(required=False)
    opened_at = serializers.DateTimeField(required=False, allow_null=True)
    probe_at = serializers.DateTimeField(required=False, allow_null=True)
    rejected_calls = serializers.IntegerField(required=False)


class QueueDepthSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    scheduled = serializers.IntegerField()
    started = serializers.IntegerField()
    failed = serializers.IntegerField()


class DeadLetterCountsSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    by_stage = serializers.DictField(child=serializers.IntegerField())


class MetricsSerializer(serializers.Serializer):
    assets = serializers.DictField(child=serializers.IntegerField(), help_text="Assets by state (your teams).")
    publications = serializers.DictField(child=serializers.IntegerField(),
                                         help_text="Publications by state (your teams).")
    readbacks = serializers.DictField(child=serializers.IntegerField(), required=False,
                                      help_text="Metric readings by state (your teams).")
    queues = serializers.DictField(child=QueueDepthSerializer())
    breakers = BreakerStateSerializer(many=True)
    dead_letters = DeadLetterCountsSerializer()
