import argparse
import random
import time

from django.core.management.base import BaseCommand, CommandError

from ops.chaos import PLATFORMS, ChaosConfig, LocalSystem, Scenario, workers_alive


def outage(value: str) -> tuple[str, float]:
    platform, _, seconds = value.partition(":")
    try:
        return platform, float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PLATFORM:SECONDS (e.g. tiktok:60), got {value!r}")


class Command(BaseCommand):
    help = ("Run a chaos scenario against the running system (or start one for the run): faults on every "
            "sandbox platform, a batch of briefs approved as they reach review, then faults cleared and dead "
            "letters requeued. Prints a report; exits non-zero if an asset was lost or posted twice.")

    def add_arguments(self, parser):
        parser.add_argument("--assets", type=int, default=40)
        parser.add_argument("--error-rate", type=float, default=0.3, help="transient 500s (default 0.3)")
        parser.add_argument("--rate-limit-rate", type=float, default=0.1, help="429s (default 0.1)")
        parser.add_argument("--accept-then-timeout-rate", type=float, default=0.1,
                            help="posts recorded but the response lost (default 0.1)")
        parser.add_argument("--outage", type=outage, metavar="PLATFORM:SECONDS",
                            help=f"one platform fully down for a while ({', '.join(PLATFORMS)})")
        parser.add_argument("--timeout", type=float, default=900.0,
                            help="seconds to wait for the batch to settle, before and after the requeue")
        parser.add_argument("--real-render", action="store_true", help="render with ffmpeg, not the instant copy")
        parser.add_argument("--kill-every", type=float, metavar="SECONDS",
                            help="SIGKILL a random stage worker this often (and start another), when the run "
                                 "starts its own system; its workers listen on two queues, so kills land "
                                 "around dequeue as well as mid-stage")

    def handle(self, *args, **options):
        try:
            config = ChaosConfig(assets=options["assets"], error_rate=options["error_rate"],
                                 rate_limit_rate=options["rate_limit_rate"],
                                 accept_then_timeout_rate=options["accept_then_timeout_rate"],
                                 outage=options["outage"], timeout=options["timeout"],
                                 real_render=options["real_render"])
        except ValueError as exc:
            raise CommandError(str(exc))
        kill_every = options["kill_every"]
        if kill_every is not None and kill_every <= 0:
            raise CommandError("--kill-every: a number of seconds above 0")
        say = self.stdout.write
        if workers_alive():
            if kill_every:
                raise CommandError("--kill-every: only when the run starts its own system (no worker is running)")
            say("workers are running: driving the system that is up")
            report = Scenario(config, say=say).run()
            kills = 0
        else:
            with LocalSystem(say=say) as system:
                report = Scenario(config, say=say, tick=self._killer(system, kill_every, say)).run()
                kills = system.kills
        for line in report.lines():
            say(line)
        if kill_every:
            say(f"  worker kills             {kills:>5}")
        if not report.ok:
            raise CommandError(f"{report.lost} asset(s) lost, {report.duplicates} duplicate post(s)")

    @staticmethod
    def _killer(system, every, say):
        rng = random.Random()
        next_kill = [time.monotonic() + every] if every else [None]

        def tick():
            time.sleep(1.0)
            if next_kill[0] is not None and time.monotonic() >= next_kill[0]:
                say(f"  killed a worker on {system.kill_a_worker(rng)}")
                next_kill[0] = time.monotonic() + rng.uniform(0.5, 1.5) * every
        return tick
