"""The render service's callback: a signed nudge that a render finished, so the next poll runs now.

The callback never changes an asset itself. PostgreSQL and the poll stay the truth (a lost or
forged callback cannot finish a render); a verified one only enqueues the render stage at once
instead of waiting for the scheduled poll.

Verification: `X-Phantoms-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` with
RENDER_WEBHOOK_SECRET, and `X-Phantoms-Timestamp` (epoch seconds) within the replay window. A
callback seen before (same render id and timestamp) is answered "duplicate" and ignored.
"""

import hashlib
import hmac
import logging
import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import RedisError

from phantoms.api.errors import json_error
from phantoms.api.parsers import BodyRejected, loads_bounded
from phantoms.engine.queueing import enqueue
from phantoms.engine.registry import get_stage
from phantoms.redis import get_redis
from pipeline.models import Asset

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Phantoms-Signature"
TIMESTAMP_HEADER = "X-Phantoms-Timestamp"
REPLAY_PREFIX = "phantoms:webhook:render"
FINISHED = ("done", "failed")


def _tolerance() -> int:
    return int(getattr(settings, "RENDER_WEBHOOK_TOLERANCE", 300))


def expected_signature(body: bytes, timestamp: str, secret: str) -> str:
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(body: bytes, timestamp: str, signature: str, *, now: float | None = None) -> str:
    """The problem with a callback's signature, or "" when it is genuine and fresh."""
    if not signature:
        return f"missing {SIGNATURE_HEADER} header"
    if not timestamp:
        return f"missing {TIMESTAMP_HEADER} header"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return f"{TIMESTAMP_HEADER} must be epoch seconds"
    now = time.time() if now is None else now
    if abs(now - sent_at) > _tolerance():
        return f"stale {TIMESTAMP_HEADER}: {int(now - sent_at)} s from now, outside the {_tolerance()} s window"
    expected = expected_signature(body, timestamp, settings.RENDER_WEBHOOK_SECRET)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return f"invalid {SIGNATURE_HEADER}"
    return ""


def first_delivery(render_id: str, timestamp: str) -> bool:
    """Remember a delivery for longer than the replay window; False if it was seen already."""
    key = f"{REPLAY_PREFIX}:{hashlib.sha256(render_id.encode()).hexdigest()[:32]}:{timestamp}"
    return bool(get_redis().set(key, "1", nx=True, ex=_tolerance() * 2))


def _error(status: int, message: str, field: str = "") -> JsonResponse:
    # The API's one error shape (phantoms.api.errors).
    return json_error(status, message, fields={field: [message]} if field else None)


@csrf_exempt
def render_callback(request):
    if request.method != "POST":
        return json_error(405, f"Method {request.method} not allowed; POST a render callback", Allow="POST")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    problem = verify(request.body, timestamp, request.headers.get(SIGNATURE_HEADER, ""))
    if problem:
        logger.warning("render callback rejected: %s", problem)
        return _error(403, problem)

    try:
        body = loads_bounded(request.body)
    except BodyRejected as exc:
        return _error(400, f"body: {exc}", field="body")
    if not isinstance(body, dict):
        return _error(400, "body: must be a JSON object", field="body")
    render_id, status = body.get("id"), body.get("status")
    if not isinstance(render_id, str) or not render_id.strip():
        return _error(400, "id: required, the render's id as a string", field="id")
    if not isinstance(status, str) or not status.strip():
        return _error(400, "status: required, the render's status as a string", field="status")
    status = status.strip().lower()

    asset = Asset.objects.filter(render_remote_id=render_id).only("pk", "state").first()
    if asset is None:
        return _error(404, f"no asset is waiting for render {render_id!r}")

    try:
        if not first_delivery(render_id, timestamp):
            return JsonResponse({"status": "duplicate", "asset": asset.pk})
        if status not in FINISHED:
            return JsonResponse({"status": "ignored", "asset": asset.pk, "reason": f"render is {status}"})
        if asset.state != Asset.State.RENDERING:
            return JsonResponse({"status": "ignored", "asset": asset.pk, "reason": f"asset is {asset.state}"})
        # The runner claims the asset under a lease, so an extra run is harmless: at worst it skips.
        enqueue(get_stage("render"), asset.pk)
    except RedisError as exc:
        # Ask the service to deliver again later; polling finishes the render meanwhile.
        logger.warning("render callback for %s not queued: %s", render_id, exc)
        return _error(503, f"queue unavailable: {exc}")
    logger.info("render %s %s: render stage of asset %s queued now", render_id, status, asset.pk)
    return JsonResponse({"status": "queued", "asset": asset.pk})
