"""Periodic housekeeping for `manage.py rqcron phantoms.cron` (the scheduler process)."""

from django.conf import settings
from rq import cron

from phantoms.engine.jobs import reconcile

cron.register(reconcile, "housekeeping", interval=settings.RECONCILE_INTERVAL, job_timeout=300)
