"""Readings, schedules and the performance pages in the admin.

The performance pages (`/admin/analytics/metricrollup/performance/` and `.../performance/asset/<id>/`)
draw their charts with Chart.js from our own static files; each chart's numbers are also a table
and a CSV download (`?csv=<chart id>`).
"""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts import scoping
from analytics import selectors, services
from analytics.charts import Chart
from analytics.models import METRICS, MetricReadback, MetricRollup, ReadingSchedule
from phantoms.admin import ReadOnlyAdmin, TeamScopedMixin, admin_link, admin_page, badge

RANGES = (7, 30, 90)


@admin.register(MetricReadback)
class MetricReadbackAdmin(TeamScopedMixin, ReadOnlyAdmin):
    list_display = ("id", "publication_link", "platform", "offset_seconds", "due_at", "state_badge", "taken_at",
                    "views", "likes", "comments", "shares", "saves", "watch_time_seconds", "impressions",
                    "batch_size")
    list_filter = ("state", "publication__channel__platform", "offset_seconds")
    search_fields = ("publication__remote_id", "publication__asset__title")
    list_select_related = ("publication__channel", "publication__asset")
    date_hierarchy = "due_at"

    @admin.display(description="publication", ordering="publication")
    def publication_link(self, obj):
        return admin_link(obj.publication)

    @admin.display(description="platform", ordering="publication__channel__platform")
    def platform(self, obj):
        return obj.publication.channel.get_platform_display()

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj):
        return badge(obj.state)


class ReadingScheduleForm(forms.ModelForm):
    offsets_text = forms.CharField(
        label="Offsets", help_text='After publishing, e.g. "1h, 6h, 24h, 72h, 7d, daily to 30d" (s, m, h, d, w).')

    class Meta:
        model = ReadingSchedule
        fields = ("channel",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["offsets_text"].initial = services.format_offsets(self.instance.offsets)

    def clean_offsets_text(self):
        try:
            return services.parse_offsets(self.cleaned_data["offsets_text"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc))

    def save(self, commit=True):
        self.instance.offsets = self.cleaned_data["offsets_text"]
        return super().save(commit)


@admin.register(ReadingSchedule)
class ReadingScheduleAdmin(TeamScopedMixin, admin.ModelAdmin):
    form = ReadingScheduleForm
    list_display = ("channel", "schedule", "updated_at")
    list_select_related = ("channel",)

    @admin.display(description="offsets")
    def schedule(self, obj):
        return services.format_offsets(obj.offsets)


@admin.register(MetricRollup)
class MetricRollupAdmin(TeamScopedMixin, ReadOnlyAdmin):
    list_display = ("day", "asset_link", "channel", "platform", *METRICS, "readings")
    list_filter = ("platform", "day")
    list_select_related = ("asset", "channel")
    date_hierarchy = "day"

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, obj):
        return admin_link(obj.asset)

    def get_urls(self):
        return [
            path("performance/", self.admin_site.admin_view(self.performance_view), name="analytics_performance"),
            path("performance/asset/<int:asset_id>/", self.admin_site.admin_view(self.asset_performance_view),
                 name="analytics_asset_performance"),
        ] + super().get_urls()

    # --- pages
    def _scoped(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return scoping.visible(MetricRollup.objects.all(), request.user)

    def performance_view(self, request):
        rollups = self._scoped(request)
        try:
            days = int(request.GET.get("days", 30))
        except ValueError:
            days = 30
        days = days if days in RANGES else 30
        platform = request.GET.get("platform", "")
        platform = platform if platform in selectors.PLATFORMS else ""
        today = timezone.now().date()
        since = today - timedelta(days=days - 1)
        ranged = selectors.rollups(rollups, platform=platform, since=since, until=today)
        charts = [
            daily_views_chart(selectors.daily_views(selectors.rollups(rollups, platform=platform),
                                                    since=since, until=today)),
            top_assets_chart(selectors.top_assets(selectors.rollups(rollups, platform=platform),
                                                  since=selectors.week_start(today))),
            platform_chart(selectors.platform_comparison(selectors.rollups(rollups, since=since, until=today))),
            *(dimension_chart(name, selectors.comparison(ranged, name)) for name in selectors.DIMENSIONS),
        ]
        return self._page(request, charts, "admin/analytics/performance.html", "Performance",
                          days=days, days_str=str(days), ranges=RANGES, platform=platform,
                          platforms=selectors.PLATFORMS, since=since)

    def asset_performance_view(self, request, asset_id):
        rollups = self._scoped(request)
        readings = scoping.visible(MetricReadback.objects.all(), request.user)
        series = selectors.asset_views_over_time(readings, asset_id)
        totals = selectors.asset_totals(rollups, asset_id)
        # The title through the readings the user may see (analytics reads assets only through its rows).
        asset_title = (readings.filter(publication__asset_id=asset_id)
                       .values_list("publication__asset__title", flat=True).first())
        charts = [asset_views_chart(series), asset_totals_chart(totals)]
        return self._page(request, charts, "admin/analytics/asset_performance.html",
                          f"Performance of asset {asset_id}", asset_id=asset_id, asset_title=asset_title)

    def _page(self, request, charts, template, title, **context):
        wanted = request.GET.get("csv")
        if wanted:
            chart = next((c for c in charts if c.id == wanted), None)
            if chart is None:
                raise Http404(f"no chart {wanted!r} on this page")
            response = HttpResponse(chart.csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{chart.id}.csv"'
            return response
        return admin_page(self, request, template, title, charts=charts, **context)


# --- charts (presentation of selector results)
def daily_views_chart(data) -> Chart:
    days = data["days"]
    platforms = sorted(data["series"])
    rows = [[day.isoformat(), *(data["series"][p][i] for p in platforms)] for i, day in enumerate(days)
            if any(data["series"][p][i] is not None for p in platforms)]
    return Chart(id="daily-views", title="Views gained per day, per platform", kind="line",
                 labels=[d.isoformat() for d in days],
                 datasets=[{"label": p, "data": data["series"][p]} for p in platforms],
                 columns=["day", *platforms], rows=rows, y_label="views")


def top_assets_chart(rows) -> Chart:
    return Chart(id="top-assets", title="Top assets this week (views gained in the last 7 days)", kind="bar",
                 labels=[r["title"] for r in rows], datasets=[{"label": "views", "data": [r["views"] for r in rows]}],
                 columns=["asset", "posts", *METRICS],
                 rows=[[r["title"], r["posts"], *(r[m] for m in METRICS)] for r in rows],
                 links=[reverse("admin:analytics_asset_performance", args=[r["asset_id"]]) for r in rows],
                 y_label="views")


def platform_chart(rows) -> Chart:
    return Chart(id="platforms", title="Platform comparison: views per asset", kind="bar",
                 labels=[r["platform"] for r in rows],
                 datasets=[{"label": "views per asset", "data": [r["views_per_asset"] for r in rows]}],
                 columns=["platform", "assets", "channels", "views per asset", *METRICS],
                 rows=[[r["platform"], r["assets"], r["channels"], r["views_per_asset"], *(r[m] for m in METRICS)]
                       for r in rows], y_label="views per asset")


def dimension_chart(name, rows) -> Chart:
    label = selectors.DIMENSIONS[name][0]
    return Chart(id=f"by-{name}", title=f"By {label.lower()}: views per asset", kind="bar",
                 labels=[f"{r['choice']} (n={r['assets']})" for r in rows],
                 datasets=[{"label": "views per asset", "data": [r["views_per_asset"] for r in rows]}],
                 columns=[label.lower(), "assets", "views per asset", *METRICS],
                 rows=[[r["choice"], r["assets"], r["views_per_asset"], *(r[m] for m in METRICS)] for r in rows],
                 note="n = the number of assets behind each figure.", y_label="views per asset")


def asset_views_chart(series) -> Chart:
    stamps = sorted({point["taken_at"] for points in series.values() for point in points})
    labels = [stamp.strftime("%Y-%m-%d %H:%M") for stamp in stamps]
    datasets = []
    for platform in sorted(series):
        at = {point["taken_at"]: point["views"] for point in series[platform]}
        datasets.append({"label": platform, "data": [at.get(stamp) for stamp in stamps]})
    rows = [[point["taken_at"].strftime("%Y-%m-%d %H:%M"), platform, point["channel"], point["views"],
             point["likes"], point["comments"], point["shares"]]
            for platform in sorted(series) for point in series[platform]]
    return Chart(id="views-over-time", title="Views over time, per platform", kind="line", labels=labels,
                 datasets=datasets, columns=["taken at (UTC)", "platform", "channel", "views", "likes", "comments",
                                             "shares"], rows=rows, y_label="views",
                 note="Each point is one reading; a missing figure is shown as — and left out of the line.")


def asset_totals_chart(rows) -> Chart:
    return Chart(id="asset-totals", title="Totals so far, per platform", kind="bar",
                 labels=[r["platform"] for r in rows], datasets=[{"label": m, "data": [r[m] for r in rows]}
                                                                 for m in ("views", "likes", "comments", "shares")],
                 columns=["platform", "last reading day", *METRICS],
                 rows=[[r["platform"], r["last_day"], *(r[m] for m in METRICS)] for r in rows])
