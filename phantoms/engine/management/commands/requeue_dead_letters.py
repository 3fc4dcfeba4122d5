from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from phantoms.engine import registry
from phantoms.engine.selectors import filter_dead_letters
from phantoms.engine.services.dead_letters import requeue


class Command(BaseCommand):
    help = "Requeue open dead letters (filtered), printing a table of what was done."

    def add_arguments(self, parser):
        # A misspelt filter would match nothing and look like "nothing to requeue": refuse it instead.
        stages, platforms = registry.stage_names(), registry.platform_names()
        parser.add_argument("--stage", choices=stages, help=", ".join(stages))
        parser.add_argument("--queue", choices=settings.PIPELINE_QUEUES, help="the RQ queue the stage runs on")
        parser.add_argument("--platform", choices=platforms, help=", ".join(platforms))
        parser.add_argument("--error-class", help="transient, permanent, needs_attention, ...")
        parser.add_argument("--since", help="only letters that last failed at or after this ISO time")
        parser.add_argument("--limit", type=int, help="requeue at most N letters (oldest first)")
        parser.add_argument("--dry-run", action="store_true", help="print what would be requeued; change nothing")

    def handle(self, *args, **options):
        since = None
        if options["since"]:
            try:
                since = parse_datetime(options["since"])
            except ValueError as exc:  # well formed but impossible, e.g. month 13
                raise CommandError(f"--since: {options['since']!r} is not a valid date-time ({exc})")
            if since is None:
                raise CommandError(f"--since: {options['since']!r} is not an ISO date-time (e.g. 2026-01-31T08:00Z)")
            if timezone.is_naive(since):
                since = timezone.make_aware(since)  # in TIME_ZONE, rather than a naive-datetime warning
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit: must be a positive number")
        letters = filter_dead_letters(stage=options["stage"], queue=options["queue"], platform=options["platform"],
                                 error_class=options["error_class"], since=since)
        if options["limit"]:
            letters = letters[: options["limit"]]
        letters = list(letters)
        header = f"{'id':>6}  {'asset':>6}  {'stage':<9} {'platform':<9} {'error':<16} {'attempts':>8}  result"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        done = 0
        for letter in letters:
            if options["dry_run"]:
                result = "would requeue"
            else:
                outcome = requeue(letter.pk, user="manage.py requeue_dead_letters")
                done += outcome.requeued
                result = ("requeued: " if outcome.requeued else "skipped: ") + outcome.detail
            self.stdout.write(f"{letter.pk:>6}  {letter.asset_id:>6}  {letter.stage:<9} {letter.platform or '-':<9} "
                              f"{letter.error_class:<16} {letter.attempts:>8}  {result}")
        verb = "would requeue" if options["dry_run"] else "requeued"
        self.stdout.write(f"{verb} {len(letters) if options['dry_run'] else done} of {len(letters)} dead letter(s)")
