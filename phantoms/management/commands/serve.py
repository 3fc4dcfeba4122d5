"""`manage.py serve`: the web process, on waitress (a production WSGI server) with a bounded thread pool.

    PHANTOMS_DB_POOL=on manage.py serve --listen 0.0.0.0:8000

waitress runs PHANTOMS_WEB_THREADS request threads and queues what exceeds them; each thread holds at
most one database connection, drawn from Django's psycopg pool (PostgreSQL, PHANTOMS_DB_POOL=on)
whose size is that same number. So the web process never opens more connections than it has
threads, under any load. (The development server starts a thread, and a connection, per request.)
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve Phantoms (admin, API, webhooks, the sandbox when enabled) with waitress."

    def add_arguments(self, parser):
        parser.add_argument("--listen", default="127.0.0.1:8000", help="HOST:PORT (default 127.0.0.1:8000)")

    def handle(self, *args, listen, **options):
        from waitress import serve

        from phantoms.wsgi import application

        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise CommandError(f"--listen: expected HOST:PORT, got {listen!r}")
        threads = settings.WEB_THREADS
        if threads < 1:
            raise CommandError(f"PHANTOMS_WEB_THREADS: at least 1, got {threads}")
        pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
        bound = f"at most {pool['max_size']} database connections (pool)" if pool else "no connection pool"
        self.stdout.write(f"Phantoms on http://{listen}/ with {threads} threads, {bound}")
        serve(application, listen=listen, threads=threads, ident="phantoms", clear_untrusted_proxy_headers=True)
