"""URL-level answers (no view matched, or a view crashed): JSON under the JSON paths, Django's pages elsewhere."""

from django.views import defaults

from phantoms.api.errors import json_error
from phantoms.middleware import JSON_PREFIXES


def not_found(request, exception=None):
    if request.path.startswith(JSON_PREFIXES):
        return json_error(404, f"No endpoint at {request.path}")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith(JSON_PREFIXES):
        return json_error(500, "The server failed to answer; the error is logged.")
    return defaults.server_error(request)


def bad_request(request, exception=None):
    if request.path.startswith(JSON_PREFIXES):
        return json_error(400, "The request could not be read.")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if request.path.startswith(JSON_PREFIXES):
        return json_error(403, "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)
