"""Analytics in the integration API: readings (`/api/metrics/`) and daily rollups (`/api/rollups/`).

Both filter by asset, channel, platform, prompt template (by name) and time range, are paginated,
and show only the caller's teams. A metric a platform does not give is null, never 0.
"""

import django_filters
from rest_framework import viewsets

from accounts import scoping
from analytics.api.serializers import MetricReadingSerializer, MetricRollupSerializer
from analytics.models import MetricReadback, MetricRollup
from phantoms.api.filters import IdFilter, UtcIsoDateTimeFilter
from phantoms.api.views import CheckedLookupMixin

PLATFORM_CHOICES = [(name, name) for name in ("youtube", "tiktok", "instagram", "x")]


class MetricReadingFilter(django_filters.FilterSet):
    asset = IdFilter(field_name="publication__asset", help_text="Asset id.")
    channel = IdFilter(field_name="publication__channel", help_text="Channel id.")
    platform = django_filters.ChoiceFilter(field_name="publication__channel__platform", choices=PLATFORM_CHOICES)
    template = django_filters.CharFilter(field_name="publication__asset__prompt_template__name", max_length=80,
                                         help_text="Prompt template name.")
    state = django_filters.ChoiceFilter(choices=MetricReadback.State.choices)
    since = UtcIsoDateTimeFilter(field_name="taken_at", lookup_expr="gte", help_text="Taken at or after (ISO 8601).")
    until = UtcIsoDateTimeFilter(field_name="taken_at", lookup_expr="lte", help_text="Taken at or before (ISO 8601).")

    class Meta:
        model = MetricReadback
        fields = ["asset", "channel", "platform", "template", "state", "since", "until"]


class MetricReadingViewSet(CheckedLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Readings of each post's metrics, newest first (scheduled ones included until they are taken)."""

    queryset = MetricReadback.objects.none()
    serializer_class = MetricReadingSerializer
    filterset_class = MetricReadingFilter
    required_permissions = {"list": ("analytics.view_metricreadback",),
                            "retrieve": ("analytics.view_metricreadback",)}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MetricReadback.objects.none()
        return (scoping.visible(MetricReadback.objects.all(), self.request.user)
                .select_related("publication__channel").order_by("-due_at", "-id"))


class MetricRollupFilter(django_filters.FilterSet):
    asset = IdFilter(field_name="asset", help_text="Asset id.")
    channel = IdFilter(field_name="channel", help_text="Channel id.")
    platform = django_filters.ChoiceFilter(choices=PLATFORM_CHOICES)
    template = django_filters.CharFilter(field_name="asset__prompt_template__name", max_length=80,
                                         help_text="Prompt template name.")
    since = django_filters.DateFilter(field_name="day", lookup_expr="gte", help_text="From this day (YYYY-MM-DD, UTC).")
    until = django_filters.DateFilter(field_name="day", lookup_expr="lte", help_text="To this day, inclusive.")

    class Meta:
        model = MetricRollup
        fields = ["asset", "channel", "platform", "template", "since", "until"]


class MetricRollupViewSet(CheckedLookupMixin, viewsets.ReadOnlyModelViewSet):
    """What each post (asset × channel) gained per day (UTC); sum them for totals over a range."""

    queryset = MetricRollup.objects.none()
    serializer_class = MetricRollupSerializer
    filterset_class = MetricRollupFilter
    required_permissions = {"list": ("analytics.view_metricrollup",), "retrieve": ("analytics.view_metricrollup",)}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MetricRollup.objects.none()
        return scoping.visible(MetricRollup.objects.all(), self.request.user).order_by("-day", "asset_id",
                                                                                      "channel_id")
