"""Reads for the performance pages and the API: a fixed number of queries whatever the number of posts.

Figures come from the daily rollups (analytics.models.MetricRollup): a post's gains per day, so a
sum over a range of days is what the posts gained in it, and a sum over all days their totals.
Every figure that compares choices carries how many assets stand behind it.
"""

from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Sum
from django.utils import timezone

from analytics.models import METRICS, MetricReadback, MetricRollup

# Which choice each comparison groups assets by: a label and the asset field that holds it.
DIMENSIONS = {
    "template": ("Prompt template", "asset__prompt_template__name"),
    "model": ("Script model", "asset__script_model"),
    "voice": ("Voice", "asset__voice_provider"),
    "visuals": ("Visual provider", "asset__visuals_provider"),
}
PLATFORMS = ("youtube", "tiktok", "instagram", "x")


def rollups(queryset=None, *, asset=None, channel=None, platform=None, template=None, since=None, until=None):
    """Rollup rows narrowed by the usual filters (each optional); `since`/`until` are dates, inclusive."""
    qs = MetricRollup.objects.all() if queryset is None else queryset
    filters = {"asset_id": asset, "channel_id": channel, "platform": platform,
               "asset__prompt_template__name": template, "day__gte": since, "day__lte": until}
    return qs.filter(**{key: value for key, value in filters.items() if value not in (None, "")})


def readings(queryset=None, *, asset=None, channel=None, platform=None, template=None, since=None, until=None):
    qs = MetricReadback.objects.all() if queryset is None else queryset
    filters = {"publication__asset_id": asset, "publication__channel_id": channel,
               "publication__channel__platform": platform, "publication__asset__prompt_template__name": template,
               "taken_at__gte": since, "taken_at__lte": until}
    return qs.filter(**{key: value for key, value in filters.items() if value not in (None, "")})


def _sums():
    return {name: Sum(name) for name in METRICS}


def week_start(today: date | None = None) -> date:
    return (today or timezone.now().date()) - timedelta(days=6)


def top_assets(queryset, *, since: date, limit: int = 10) -> list[dict]:
    """The assets whose posts gained the most views since `since`: one query."""
    rows = (queryset.filter(day__gte=since, views__isnull=False).values("asset_id", "asset__title")
            .annotate(**_sums(), posts=Count("channel", distinct=True)).order_by("-views", "asset_id")[:limit])
    return [{"asset_id": r["asset_id"], "title": r["asset__title"] or f"asset {r['asset_id']}",
             "posts": r["posts"], **{m: r[m] for m in METRICS}} for r in rows]


def platform_comparison(queryset) -> list[dict]:
    """Per platform: totals of every metric, the assets and channels behind them, views per asset. One query."""
    rows = (queryset.values("platform").annotate(**_sums(), assets=Count("asset", distinct=True),
                                                 channels=Count("channel", distinct=True))
            .order_by("platform"))
    return [{"platform": r["platform"], "assets": r["assets"], "channels": r["channels"],
             **{m: r[m] for m in METRICS}, "views_per_asset": _ratio(r["views"], r["assets"])} for r in rows]


def comparison(queryset, dimension: str) -> list[dict]:
    """Per choice of `dimension` (template, model, voice, visuals): totals, assets behind them, views per asset."""
    label, field = DIMENSIONS[dimension]
    rows = (queryset.values(field).annotate(**_sums(), assets=Count("asset", distinct=True))
            .order_by(field))
    result = [{"choice": r[field] or "(none)", "assets": r["assets"], **{m: r[m] for m in METRICS},
               "views_per_asset": _ratio(r["views"], r["assets"])} for r in rows]
    return sorted(result, key=lambda r: (-(r["views_per_asset"] or 0), r["choice"]))


def daily_views(queryset, *, since: date, until: date) -> dict:
    """{"days": [...], "series": {platform: [views gained per day]}}: one query."""
    rows = (queryset.filter(day__gte=since, day__lte=until).values("day", "platform")
            .annotate(views=Sum("views")).order_by("day", "platform"))
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    series: dict[str, list] = {}
    for r in rows:
        series.setdefault(r["platform"], [None] * len(days))[index[r["day"]]] = r["views"]
    return {"days": days, "series": series}


def asset_views_over_time(readings_queryset, asset_id) -> dict:
    """Each platform's cumulative views of one asset at each reading: {platform: [(taken_at, views)]}. One query."""
    rows = (readings_queryset.filter(publication__asset_id=asset_id, state=MetricReadback.State.TAKEN)
            .order_by("taken_at", "pk")
            .values_list("publication__channel__platform", "publication__channel__name", "taken_at", "views",
                         "likes", "comments", "shares"))
    series: dict[str, list] = {}
    for platform, channel, taken_at, views, likes, comments, shares in rows:
        series.setdefault(platform, []).append({"channel": channel, "taken_at": taken_at, "views": views,
                                                "likes": likes, "comments": comments, "shares": shares})
    return series


def asset_totals(queryset, asset_id) -> list[dict]:
    """Per platform, the asset's totals so far (the sum of its daily gains). One query."""
    rows = (queryset.filter(asset_id=asset_id).values("platform").annotate(**_sums(), last_day=Max("day"))
            .order_by("platform"))
    return [{"platform": r["platform"], "last_day": r["last_day"], **{m: r[m] for m in METRICS}} for r in rows]


def _ratio(total, count):
    return round(total / count, 1) if total is not None and count else None


def as_date(value: datetime | date | None):
    return value.date() if isinstance(value, datetime) else value
