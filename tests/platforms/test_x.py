"""X posts with video over the X API v2, against the sandbox.

Happy path, an upload interrupted mid-way resumed after the last acknowledged segment (each byte
acknowledged is sent once), each throttling signal as a deferral, a rejection carrying X's own
message, processing that never finishes, the lost answer of POST /2/tweets found again by our media
key (and LOST_ANSWER_RUNS runs with faults at random moments: 100, or 1,000 in `make chaos`), and
the metrics read. Tests named `live` speak HTTP over loopback to the live sandbox; the others call
the sandbox's WSGI app in-process (`local`).
"""

import random
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from phantoms.engine.models import DeadLetter
from phantoms.resilience.breakers import get_breaker
from phantoms.resilience.errors import PermanentError, RateLimited, UnknownOutcome
from publishing.models import Publication
from publishing.platforms.x import X
from sandbox import faults
from sandbox.models import SandboxObject, SandboxPost
from sandbox.views.platforms import x as x_sandbox
from tests.factories import make_channel
from tests.helpers import LOST_ANSWER_RUNS
from tests.platforms.drive import step
from tests.platforms.harness import Store, publish_until_done, request_for, run_publish_stage
from tests.platforms.recording import assert_sent

live = pytest.mark.django_db(transaction=True)
local_db = pytest.mark.django_db
TEXT = "A description #tips"


def x(segment_bytes: int | None = None):
    adapter = X(make_channel("x", account_id="2244994945", access_token="x-user-token"))
    if segment_bytes:
        adapter.segment_bytes = segment_bytes
    return adapter


def calls(transport) -> list[str]:
    return [f"{r.method} {r.url.path.split('/platforms/x/')[1]}" for r in transport.requests]


def posts() -> list[str]:
    return list(SandboxPost.objects.filter(platform="x").values_list("remote_id", flat=True))


def media_rows():
    return SandboxObject.objects.filter(platform="x", kind="media")


@live
def test_live_a_video_post_is_made_once_after_upload_and_processing(live_transport, media_file, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0.3  # finalize answers processing_info; STATUS is polled
    adapter, store = x(segment_bytes=2048), Store()
    posted = publish_until_done(adapter, media_file, store, pause=0.1).posted
    assert posted.status == "published" and posted.url == f"https://x.com/i/web/status/{posted.id}"
    post = SandboxPost.objects.get(platform="x")
    assert post.remote_id == posted.id and post.caption == TEXT
    assert post.size_bytes == media_file.stat().st_size
    media_id = store.values["media_id"]
    segments = -(-media_file.stat().st_size // 2048)
    sent = calls(live_transport)
    assert sent[0] == "POST 2/media/upload/initialize"
    assert sent[1:1 + segments] == [f"POST 2/media/upload/{media_id}/append"] * segments
    assert sent[1 + segments] == f"POST 2/media/upload/{media_id}/finalize"
    assert "GET 2/media/upload" in sent  # STATUS, after check_after_secs
    assert sent[-1] == "POST 2/tweets" and sent.count("POST 2/tweets") == 1
    assert all("x-rate-limit-reset" not in r.headers for r in live_transport.requests)  # a response header only


@live
def test_live_a_spent_window_and_the_daily_cap_are_deferrals_until_their_reset(live_transport, media_file, settings):
    adapter = x()
    settings.SANDBOX_X_RATE_LIMITS = {"media_upload": 1}
    with pytest.raises(RateLimited) as window:
        for _ in range(3):
            adapter.publish(request_for(media_file, Store()))
    assert 0 < window.value.retry_after <= 15 * 60  # x-rate-limit-reset, epoch seconds
    assert not window.value.counts_toward_breaker
    settings.SANDBOX_X_RATE_LIMITS = {}
    settings.SANDBOX_X_POSTS_PER_DAY = 0
    with pytest.raises(RateLimited) as daily:
        publish_until_done(adapter, media_file, Store(), pause=0)
    assert daily.value.retry_after > 23 * 3600  # x-user-limit-24hour-reset
    # The injected fault: a 429 whose x-rate-limit-reset is retry_after from now.
    settings.SANDBOX_X_POSTS_PER_DAY = 100
    faults.set_faults("x", rate_limit_rate=1.0, retry_after=42)
    with pytest.raises(RateLimited) as injected:
        adapter.publish(request_for(media_file, Store()))
    assert 40 <= injected.value.retry_after <= 43
    assert posts() == []


@live
def test_live_the_sandbox_loses_the_post_answer_and_the_timeline_tells(live_transport, media_file, settings):
    settings.SANDBOX_TIMEOUT_SECONDS = 1.5
    adapter, store = x(), Store()
    store.crash = lambda values: bool(values.get("media_ready"))  # stop once the media is ready
    _until_media_ready(adapter, media_file, store)
    store.crash = None
    faults.set_faults("x", accept_then_timeout_rate=1.0)  # POST /2/tweets (and appends) take it
    with pytest.raises(UnknownOutcome):
        adapter.publish(request_for(media_file, store))
    faults.clear_faults("x")
    outcome = publish_until_done(adapter, media_file, store)
    post = SandboxPost.objects.get(platform="x")
    assert post.response_lost and outcome.posted.id == post.remote_id
    assert any("carries our media" in note["answer"] for note in store.evidence)


def _until_media_ready(adapter, video, store):
    for _ in range(50):
        if store.values.get("media_ready"):
            return
        try:
            adapter.publish(request_for(video, store))
        except Exception:
            time.sleep(0.05)
    raise AssertionError("the media never became ready")


@local_db
def test_an_upload_interrupted_mid_way_resumes_after_the_last_acknowledged_segment(local):
    adapter, store = x(segment_bytes=1024), Store()
    size = local.video.stat().st_size
    appends = []

    def break_the_third_append(request):
        if request.url.path.endswith("/append"):
            appends.append(request)
            if len(appends) == 3:
                return "drop"  # the connection broke while the segment was being sent
        return None

    local.decide = break_the_third_append
    outcome = publish_until_done(adapter, local.video, store)
    assert outcome.failures[0] == "TransientError" and store.values["segments_sent"] == -(-size // 1024)
    media = media_rows().get()
    assert media.data["received_bytes"] == size  # every byte X acknowledged was sent once
    assert posts() == [outcome.posted.id]
    indexes = [int(r.content.split(b'name="segment_index"\r\n\r\n')[1].split(b"\r\n")[0]) for r in appends]
    assert indexes == [0, 1, 2, 2] + list(range(3, -(-size // 1024)))


@local_db
def test_a_lost_append_answer_resends_only_that_segment(local):
    adapter, store = x(segment_bytes=1024), Store()
    size, seen = local.video.stat().st_size, []
    local.decide = lambda r: "lose" if r.url.path.endswith("/append") and not seen.append(1) and len(seen) == 2 \
        else None
    publish_until_done(adapter, local.video, store)
    assert media_rows().get().data["received_bytes"] == size + 1024  # the one segment whose answer was lost
    assert len(posts()) == 1


@local_db
def test_a_video_x_cannot_process_fails_with_xs_reason(local, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0.05
    bad = local.video.parent / "not-a-video.mp4"
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(PermanentError) as caught:
        publish_until_done(x(), bad, Store(), pause=0.1)
    assert caught.value.message == "X could not process the video: Unsupported video format"
    assert posts() == []


@local_db
def test_a_post_x_refuses_fails_with_xs_message_naming_the_field(local):
    adapter = x()
    adapter.text = lambda copy: "y" * 300
    with pytest.raises(PermanentError) as caught:
        publish_until_done(adapter, local.video, Store())
    assert "text" in caught.value.message and "at most 280" in caught.value.message
    assert posts() == []


@local_db
def test_processing_that_never_finishes_fails_at_the_deadline(local, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 3600
    settings.PUBLISH_PROCESSING_DEADLINE = 0.3
    with pytest.raises(PermanentError) as caught:
        publish_until_done(x(), local.video, Store(), pause=0.1)
    assert "still processing media" in caught.value.message
    assert posts() == []


@local_db
def test_an_expired_media_id_is_uploaded_again(local):
    adapter = x()
    outcome = publish_until_done(adapter, local.video, Store())
    assert outcome.posted.id in posts()
    # A stored media id past its expiry is not used: a new upload is made.
    stale = Store(values={"media_id": "100000000000000009", "media_expires_at": time.time() - 1,
                          "finalized_at": time.time() - 100, "media_ready": True})
    publish_until_done(adapter, local.video, stale, copy={"description": "Second"})
    assert stale.values["media_id"] != "100000000000000009"
    assert len(posts()) == 2


@local_db
@pytest.mark.parametrize("fault", ["lose", "drop"])
def test_a_post_whose_answer_is_lost_or_dropped_makes_one_post(local, fault):
    hit = []
    local.decide = lambda r: fault if r.url.path.endswith("/2/tweets") and r.method == "POST" \
        and not hit.append(1) and len(hit) == 1 else None
    store = Store()
    outcome = publish_until_done(x(), local.video, store)
    assert posts() == [outcome.posted.id]
    sent = calls(local)
    assert sent.count("POST 2/tweets") == (1 if fault == "lose" else 2)
    assert "GET 2/users/me" in sent and any(c.endswith("/tweets") and c.startswith("GET 2/users/") for c in sent)


@local_db
def test_the_timeline_is_read_page_by_page_until_our_lost_post_turns_up(local):
    """150 newer posts by the same user push ours onto the second page of 100: it is still found, not posted again."""
    happened = []

    def decide(request):
        path = request.url.path
        if request.method == "POST" and path.endswith("/2/tweets") and not happened:
            happened.append("lost")
            return "lose"
        if request.method == "GET" and "/2/users/" in path and path.endswith("/tweets") and happened == ["lost"]:
            happened.append("busy")
            owner = path.split("/2/users/")[1].split("/")[0]
            SandboxObject.objects.bulk_create(
                [SandboxObject(platform="x", kind="tweet", owner=owner, object_id=str(10 ** 17 + n),
                               data={"text": f"another post {n}", "media_keys": []}) for n in range(150)])
        return None

    local.decide = decide
    adapter, store = x(), Store()
    outcome = publish_until_done(adapter, local.video, store)
    assert posts() == [outcome.posted.id]
    timeline = [r for r in local.requests if r.method == "GET" and r.url.path.endswith("/tweets")
                and "/2/users/" in r.url.path]
    # Newest first: the first page ends with the 100th newest of the others, and the next page starts after it.
    assert [r.url.params.get("pagination_token") for r in timeline] == [None, str(10 ** 17 + 50)]
    assert f"post {outcome.posted.id} carries our media" in store.evidence[-1]["answer"]
    # A token the timeline never gave is refused, naming the parameter.
    owner = timeline[0].url.path.split("/2/users/")[1].split("/")[0]
    with pytest.raises(PermanentError, match="pagination_token"):
        adapter.call("GET", f"2/users/{owner}/tweets", params={"max_results": "10", "pagination_token": "nope"})


@local_db
def test_a_duplicate_refusal_on_the_repeat_goes_to_a_person(local, monkeypatch):
    """X refuses the repeat as duplicate content while the timeline does not show our post: unprovable."""
    adapter, store = x(), Store()
    publish_until_done(adapter, local.video, Store())  # the same text, posted before by this user
    monkeypatch.setattr(adapter, "_find_post", lambda handles: None)
    outcome = publish_until_done(adapter, local.video, store)
    assert outcome.uncertain and outcome.posted is None
    assert "duplicate content" in store.evidence[-1]["answer"]
    assert len(posts()) == 1


@local_db
def test_metrics_100_ids_per_call_missing_is_none_deleted_is_gone(local):
    adapter = x()
    first = publish_until_done(adapter, local.video, Store()).posted
    second = publish_until_done(adapter, local.video, Store(), copy={"description": "Second"}).posted
    assert local.requests[-1].method == "POST"
    local.requests.clear()
    SandboxObject.objects.filter(platform="x", kind="tweet", object_id=second.id).delete()
    ids = [first.id, second.id] + [str(100000000000000100 + i) for i in range(150)]
    readings = adapter.read_metrics(ids)
    assert len(local.requests) == 2  # 152 ids: 100 in the first call, 52 in the second
    assert len(local.requests[0].url.params["ids"].split(",")) == 100
    values = readings[first.id].values
    assert not readings[first.id].gone
    assert isinstance(values["views"], int) and values["views"] == values["impressions"]
    assert values["watch_time_seconds"] is None  # X gives no watch time in public_metrics
    assert readings[second.id].gone and all(v is None for v in readings[second.id].values.values())
    assert len(readings) == 152


@local_db
def test_random_faults_in_every_run_make_exactly_one_post_each(local, settings):
    # One user posting LOST_ANSWER_RUNS times within 15 minutes: beyond X's per-endpoint windows, on purpose.
    settings.SANDBOX_X_RATE_LIMITS = {endpoint: max(limit, 20 * LOST_ANSWER_RUNS)
                                      for endpoint, limit in x_sandbox.RATE_LIMITS.items()}
    adapter, rng, lost = x(segment_bytes=4096), random.Random(11), 0
    local.decide = lambda request: (lambda roll: "lose" if roll < 0.12 else "drop" if roll < 0.2 else None)(
        rng.random())
    for run in range(LOST_ANSWER_RUNS):
        store = Store(crash=lambda values: rng.random() < 0.1)
        outcome = publish_until_done(adapter, local.video, store, copy={"description": f"Run {run}"}, pause=0)
        assert not outcome.uncertain, store.evidence
        made = SandboxPost.objects.filter(platform="x", caption=f"Run {run} #tips")
        assert [p.remote_id for p in made] == [outcome.posted.id], f"run {run}: {outcome.failures}"
        lost += outcome.failures.count("UnknownOutcome")
    assert len(posts()) == LOST_ANSWER_RUNS
    assert lost >= LOST_ANSWER_RUNS // 20


# --- Through the publish stage (the engine's runner, in-process sandbox, real commits)

stage = pytest.mark.django_db(transaction=True)


@pytest.fixture
def x_publication(in_process, publication_on, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0
    return publication_on("x", account_id="2244994945")


@stage
def test_stage_publishes_a_video_post_and_keeps_its_handles(x_publication):
    assert run_publish_stage(x_publication.pk) == ["succeeded"]  # no processing left: live in one run
    x_publication.refresh_from_db()
    assert x_publication.state == Publication.State.PUBLISHED
    assert posts() == [x_publication.remote_id]
    post = SandboxPost.objects.get()
    assert post.caption == "Three tips for better sleep #sleep #health"  # the title and the first hashtags
    assert x_publication.handles["tweet_id"] == x_publication.remote_id and x_publication.handles["media_key"]


@stage
def test_stage_throttling_is_deferred_not_failed_nor_counted_by_the_breaker(x_publication, settings):
    faults.set_faults("x", rate_limit_rate=1.0, retry_after=60)
    assert run_publish_stage(x_publication.pk, max_runs=1, first_stop=("rate_limited",)) == ["rate_limited"]
    faults.clear_faults("x")
    settings.SANDBOX_X_POSTS_PER_DAY = 0  # the user's 24-hour cap on POST /2/tweets
    assert run_publish_stage(x_publication.pk, max_runs=1, first_stop=("rate_limited",)) == ["rate_limited"]
    x_publication.refresh_from_db()
    assert x_publication.state == Publication.State.UPLOADING and x_publication.attempts == 0
    assert x_publication.next_run_at > timezone.now() + timedelta(hours=23)  # deferred until the cap resets
    assert get_breaker("x").status().fail_counter == 0
    assert not DeadLetter.objects.exists() and posts() == []


@stage
def test_stage_processing_that_never_finishes_becomes_a_dead_letter(x_publication, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 3600
    settings.PUBLISH_PROCESSING_DEADLINE = 0.2
    outcomes = run_publish_stage(x_publication.pk)
    assert outcomes[-1] == "dead_lettered" and "not_ready" in outcomes
    x_publication.refresh_from_db()
    assert x_publication.state == Publication.State.FAILED
    assert "still processing media" in DeadLetter.objects.get().error_message


@stage
def test_stage_an_unprovable_repeat_goes_to_a_person_with_the_evidence(x_publication, in_process, monkeypatch):
    """The post's answer is lost; the timeline does not show it, yet X refuses the repeat as a duplicate."""
    from publishing.platforms.x.adapter import X as XAdapter

    lost = []

    def lose_the_first_post(index, request):  # asked more than once per request: answer by index
        if request.method == "POST" and request.url.path.endswith("/2/tweets") and lost in ([], [index]):
            lost[:] = [index]
            return True
        return False

    in_process.lose = lose_the_first_post
    monkeypatch.setattr(XAdapter, "_find_post", lambda self, handles: None)  # a timeline that lags behind
    outcomes = run_publish_stage(x_publication.pk)
    assert outcomes[-1] == "needs_attention"
    x_publication.refresh_from_db()
    assert x_publication.state == Publication.State.NEEDS_ATTENTION
    assert "unknown_outcome" in x_publication.stage_attempts.values_list("outcome", flat=True)
    assert any("duplicate content" in note["answer"] for note in x_publication.evidence)
    assert len(posts()) == 1


@stage
def test_stage_pointed_at_api_x_com_sends_exactly_the_documented_requests(in_process, publication_on, settings):
    # Pointed at X's real host: only the transport knows the sandbox is answering.
    settings.SANDBOX_PROCESSING_SECONDS = 0.05
    settings.PLATFORM_BASE_URLS = {"x": "https://api.x.com"}
    in_process.production = {"https://api.x.com": "/sandbox/platforms/x"}
    publication = publication_on("x", access_token="x-oauth2-token")
    video = publication.asset.video.read()
    assert step(publication) == "not_ready"  # finalize answered processing_info
    time.sleep(0.1)
    assert step(publication) == "succeeded"
    publication.refresh_from_db()
    assert publication.state == Publication.State.PUBLISHED
    append = in_process.sent[1]
    assert append.headers["content-type"].startswith("multipart/form-data")
    assert b'name="segment_index"\r\n\r\n0\r\n' in append.content and video in append.content
    assert_sent(in_process.sent, "x", {"token": "x-oauth2-token", "size": len(video),
                                       "media_id": publication.handles["media_id"]})

