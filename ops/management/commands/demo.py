"""`make demo`: the whole system on one machine, on the embedded default, until Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from ops.sandbox_accounts import connect_sandbox_account
from pipeline.providers import describe_voice
from publishing.models import Channel

WORKER_GROUPS = [["script", "voice", "visuals"], ["render"], ["publish", "analytics"], ["housekeeping"]]
SAMPLE_BRIEFS = [
    "Three habits that make mornings easier",
    "Why cold brew tastes smoother than hot coffee",
    "A one-minute stretch for people who sit all day",
]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run web, the sandbox, one worker per queue group and the scheduler; submit sample briefs."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-briefs", action="store_true", help="Do not submit the sample briefs.")
        parser.add_argument("--password", default="phantoms", help="Password for the demo admin login.")

    def handle(self, *args, **options):
        port = options["port"]
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "REDIS_URL": settings.REDIS_URL,
            "PHANTOMS_SANDBOX": "1",
            "PHANTOMS_SANDBOX_URL": base,
            "PHANTOMS_RECONCILE_INTERVAL": os.environ.get("PHANTOMS_RECONCILE_INTERVAL", "30"),
            "PHANTOMS_PUBLISH_POLL_INTERVAL": os.environ.get("PHANTOMS_PUBLISH_POLL_INTERVAL", "2"),
            "PHANTOMS_METRIC_OFFSETS": os.environ.get("PHANTOMS_METRIC_OFFSETS", "60,600,3600"),
        }
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Voice: {describe_voice()}")
        self._ensure_admin(options["password"])
        channels = self._ensure_channels()
        api_key = self._fresh_api_token()
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # The web process (admin, API, the sandbox) on waitress with a bounded thread pool, and on
        # PostgreSQL a connection pool of the same size (README, "Database connections").
        web_env = {**env, "PHANTOMS_DB_POOL": "on", "PHANTOMS_DB_APPLICATION_NAME": "phantoms-web"}
        children = [subprocess.Popen(manage + ["serve", "--listen", f"127.0.0.1:{port}"], env=web_env)]
        commands = []
        for group in WORKER_GROUPS:
            commands.append(manage + ["rqworker", *group, "--worker-class", "phantoms.worker.Worker",
                                      "--with-scheduler", "--name", f"demo-{'-'.join(group)}-{os.getpid()}"])
        commands.append(manage + ["rqcron", "phantoms.cron"])
        worker_env = {**env, "PHANTOMS_DB_APPLICATION_NAME": "phantoms-worker"}
        children += [subprocess.Popen(cmd, env=worker_env) for cmd in commands]
        # SIGTERM (a supervisor, `timeout`) stops the demo like Ctrl-C: the children go with it.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._wait_ready(base)
            if not options["no_briefs"]:
                self._submit_briefs(channels)
            self.stdout.write(self.style.SUCCESS(
                f"\nPhantoms is running.\n"
                f"  Admin:        {base}/admin/   login: admin / {options['password']}\n"
                f"  Review queue: {base}/admin/pipeline/asset/review/\n"
                f"  API docs:     {base}/api/docs/\n"
                f"  API token:    Authorization: Bearer {api_key}  (role integration; shown once)\n"
                f"  Queues:       {base}/admin/rq/\n"
                f"  Status:       .venv/bin/python manage.py pipeline_status (REDIS_URL={settings.REDIS_URL})\n"
                f"Press Ctrl-C to stop.\n"))
            while all(child.poll() is None for child in children):
                time.sleep(1)
            self.stderr.write("a process exited; stopping the others")
        except KeyboardInterrupt:
            self.stdout.write("stopping…")
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()

    def _ensure_admin(self, password):
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()

    def _fresh_api_token(self) -> str:
        """A new integration token for the demo's team (earlier demo tokens are revoked)."""
        from accounts.models import IntegrationToken, Team
        from accounts.services.tokens import issue_token, revoke_token
        from accounts.teams import default_team_pk

        for token in IntegrationToken.objects.filter(name="demo integration", revoked=False):
            revoke_token(token.pk)
        _, key = issue_token(name="demo integration", team=Team.objects.get(pk=default_team_pk()))
        return key

    def _ensure_channels(self):
        channels = []
        for platform, label in Channel._meta.get_field("platform").choices:
            channel, _ = Channel.objects.get_or_create(
                platform=platform, account_id=f"demo-{platform}",
                defaults={"name": f"Demo {label}"})
            # Connected to a sandbox account with expiring tokens (Connected accounts in the admin).
            connect_sandbox_account(channel)
            channels.append(channel)
        return channels

    def _wait_ready(self, base):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"the web process did not become ready at {base}/readyz")

    def _submit_briefs(self, channels):
        from pipeline.services.briefs import submit_brief

        for index, brief in enumerate(SAMPLE_BRIEFS):
            asset, created = submit_brief(brief=brief, channels=channels, target_duration_seconds=12,
                                          idempotency_key=f"demo-sample-{index}")
            self.stdout.write(f"  brief {'submitted' if created else 'already there'}: asset {asset.pk} "
                              f"({asset.state}) {brief}")
