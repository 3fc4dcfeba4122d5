"""Publishing's part of the integration API: publications, read-only."""

from rest_framework import viewsets

from publishing.api.serializers import PublicationSerializer
from publishing.models import Publication


class PublicationViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Publication.objects.select_related("channel").order_by("-created_at", "-id")
    serializer_class = PublicationSerializer
    filterset_fields = {"state": ["exact"], "asset": ["exact"], "channel__platform": ["exact"]}
