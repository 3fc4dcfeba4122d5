"""A remote render's id, recorded once for the submission it belongs to.

A submission to the render service is recorded as intent first (`render_spec["remote"]["status"]
== "submitting"` and the sha256 of the submission's own callback token in
`Asset.render_callback_digest`), committed before the POST. The id the service gives back is then
written only to the asset whose current digest is that submission's: the digest, not the stage's
lease, is the guard, so a worker that lost its lease while the POST was on the wire still records
the render it paid for, and a later submission (a new digest) can never be overwritten by an
earlier one's late answer. The render service's callback carries the token too, so when the POST's
answer was lost altogether the callback adopts the id through the same function
(docs/architecture.md, "Truth and transport").
"""

import hashlib

from django.db import transaction
from django.utils import timezone

from pipeline.models import Asset

USED_PREFIX = "used:"
SUBMITTING = "submitting"
# Rough progress for the admin once the service has the render.
SUBMITTED_PROGRESS = 0.02


def callback_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def record_remote_render(asset_pk: int, digest: str, render_id: str, *, via: str) -> bool:
    """Record `render_id` as the asset's render if the submission with this digest is still the asset's own.

    True when the asset now names `render_id` (recorded now, or already); False when the asset has
    moved on to another submission or another render, which leaves that render an orphan at the
    service (the Shotstack Edit API has no cancel call). `via` says who learned the id ("submit",
    "callback") and is kept with the render's bookkeeping.
    """
    with transaction.atomic():
        asset = (Asset.objects.select_for_update()
                 .filter(pk=asset_pk, render_callback_digest__in=[digest, USED_PREFIX + digest])
                 .only("pk", "render_spec", "render_remote_id").first())
        if asset is None:
            return False
        if asset.render_remote_id:
            return asset.render_remote_id == render_id
        stored = asset.render_spec or {}
        remote = dict(stored.get("remote") or {})
        if remote.get("status") != SUBMITTING:
            return False
        remote.update(id=render_id, status="submitted", polls=0, recorded_via=via,
                      submitted_at=remote.get("submitting_at") or timezone.now().isoformat())
        Asset.objects.filter(pk=asset_pk).update(render_spec={**stored, "remote": remote},
                                                 render_remote_id=render_id, render_progress=SUBMITTED_PROGRESS,
                                                 updated_at=timezone.now())
    return True
