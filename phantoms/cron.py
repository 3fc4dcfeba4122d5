"""Periodic housekeeping for `manage.py rqcron phantoms.cron` (the scheduler process)."""

from django.conf import settings
from rq import cron

from phantoms.engine.jobs import reconcile
from pipeline.jobs import send_notifications

cron.register(reconcile, "housekeeping", interval=settings.RECONCILE_INTERVAL, job_timeout=300)
# One batch of notifications every NOTIFY_BATCH_MINUTES (pipeline.services.notify).
cron.register(send_notifications, "housekeeping", interval=settings.NOTIFY_BATCH_MINUTES * 60, job_timeout=120)
