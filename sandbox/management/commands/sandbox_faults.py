"""Change the sandbox's injected faults while everything keeps running."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from accounts.models import AuditEvent
from accounts.services import audit
from sandbox import faults

# option dest -> (fault field, kind)
OPTIONS = {
    "error_rate": ("error_rate", "rate"),
    "timeout_rate": ("timeout_rate", "rate"),
    "rate_limit_rate": ("rate_limit_rate", "rate"),
    "accept_then_timeout_rate": ("accept_then_timeout_rate", "rate"),
    "latency_ms": ("latency_ms", "count"),
    "retry_after": ("retry_after", "count"),
    "outage": ("outage", "switch"),
    "quota_exhausted": ("quota_exhausted", "switch"),
    "lost_answers_on_posts_only": ("lost_answers_on_posts_only", "switch"),
}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


class Command(BaseCommand):
    help = "Set, clear or show the faults the sandbox services inject (shared through Redis)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{set,clear,show}")
        set_parser = sub.add_parser("set", help="merge fault settings into one target")
        set_parser.add_argument("target", help=f"one of {', '.join(faults.TARGETS)}")
        for dest, (_, kind) in OPTIONS.items():
            metavar = {"rate": "F", "count": "N", "switch": "on|off"}[kind]
            set_parser.add_argument(_flag(dest), dest=dest, metavar=metavar, default=None)
        clear_parser = sub.add_parser("clear", help="remove the faults of one target, or of all")
        clear_parser.add_argument("target", nargs="?", default=None)
        sub.add_parser("show", help="print every target's faults")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "set":
            self._set(options)
        elif action == "clear":
            target = options["target"]
            self._check_target(target)
            faults.clear_faults(target)
            self._audit(target or "all", "cleared")
            self.stdout.write(f"cleared faults for {target or 'all targets'}")
        else:
            self._show()

    def _check_target(self, target: str | None) -> None:
        if target is not None and target not in faults.TARGETS:
            expected = ", ".join(faults.TARGETS)
            raise CommandError(f"TARGET: unknown target {target!r}, expected one of {expected}")

    def _set(self, options) -> None:
        target = options["target"]
        self._check_target(target)
        fields = {}
        for dest, (field, kind) in OPTIONS.items():
            raw = options.get(dest)
            if raw is None:
                continue
            flag = _flag(dest)
            if kind == "switch":
                if raw.lower() not in ("on", "off"):
                    raise CommandError(f"{flag}: expected on or off, got {raw!r}")
                fields[field] = raw.lower() == "on"
                continue
            try:
                value = float(raw)
            except ValueError:
                raise CommandError(f"{flag}: expected a number, got {raw!r}")
            if kind == "rate" and not 0.0 <= value <= 1.0:
                raise CommandError(f"{flag}: must be between 0 and 1, got {raw}")
            if kind == "count" and value < 0:
                raise CommandError(f"{flag}: must not be negative, got {raw}")
            fields[field] = value
        if not fields:
            raise CommandError("set: give at least one option, e.g. --error-rate 0.2")
        try:
            current = faults.set_faults(target, **fields)
        except ValueError as exc:
            raise CommandError(str(exc))
        self._audit(target, faults.describe(current), **{k: v for k, v in fields.items()})
        self.stdout.write(f"{target}: {faults.describe(current)}")

    def _audit(self, target: str, summary: str, **fields) -> None:
        audit.record(AuditEvent.Action.FAULTS_CHANGED, actor=f"{getpass.getuser()} (command line)",
                     target_type="sandbox", target_id=target, summary=f"{target}: {summary}", **fields)

    def _show(self) -> None:
        width = max(len(target) for target in faults.TARGETS)
        for target, current in faults.all_faults().items():
            calls = faults.call_count(target)
            self.stdout.write(f"{target:<{width}}  calls={calls:<6} {faults.describe(current)}")
