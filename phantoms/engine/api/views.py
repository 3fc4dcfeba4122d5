"""The engine's part of the integration API: dead letters, breakers, the status picture."""

from functools import partial

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import scoping
from phantoms.api.errors import Conflict
from phantoms.api.filters import IdFilter, UtcIsoDateTimeFilter
from phantoms.api.views import CheckedLookupMixin

from ..models import DeadLetter
from ..selectors import breaker_states, pipeline_status
from ..services import dead_letters
from .serializers import BreakerStateSerializer, DeadLetterSerializer, MetricsSerializer, RequeueResultSerializer

REQUEUE_PERMISSION = "engine.requeue_deadletter"


class DeadLetterFilter(django_filters.FilterSet):
    since = UtcIsoDateTimeFilter(field_name="last_failed_at", lookup_expr="gte")
    platform = django_filters.CharFilter(max_length=20)
    stage = django_filters.CharFilter(max_length=20)
    queue = django_filters.CharFilter(max_length=40)
    error_class = django_filters.CharFilter(max_length=40)
    status = django_filters.ChoiceFilter(choices=DeadLetter.Status.choices)
    asset = IdFilter(field_name="asset")

    class Meta:
        model = DeadLetter
        fields = ["stage", "queue", "platform", "error_class", "status", "asset", "since"]


class DeadLetterViewSet(CheckedLookupMixin, viewsets.ReadOnlyModelViewSet):
    queryset = DeadLetter.objects.none()
    serializer_class = DeadLetterSerializer
    filterset_class = DeadLetterFilter
    required_permissions = {
        "list": ("engine.view_deadletter",),
        "retrieve": ("engine.view_deadletter",),
        "requeue": (REQUEUE_PERMISSION,),
    }
    extra_error_codes = {"requeue": (409,)}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DeadLetter.objects.none()
        return scoping.visible(DeadLetter.objects.all(), self.request.user).order_by("-last_failed_at", "-id")

    @extend_schema(request=None, responses={200: RequeueResultSerializer})
    @action(detail=True, methods=["post"])
    def requeue(self, request, pk=None):
        letter = self.get_object()
        result = dead_letters.requeue(letter.pk, user=request.user)
        if not result.requeued:
            raise Conflict(f"dead letter {letter.pk} not requeued: {result.detail}")
        data = {**DeadLetterSerializer(result.letter, context={"request": request}).data,
                "requeued": result.requeued, "detail": result.detail}
        return Response(data)


class BreakersView(APIView):
    """Every circuit breaker's state (shared by all processes through Redis)."""

    required_permissions = {"get": ("engine.view_breakers",)}

    @extend_schema(responses={200: BreakerStateSerializer(many=True)})
    def get(self, request):
        return Response(breaker_states())


class MetricsView(APIView):
    """Rows by state in the caller's teams, queue depths, breakers and open dead letters."""

    required_permissions = {"get": ("pipeline.view_asset",)}

    @extend_schema(responses={200: MetricsSerializer})
    def get(self, request):
        return Response(pipeline_status(scope=partial(scoping.visible, user=request.user)))
