from django.conf import settings
from django.http import JsonResponse


def sandbox_gate(get_response):
    """The sandbox's fake providers answer only where PHANTOMS_SANDBOX is on (never in production)."""

    def middleware(request):
        if request.path.startswith("/sandbox/") and not settings.PHANTOMS_SANDBOX:
            return JsonResponse({"error": {"message": "the sandbox is disabled (PHANTOMS_SANDBOX=0)"}}, status=404)
        return get_response(request)

    return middleware
