"""The project's own small pages: where `/` and `/favicon.ico` lead, the admin home's live dashboard."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static


def favicon(request):
    # Resolved per request: the hashed name exists only once collectstatic has run.
    return HttpResponsePermanentRedirect(static("phantoms/favicon.svg"))


@staff_member_required
def admin_dashboard(request):
    """The admin home's pipeline dashboard alone, which the home page fetches to stay live."""
    return render(request, "admin/phantoms/dashboard.html")
