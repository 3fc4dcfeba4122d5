from django.conf import settings
from django.http import JsonResponse

from phantoms.api.errors import json_error

# Paths that answer in JSON: the integration API and the webhooks.
JSON_PREFIXES = ("/api/", "/webhooks/")


def sandbox_gate(get_response):
    """The sandbox's fake providers answer only where PHANTOMS_SANDBOX is on (never in production)."""

    def middleware(request):
        if request.path.startswith("/sandbox/") and not settings.PHANTOMS_SANDBOX:
            return JsonResponse({"error": {"message": "the sandbox is disabled (PHANTOMS_SANDBOX=0)"}}, status=404)
        return get_response(request)

    return middleware


def api_body_limits(get_response):
    """Under the JSON paths, a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a JSON 413 before anything reads it."""

    def middleware(request):
        if request.path.startswith(JSON_PREFIXES):
            raw = request.META.get("CONTENT_LENGTH") or "0"
            if not raw.isdigit():
                return json_error(400, "Content-Length: must be a whole number of bytes",
                                  fields={"Content-Length": ["must be a whole number of bytes"]})
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is not None and int(raw) > limit:
                return json_error(413, f"body: larger than the {limit} bytes this API accepts",
                                  fields={"body": [f"at most {limit} bytes"]})
        return get_response(request)

    return middleware
