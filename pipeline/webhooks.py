"""The render service's callback: a nudge that a render finished, so the next poll runs now.

Shotstack's webhooks are not signed (see its "Webhooks" guide: a POST of `{"type": "edit", "action":
"render", "id", "owner", "status", "url", "error", "completed"}` to the edit's `callback`). So each
submission gets a callback URL of its own, `/webhooks/render/<token>/`, with an unguessable token
(32 random bytes); only its sha256 is stored (`Asset.render_callback_digest`). A callback is
accepted only with a current token, for that render's id, and only once: the first "done" or
"failed" callback spends the token, and any later delivery with it queues nothing.

The callback never finishes a render itself. It only records the render's id when the
submission's answer was lost (the asset is still "submitting" under this very token:
pipeline.services.renders), so the render is polled instead of submitted twice. PostgreSQL and
the poll stay the truth (a lost or forged callback cannot finish a render); an accepted one only
enqueues the render stage at once instead of waiting for the scheduled poll.
"""

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import RedisError

from phantoms.api.errors import json_error
from phantoms.api.parsers import BodyRejected, loads_bounded
from phantoms.engine.queueing import enqueue
from phantoms.engine.registry import get_stage
from pipeline.models import Asset
from pipeline.services.renders import USED_PREFIX, callback_digest, record_remote_render

logger = logging.getLogger(__name__)

FINISHED = ("done", "failed")


def _error(status: int, message: str, field: str = "") -> JsonResponse:
    # The API's one error shape (phantoms.api.errors).
    return json_error(status, message, fields={field: [message]} if field else None)


@csrf_exempt
def render_callback(request, token: str):
    if request.method != "POST":
        return json_error(405, f"Method {request.method} not allowed; POST a render callback", Allow="POST")
    digest = callback_digest(token)
    asset = (Asset.objects.filter(render_callback_digest__in=[digest, USED_PREFIX + digest])
             .only("pk", "state", "render_remote_id", "render_callback_digest").first())
    if asset is None:
        logger.warning("render callback with an unknown token refused")
        return _error(404, "unknown callback token")

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
    if body.get("type", "edit") != "edit":
        # Shotstack also reports copies to hosting destinations ("serve"); they say nothing about the render.
        return JsonResponse({"status": "ignored", "asset": asset.pk, "reason": f"a {body.get('type')} notification"})
    if not asset.render_remote_id and record_remote_render(asset.pk, digest, render_id, via="callback"):
        # The submission's answer never reached us (a timeout after sending, a worker lost): the
        # callback carries the submission's own token, so it names the render we paid for.
        logger.info("render %s adopted for asset %s from its callback", render_id, asset.pk)
        asset.render_remote_id = render_id
    if render_id != asset.render_remote_id:
        return _error(409, f"id: this callback URL belongs to render {asset.render_remote_id!r}, not {render_id!r}",
                      field="id")
    if status not in FINISHED:
        return JsonResponse({"status": "ignored", "asset": asset.pk, "reason": f"render is {status}"})

    # Spending the token is one conditional UPDATE: of two concurrent deliveries, one wins.
    spent = Asset.objects.filter(pk=asset.pk, render_callback_digest=digest).update(
        render_callback_digest=USED_PREFIX + digest)
    if not spent:
        return JsonResponse({"status": "duplicate", "asset": asset.pk})
    if asset.state != Asset.State.RENDERING:
        return JsonResponse({"status": "ignored", "asset": asset.pk, "reason": f"asset is {asset.state}"})
    try:
        # The runner claims the asset under a lease, so an extra run is harmless: at worst it skips.
        enqueue(get_stage("render"), asset.pk)
    except RedisError as exc:
        # Give the token back so the service's retry is heard; polling finishes the render meanwhile.
        Asset.objects.filter(pk=asset.pk, render_callback_digest=USED_PREFIX + digest).update(
            render_callback_digest=digest)
        logger.warning("render callback for %s not queued: %s", render_id, exc)
        return _error(503, f"queue unavailable: {exc}")
    logger.info("render %s %s: render stage of asset %s queued now", render_id, status, asset.pk)
    return JsonResponse({"status": "queued", "asset": asset.pk})
