"""Each asset's Idempotency-Key becomes a key of the user who sent it (its own transaction, before 0009)."""

import hashlib
import json

from django.db import migrations


def keys_to_their_senders(apps, schema_editor):
    """Each asset's key becomes a done key of the user who sent it (the system's when nobody did)."""
    asset_model = apps.get_model("pipeline", "Asset")
    key_model = apps.get_model("pipeline", "IdempotencyKey")
    keys = []
    for asset in asset_model.objects.exclude(idempotency_key=None).iterator():
        request = {"brief": asset.brief, "title": asset.title, "channels": sorted(asset.channels.values_list(
            "pk", flat=True)), "target_duration_seconds": asset.target_duration_seconds, "providers": asset.providers,
            "team": asset.team_id}
        keys.append(key_model(
            scope=f"user:{asset.created_by_id}" if asset.created_by_id else "system", key=asset.idempotency_key,
            fingerprint=hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest(), request=request,
            state="done", asset_id=asset.pk, created_at=asset.created_at, locked_at=asset.created_at))
    key_model.objects.bulk_create(keys)


class Migration(migrations.Migration):

    dependencies = [("pipeline", "0007_teams_roles_idempotency")]

    operations = [migrations.RunPython(keys_to_their_senders, migrations.RunPython.noop)]
