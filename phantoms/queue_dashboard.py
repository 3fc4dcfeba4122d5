"""django-rq's queue dashboard at /admin/rq/, for operators only, and never a 500 for a bad index.

django-rq lets in any staff user; emptying a queue is an operator's decision (`django_rq.admin`,
held by the operator role). Its views index lists with the number in the URL, so a number past
the end is answered 404 here rather than an IndexError.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import URLPattern, reverse
from django_rq import urls as rq_urls
from django_rq.connection_utils import get_unique_connection_configs
from django_rq.queues import get_queues_list
from rq.exceptions import NoSuchJobError

QUEUE_PERMISSION = "django_rq.admin"


def _limits() -> dict[str, int]:
    queues = len(get_queues_list())
    return {"queue_index": queues, "scheduler_index": queues,
            "connection_index": len(get_unique_connection_configs())}


def operator_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not user.has_perm(QUEUE_PERMISSION):
            raise PermissionDenied
        for name, limit in _limits().items():
            if name in kwargs and not 0 <= int(kwargs[name]) < limit:
                raise Http404(f"no {name.replace('_', ' ')} {kwargs[name]}")
        try:
            return view(request, *args, **kwargs)
        except (IndexError, NoSuchJobError) as exc:
            raise Http404(str(exc))

    return wrapped


def urlpatterns() -> list[URLPattern]:
    patterns = []
    for pattern in rq_urls.urlpatterns:
        patterns.append(URLPattern(pattern.pattern, operator_only(pattern.callback), pattern.default_args,
                                   pattern.name))
    return patterns
