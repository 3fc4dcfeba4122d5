"""What the sandbox platforms accepted, and how many of those posts were double posts."""

import json

from django.core.management.base import BaseCommand, CommandError

from sandbox import faults
from sandbox.models import SandboxPost
from sandbox.services import ledger_summary


class Command(BaseCommand):
    help = "List every post the sandbox platforms accepted, with a duplicate count."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.add_argument("--platform", choices=faults.PLATFORMS, default=None)

    def handle(self, *args, **options):
        platform = options["platform"]
        if platform is not None and platform not in faults.PLATFORMS:
            raise CommandError(f"--platform: unknown platform {platform!r}")
        posts = SandboxPost.objects.order_by("accepted_at", "id")
        if platform:
            posts = posts.filter(platform=platform)
        rows = [
            {"platform": post.platform, "remote_id": post.remote_id, "client_ref": post.client_ref,
             "asset_ref": post.asset_ref, "status": post.status, "response_lost": post.response_lost,
             "accepted_at": post.accepted_at.isoformat()}
            for post in posts
        ]
        summary = ledger_summary(platform)
        if options["json"]:
            self.stdout.write(json.dumps({"posts": rows, "summary": summary}, indent=2))
            return
        for row in rows:
            lost = "  (response lost)" if row["response_lost"] else ""
            self.stdout.write(
                f"{row['accepted_at']}  {row['platform']:<9}  {row['remote_id']:<16}  "
                f"client_ref={row['client_ref'] or '-'}  asset_ref={row['asset_ref'] or '-'}{lost}"
            )
        per_platform = ", ".join(
            f"{name}: {counts['posts']} posts/{counts['duplicates']} duplicates"
            for name, counts in sorted(summary["by_platform"].items())
        )
        self.stdout.write(
            f"{summary['posts']} posts, {summary['duplicates']} duplicates"
            + (f" ({per_platform})" if per_platform else "")
        )
