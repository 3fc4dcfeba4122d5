import json

from django.core.management.base import BaseCommand

from phantoms.engine.selectors import pipeline_status


class Command(BaseCommand):
    help = "Counts of assets and publications by state, queue depths, breaker states and dead letters."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print machine-readable JSON.")

    def handle(self, *args, **options):
        status = pipeline_status()
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2, sort_keys=True))
            return
        self.stdout.write("Assets:       " + _pairs(status["assets"]))
        self.stdout.write("Publications: " + _pairs(status["publications"]))
        self.stdout.write("Queues:")
        for name, depth in status["queues"].items():
            self.stdout.write(f"  {name:<13} queued={depth['queued']} scheduled={depth['scheduled']} "
                              f"started={depth['started']} failed={depth['failed']}")
        self.stdout.write("Breakers:")
        for breaker in status["breakers"]:
            self.stdout.write(f"  {breaker['name']:<10} {breaker['state']:<10} failures={breaker['fail_counter']}"
                              f"/{breaker['fail_max']} rejected={breaker['rejected_calls']}"
                              + (f" probe_at={breaker['probe_at']}" if breaker["probe_at"] else ""))
        letters = status["dead_letters"]
        self.stdout.write(f"Dead letters: {letters['open']} open " + _pairs(letters["by_stage"]))


def _pairs(counts: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"
