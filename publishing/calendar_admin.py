"""The calendar of posts (month and week) in the admin, and moving a scheduled post from it.

Times on the calendar are the site's (TIME_ZONE). Dragging a scheduled post to another day keeps its
time of day; the "Move" form sets a date and time. Both go through `publishing.scheduling.reschedule`,
which checks who may move it (phantoms/static/phantoms/calendar.js does the dragging).
"""

from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from phantoms.admin import admin_page
from publishing.models import Publication
from publishing.scheduling import SCHEDULE_PERMISSION, ScheduleError, reschedule
from publishing.selectors import calendar_posts

VIEWS = ("month", "week")
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class CalendarError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


def _parse_day(value: str, field: str = "date") -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CalendarError(field, f"{value!r} is not a date (YYYY-MM-DD)")


def _bounds(view: str, anchor: date) -> tuple[date, date, date, date]:
    """First and last shown day, and the previous and next anchors."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=6), anchor - timedelta(days=7), anchor + timedelta(days=7)
    month_start = anchor.replace(day=1)
    first = month_start - timedelta(days=month_start.weekday())
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    last_of_month = next_month - timedelta(days=1)
    last = last_of_month + timedelta(days=6 - last_of_month.weekday())
    previous_month = (month_start - timedelta(days=1)).replace(day=1)
    return first, last, previous_month, next_month


def _aware(day: date, at: time = time.min) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


class CalendarMixin:
    """For the publications admin: the calendar page and the move endpoint."""

    def get_urls(self):
        return [
            path("calendar/", self.admin_site.admin_view(self.calendar_view), name="publishing_publication_calendar"),
            path("<int:publication_id>/reschedule/", self.admin_site.admin_view(self.reschedule_view),
                 name="publishing_publication_reschedule"),
        ] + super().get_urls()

    def may_schedule(self, request) -> bool:
        return request.user.has_perm(SCHEDULE_PERMISSION)

    def calendar_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        view = request.GET.get("view", "month")
        today = timezone.localdate()
        if view not in VIEWS:
            messages.error(request, f"view: {view!r} is not one of {', '.join(VIEWS)}; showing the month.")
            view = "month"
        try:
            anchor = _parse_day(request.GET["date"]) if request.GET.get("date") else today
        except CalendarError as exc:
            messages.error(request, f"{exc}; showing today.")
            anchor = today
        first, last, previous, following = _bounds(view, anchor)
        posts = calendar_posts(request.user, _aware(first), _aware(last + timedelta(days=1)))
        can_move = self.may_schedule(request)
        by_day: dict[date, list] = {}
        for post in posts:
            local = timezone.localtime(post.calendar_at)
            by_day.setdefault(local.date(), []).append(self._entry(post, local, can_move))
        days = []
        day = first
        while day <= last:
            days.append({"date": day, "in_range": view == "week" or day.month == anchor.month,
                         "today": day == today, "posts": by_day.get(day, [])})
            day += timedelta(days=1)
        weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
        title = f"Calendar: {anchor:%B %Y}" if view == "month" else f"Calendar: week of {first:%d %b %Y}"
        return admin_page(self, request, "admin/publishing/publication/calendar.html", title,
                          weeks=weeks, view=view, anchor=anchor, previous=previous, following=following,
                          today=today, can_move=can_move, weekday_names=WEEKDAYS,
                          timezone_name=timezone.get_current_timezone_name(), here=request.get_full_path(),
                          count=sum(len(d["posts"]) for d in days))

    def _entry(self, post: Publication, local: datetime, can_move: bool) -> dict:
        movable = can_move and post.state == Publication.State.SCHEDULED
        return {
            "pk": post.pk, "time": f"{local:%H:%M}", "local": local.strftime(LOCAL_FORMAT), "state": post.state,
            "platform": post.channel.platform, "channel": str(post.channel), "title": str(post.asset),
            "asset_url": reverse("admin:pipeline_asset_change", args=[post.asset_id]),
            "movable": movable,
            "move_url": reverse("admin:publishing_publication_reschedule", args=[post.pk]) if movable else "",
        }

    def reschedule_view(self, request, publication_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        wants_json = "application/json" in request.headers.get("Accept", "")
        try:
            at = self._requested_time(request, publication_id)
            moved = reschedule(publication_id, at, user=request.user)
        except (CalendarError, ScheduleError) as exc:
            status = 403 if exc.__class__.__name__ == "NotAllowed" else 400
            return self._answer(request, wants_json, status, error=str(exc), field=getattr(exc, "field", ""))
        except Publication.DoesNotExist:
            return self._answer(request, wants_json, 404, error=f"publication {publication_id} does not exist")
        local = timezone.localtime(moved.scheduled_at)
        return self._answer(request, wants_json, 200, id=moved.pk, scheduled_at=moved.scheduled_at.isoformat(),
                            date=local.date().isoformat(), time=f"{local:%H:%M}", local=local.strftime(LOCAL_FORMAT),
                            message=f"{moved.channel}: {moved.asset} moved to {local:%a %d %b %H:%M}")

    def _requested_time(self, request, publication_id) -> datetime:
        if request.POST.get("scheduled_at"):
            value = request.POST["scheduled_at"]
            try:
                return timezone.make_aware(datetime.strptime(value, LOCAL_FORMAT))
            except ValueError:
                raise CalendarError("scheduled_at", f"{value!r} is not a date and time (YYYY-MM-DDTHH:MM)")
        if not request.POST.get("date"):
            raise CalendarError("date", "give the day to move the post to (or scheduled_at)")
        day = _parse_day(request.POST["date"])
        current = Publication.objects.filter(pk=publication_id).values_list("scheduled_at", flat=True).first()
        keep = timezone.localtime(current).time() if current else time(9, 0)
        return _aware(day, keep)

    def _answer(self, request, wants_json: bool, status: int, **body):
        if wants_json:
            return JsonResponse(body, status=status)
        if status == 200:
            messages.success(request, body["message"] + ".")
        else:
            messages.error(request, f"Not moved: {body['error']}")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse("admin:publishing_publication_calendar")
        return HttpResponseRedirect(back)
