"""Periodic housekeeping for `manage.py rqcron phantoms.cron` (the scheduler process)."""

from django.conf import settings
from rq import cron

from connections.jobs import keep_connections_alive
from phantoms.engine.jobs import reconcile
from pipeline.jobs import send_notifications

cron.register(reconcile, "housekeeping", interval=settings.RECONCILE_INTERVAL, job_timeout=300)
# One batch of notifications every NOTIFY_BATCH_MINUTES (pipeline.services.notify).
cron.register(send_notifications, "housekeeping", interval=settings.NOTIFY_BATCH_MINUTES * 60, job_timeout=120)
# Idle channels' tokens refreshed before they lapse (connections.services.keep_idle_connections_alive).
cron.register(keep_connections_alive, "housekeeping", interval=int(settings.CONNECTIONS_KEEPALIVE_HOURS * 3600),
              job_timeout=600)
