"""The audit trail in the API: who did what, newest first, within the caller's teams."""

import django_filters
from rest_framework import viewsets

from accounts import scoping
from accounts.api.serializers import AuditEventSerializer
from accounts.models import AuditEvent
from phantoms.api.filters import IdFilter, UtcIsoDateTimeFilter
from phantoms.api.views import CheckedLookupMixin


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditEvent.Action.choices)
    actor = django_filters.CharFilter(field_name="actor_name", max_length=150)
    target_type = django_filters.CharFilter(max_length=40)
    target_id = django_filters.CharFilter(max_length=64)
    team = IdFilter(field_name="team")
    since = UtcIsoDateTimeFilter(field_name="at", lookup_expr="gte")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "target_type", "target_id", "team", "since"]


class AuditEventViewSet(CheckedLookupMixin, viewsets.ReadOnlyModelViewSet):
    queryset = AuditEvent.objects.none()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    required_permissions = {"list": ("accounts.view_auditevent",), "retrieve": ("accounts.view_auditevent",)}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        return scoping.visible(AuditEvent.objects.all(), self.request.user).order_by("-at", "-id")
