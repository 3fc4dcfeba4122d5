"""Re-encrypt every stored token with the first key of PHANTOMS_TOKEN_KEYS (README, "Connecting accounts").

Rotation: put a new key first in the list (keep the old ones after it), restart, run this command,
then drop the old key. Each row is rewritten in its own short transaction, locked, so a refresh
running meanwhile is neither lost nor overwritten.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from connections.models import AuthorizationRequest, Connection
from phantoms.encryption import UnreadableSecret, rotate

ENCRYPTED = {Connection: ("access_token", "refresh_token"), AuthorizationRequest: ("code_verifier",)}


class Command(BaseCommand):
    help = "Re-encrypt every stored platform token with the first key of PHANTOMS_TOKEN_KEYS."

    def handle(self, *args, **options):
        rotated = unreadable = 0
        for model, fields in ENCRYPTED.items():
            # Raw SQL on purpose: the model field would hand back decrypted Secrets and encrypt on write.
            quote = connection.ops.quote_name
            table = quote(model._meta.db_table)
            columns = [quote(model._meta.get_field(name).column) for name in fields]
            for pk in model.objects.values_list("pk", flat=True).iterator():
                with transaction.atomic(), connection.cursor() as cursor:
                    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
                    cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s{lock}", [pk])
                    row = cursor.fetchone()
                    if row is None:
                        continue
                    try:
                        fresh = [rotate(value or "") for value in row]
                    except UnreadableSecret:
                        unreadable += 1
                        continue
                    assignments = ", ".join(f"{column} = %s" for column in columns)
                    cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*fresh, pk])
                    rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} row(s) with the first key.")
        if unreadable:
            raise CommandError(f"{unreadable} row(s) could not be decrypted with any configured key: "
                               "put back the key they were written with")
