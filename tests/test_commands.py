"""`manage.py requeue_dead_letters` and `manage.py pipeline_status` as the README describes them."""

import json
from datetime import timedelta
from io import StringIO

import django_rq
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from phantoms.engine.models import DeadLetter
from phantoms.resilience.breakers import get_breaker
from pipeline.models import Asset
from publishing.models import Publication
from tests.factories import (
    make_asset,
    make_channel,
    make_failed_asset,
    make_letter,
    make_publication_in,
    make_publishing_asset,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a command (its on_commit enqueues included) and return what it printed."""

    def go(*args) -> str:
        out = StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command(*args, stdout=out)
        return out.getvalue()

    return go


def table_rows(output: str) -> dict[int, str]:
    """The letter rows of the printed table, by letter id."""
    rows = {}
    for line in output.splitlines():
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        if first.isdigit():
            rows[int(first)] = line
    return rows


def open_ids() -> set[int]:
    return set(DeadLetter.objects.filter(status=DeadLetter.Status.OPEN).values_list("pk", flat=True))


@pytest.fixture
def letters():
    """Four open letters: script (3 days old), render, and publish on TikTok and on YouTube."""
    now = timezone.now()
    script = make_letter(make_failed_asset("script"), stage="script", last_failed_at=now - timedelta(days=3))
    render = make_letter(make_failed_asset("render"), stage="render", last_failed_at=now - timedelta(hours=2))
    publishing = make_failed_asset("publish")
    tiktok = make_letter(publishing, stage="publish", publication=make_publication_in(
        publishing, make_channel("tiktok"), Publication.State.FAILED), last_failed_at=now - timedelta(hours=1))
    youtube = make_letter(publishing, stage="publish", publication=make_publication_in(
        publishing, make_channel("youtube"), Publication.State.NEEDS_ATTENTION), error_class="needs_attention")
    return {"script": script, "render": render, "tiktok": tiktok, "youtube": youtube}


def test_dry_run_lists_the_letters_and_changes_nothing(run, letters):
    output = run("requeue_dead_letters", "--dry-run")
    rows = table_rows(output)
    assert set(rows) == {letter.pk for letter in letters.values()}
    tiktok = rows[letters["tiktok"].pk]
    assert "publish" in tiktok and "tiktok" in tiktok and "transient" in tiktok and "would requeue" in tiktok
    assert str(letters["tiktok"].asset_id) in tiktok
    assert "would requeue 4 of 4 dead letter(s)" in output
    assert open_ids() == {letter.pk for letter in letters.values()}
    assert set(Asset.objects.values_list("state", flat=True)) == {Asset.State.FAILED}
    assert sum(django_rq.get_queue(name).count for name in settings.PIPELINE_QUEUES) == 0


def test_requeue_by_stage(run, letters):
    output = run("requeue_dead_letters", "--stage", "script")
    assert set(table_rows(output)) == {letters["script"].pk}
    assert "requeued 1 of 1" in output
    assert open_ids() == {letters[k].pk for k in ("render", "tiktok", "youtube")}
    assert Asset.objects.get(pk=letters["script"].asset_id).state == Asset.State.SCRIPTING
    assert django_rq.get_queue("script").count == 1
    assert Asset.objects.get(pk=letters["render"].asset_id).state == Asset.State.FAILED


def test_requeue_by_platform(run, letters):
    output = run("requeue_dead_letters", "--platform", "youtube")
    assert set(table_rows(output)) == {letters["youtube"].pk}
    publication = letters["youtube"].publication
    publication.refresh_from_db()
    assert publication.state == Publication.State.PENDING
    assert Asset.objects.get(pk=letters["youtube"].asset_id).state == Asset.State.PUBLISHING
    assert Publication.objects.get(pk=letters["tiktok"].publication_id).state == Publication.State.FAILED
    assert django_rq.get_queue("publish").count == 1
    letter = DeadLetter.objects.get(pk=letters["youtube"].pk)
    assert letter.status == DeadLetter.Status.REQUEUED and letter.requeued_by == "manage.py requeue_dead_letters"


def test_requeue_since(run, letters):
    since = (timezone.now() - timedelta(hours=3)).isoformat()
    output = run("requeue_dead_letters", "--since", since, "--dry-run")
    assert set(table_rows(output)) == {letters[k].pk for k in ("render", "tiktok", "youtube")}


def test_a_naive_since_is_read_in_the_site_time_zone(run, letters):
    since = (timezone.now() - timedelta(hours=3)).astimezone(timezone.get_default_timezone())
    output = run("requeue_dead_letters", "--since", since.replace(tzinfo=None).isoformat(), "--dry-run")
    assert set(table_rows(output)) == {letters[k].pk for k in ("render", "tiktok", "youtube")}


def test_limit_takes_the_oldest_first(run, letters):
    output = run("requeue_dead_letters", "--limit", "2")
    assert set(table_rows(output)) == {letters["script"].pk, letters["render"].pk}
    assert "requeued 2 of 2" in output
    assert open_ids() == {letters["tiktok"].pk, letters["youtube"].pk}


def test_filters_combine(run, letters):
    output = run("requeue_dead_letters", "--stage", "publish", "--queue", "publish", "--platform", "tiktok",
                 "--error-class", "transient")
    assert set(table_rows(output)) == {letters["tiktok"].pk}


@pytest.mark.parametrize("since", ["yesterday", "2026-13-45T00:00", "31/01/2026"])
def test_a_bad_since_is_an_error_naming_since(run, letters, since):
    with pytest.raises(CommandError, match="--since"):
        run("requeue_dead_letters", "--since", since)
    assert len(open_ids()) == 4


@pytest.mark.parametrize(("option", "value"), [("--stage", "scrpit"), ("--platform", "myspace"),
                                               ("--queue", "publsh")])
def test_an_unknown_filter_value_is_an_error_naming_the_option(run, letters, option, value):
    with pytest.raises(CommandError, match=f"{option}: invalid choice: '{value}'"):
        run("requeue_dead_letters", option, value)
    assert len(open_ids()) == 4


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_a_limit_below_one_is_an_error(run, letters, limit):
    with pytest.raises(CommandError, match="--limit"):
        run("requeue_dead_letters", "--limit", limit)
    assert len(open_ids()) == 4


def test_running_it_twice_requeues_once(run, letters):
    first = run("requeue_dead_letters")
    second = run("requeue_dead_letters")
    assert "requeued 4 of 4" in first
    assert table_rows(second) == {} and "requeued 0 of 0" in second
    assert open_ids() == set()
    script_asset = Asset.objects.get(pk=letters["script"].asset_id)
    assert script_asset.transitions.filter(from_state="failed").count() == 1
    publishing = Asset.objects.get(pk=letters["tiktok"].asset_id)
    assert publishing.transitions.filter(from_state="failed", to_state="publishing").count() == 1
    assert [django_rq.get_queue(q).count for q in ("script", "render", "publish")] == [1, 1, 2]


def test_nothing_to_requeue_says_so(run):
    output = run("requeue_dead_letters")
    assert "requeued 0 of 0 dead letter(s)" in output


@pytest.fixture
def status_rows():
    for _ in range(2):
        make_asset(Asset.State.SCRIPTING)
    make_asset(Asset.State.AWAITING_REVIEW)
    render_failed = make_failed_asset("render")
    make_letter(render_failed, stage="render")
    make_letter(make_failed_asset("voice"), stage="voice", status=DeadLetter.Status.DISCARDED)
    publishing = make_publishing_asset()
    make_publication_in(publishing, make_channel(), Publication.State.PUBLISHED)
    make_publication_in(publishing, make_channel(), Publication.State.PENDING)
    django_rq.get_queue("voice").enqueue("phantoms.engine.jobs.run_stage", 1, "voice")
    get_breaker("youtube").force_open("test")


def test_pipeline_status_json(run, status_rows):
    status = json.loads(run("pipeline_status", "--json"))
    assert set(status) == {"assets", "publications", "readbacks", "queues", "breakers", "dead_letters"}
    assert status["assets"] == {"scripting": 2, "awaiting_review": 1, "failed": 2, "publishing": 1}
    assert status["publications"] == {"published": 1, "pending": 1}
    assert status["dead_letters"] == {"open": 1, "by_stage": {"render": 1}}
    assert set(status["queues"]) == set(settings.PIPELINE_QUEUES)
    assert status["queues"]["voice"] == {"queued": 1, "scheduled": 0, "started": 0, "failed": 0}
    breakers = {b["name"]: b["state"] for b in status["breakers"]}
    assert set(breakers) == set(settings.BREAKERS) and breakers["youtube"] == "open"


def test_pipeline_status_text(run, status_rows):
    output = run("pipeline_status")
    lines = output.splitlines()
    assert "Assets:       awaiting_review=1, failed=2, publishing=1, scripting=2" in lines
    assert "Publications: pending=1, published=1" in lines
    assert any(line.split()[:2] == ["voice", "queued=1"] for line in lines)
    assert any(line.split()[:2] == ["youtube", "open"] for line in lines)
    assert "Dead letters: 1 open render=1" in lines


def test_pipeline_status_on_an_empty_system(run):
    status = json.loads(run("pipeline_status", "--json"))
    assert status["assets"] == {} and status["publications"] == {}
    assert status["dead_letters"] == {"open": 0, "by_stage": {}}
    assert "Assets:       none" in run("pipeline_status")
