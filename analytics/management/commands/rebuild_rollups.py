from django.core.management.base import BaseCommand

from analytics.services import rebuild_rollups


class Command(BaseCommand):
    help = "Recompute the daily metric rollups from the readings (after an import or a repair)."

    def handle(self, *args, **options):
        rows = rebuild_rollups()
        self.stdout.write(f"rollups rebuilt from {rows} reading(s)")
