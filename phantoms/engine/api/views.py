"""The engine's part of the integration API: dead letters, breakers, the status picture."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from ..models import DeadLetter
from ..selectors import breaker_states, pipeline_status
from ..services import dead_letters
from .serializers import DeadLetterSerializer

REQUEUE_PERMISSION = "engine.requeue_deadletter"


class DeadLetterFilter(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="last_failed_at", lookup_expr="gte")
    platform = django_filters.CharFilter()

    class Meta:
        model = DeadLetter
        fields = ["stage", "queue", "platform", "error_class", "status", "asset"]


class DeadLetterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = DeadLetter.objects.order_by("-last_failed_at", "-id")
    serializer_class = DeadLetterSerializer
    filterset_class = DeadLetterFilter

    @extend_schema(request=None, responses={200: DeadLetterSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def requeue(self, request, pk=None):
        if not request.user.has_perm(REQUEUE_PERMISSION):
            raise PermissionDenied("you need the 'requeue dead letter' permission")
        get_object_or_404(DeadLetter, pk=pk)
        result = dead_letters.requeue(int(pk), user=request.user)
        data = {**DeadLetterSerializer(result.letter).data, "requeued": result.requeued, "detail": result.detail}
        return Response(data, status=status.HTTP_200_OK if result.requeued else status.HTTP_409_CONFLICT)


@extend_schema(responses={200: dict})
@api_view(["GET"])
def breakers(request):
    return Response(breaker_states())


@extend_schema(responses={200: dict})
@api_view(["GET"])
def metrics(request):
    return Response(pipeline_status())
