"""Publishing's part of the integration API: publications, read-only, scoped to the caller's teams."""

import django_filters
from rest_framework import viewsets

from phantoms.api.filters import IdFilter
from phantoms.api.views import CheckedLookupMixin
from publishing import platforms
from publishing.api.serializers import PublicationSerializer
from publishing.models import Publication
from publishing.selectors import publications_for


class PublicationFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Publication.State.choices)
    asset = IdFilter(field_name="asset")
    channel__platform = django_filters.ChoiceFilter(choices=platforms.choices)

    class Meta:
        model = Publication
        fields = ["state", "asset", "channel__platform"]


class PublicationViewSet(CheckedLookupMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Publication.objects.none()
    serializer_class = PublicationSerializer
    filterset_class = PublicationFilter
    required_permissions = {
        "list": ("publishing.view_publication", "pipeline.add_asset"),
        "retrieve": ("publishing.view_publication", "pipeline.add_asset"),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Publication.objects.none()
        return publications_for(self.request.user).select_related("channel").order_by("-created_at", "-id")
