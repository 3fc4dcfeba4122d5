"""The `manage.py chaos` scenario on a small batch, driven by an in-process worker against the live sandbox."""

import django_rq
import pytest
from rq import SimpleWorker

from ops.chaos import ChaosConfig, Scenario
from publishing.models import Publication
from tests.helpers import promote_due_jobs, queues

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]


def test_small_scenario_reports_every_figure(chaos_settings):
    worker = SimpleWorker(queues(), connection=django_rq.get_connection("script"))

    def tick():
        promote_due_jobs()
        worker.work(burst=True, logging_level="WARNING")

    said = []
    config = ChaosConfig(assets=3, error_rate=0.3, rate_limit_rate=0.1, accept_then_timeout_rate=0.1, timeout=120)
    report = Scenario(config, tick=tick, say=said.append).run()

    assert report.assets_in == 3 and report.publications == 6
    assert report.lost == 0 and report.duplicates == 0 and report.ok
    assert report.final.count("published") == 3 and report.final.open_letters == 0
    assert report.posts == 6
    assert report.requeued == report.first.open_letters
    assert report.first.count("published", "partially_published", "failed") == 3
    assert Publication.objects.filter(state="published").count() == 6
    text = "\n".join(report.lines())
    assert "lost (never settled)         0" in text and "duplicate posts              0" in text
    assert text.endswith("OK: nothing lost, nothing posted twice")
    assert said[0].startswith("submitted 3 assets")


def test_kill_every_must_be_a_positive_number_of_seconds():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--kill-every: a number of seconds above 0"):
        call_command("chaos", "--kill-every", "0")
