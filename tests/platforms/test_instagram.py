"""Instagram Reels over the Graph API's content publishing, against the sandbox.

Happy path, an interrupted run resumed from the stored container, each throttling signal as a
deferral, a rejection carrying Instagram's own message, processing that never finishes, the signed
link Instagram fetches, the lost answer of media_publish (and LOST_ANSWER_RUNS runs with faults at random
moments), and the metrics read. Tests named `live` speak HTTP over loopback to the live sandbox; the
others call the sandbox's WSGI app in-process (`local`), which is what makes 100 runs (1,000 in
`make chaos`) affordable.
"""

import random
import time
from urllib.parse import parse_qsl

import httpx
import pytest
from django.utils import timezone

from phantoms.engine.models import DeadLetter
from phantoms.resilience.breakers import get_breaker
from phantoms.resilience.errors import NotReady, PermanentError, RateLimited, UnknownOutcome
from phantoms.signed_media import resolve
from publishing.models import Publication
from publishing.platforms.instagram import Instagram
from publishing.platforms.instagram.adapter import GRAPH_VERSION
from sandbox import faults
from sandbox.models import SandboxObject, SandboxPost
from sandbox.views.platforms import instagram as ig_sandbox
from tests.factories import make_channel
from tests.helpers import LOST_ANSWER_RUNS
from tests.platforms.drive import step
from tests.platforms.harness import (
    Store,
    fetch_signed_links_in_process,
    publish_until_done,
    request_for,
    run_publish_stage,
)
from tests.platforms.recording import assert_sent

USER = "17841400000000001"
live = pytest.mark.django_db(transaction=True)
local_db = pytest.mark.django_db


def instagram():
    return Instagram(make_channel("instagram", account_id=USER))


def paths(transport) -> list[str]:
    return [f"{r.method} {r.url.path.split(f'/{GRAPH_VERSION}/')[1]}" for r in transport.requests]


def posts() -> list[str]:
    return list(SandboxPost.objects.filter(platform="instagram").values_list("remote_id", flat=True))


@live
def test_live_a_reel_is_published_once_through_a_container(live_transport, media_file):
    adapter, store = instagram(), Store()
    posted = publish_until_done(adapter, media_file, store).posted
    assert posted.status == "published" and posted.id == store.values["media_id"]
    post = SandboxPost.objects.get(platform="instagram")
    assert post.remote_id == posted.id
    assert post.caption == "A description\n\n#tips"
    assert post.size_bytes == media_file.stat().st_size  # Instagram fetched the file through the signed link
    assert posted.url.endswith(f"/sandbox/platforms/instagram/watch/{posted.id}")
    calls = paths(live_transport)
    # The limit is read before the container and again before the publish; the container is polled.
    assert calls[:2] == [f"GET {USER}/content_publishing_limit", f"POST {USER}/media"]
    assert f"GET {store.values['container_id']}" in calls
    publish_at = calls.index(f"POST {USER}/media_publish")
    assert calls[publish_at - 1] == f"GET {USER}/content_publishing_limit"
    assert calls.count(f"POST {USER}/media_publish") == 1
    # Asked again, the adapter answers from the stored media id without calling Instagram.
    before = len(live_transport.requests)
    assert adapter.publish(request_for(media_file, store)).id == posted.id
    assert len(live_transport.requests) == before


@live
def test_live_each_graph_throttling_code_is_a_deferral_with_the_usage_header_wait(live_transport, media_file):
    adapter = instagram()
    faults.set_faults("instagram", rate_limit_rate=1.0, retry_after=180)
    for code in (4, 17, 32, 613, 80002):
        ig_sandbox.set_throttle_code(code)
        with pytest.raises(RateLimited) as caught:
            adapter.publish(request_for(media_file, Store()))
        assert caught.value.retry_after == 180  # estimated_time_to_regain_access: 3 minutes
        assert f"code {code}" in caught.value.message
        assert not caught.value.counts_toward_breaker
    assert posts() == []


@live
def test_live_the_sandbox_loses_the_publish_answer_and_the_container_tells(live_transport, media_file, settings):
    """sandbox_faults accept_then_timeout on media_publish: recorded, answer held past the client's timeout."""
    settings.SANDBOX_TIMEOUT_SECONDS = 1.5
    adapter, store = instagram(), Store()
    faults.set_faults("instagram", accept_then_timeout_rate=1.0)
    with pytest.raises(UnknownOutcome):
        for _ in range(40):
            try:
                adapter.publish(request_for(media_file, store))
            except UnknownOutcome:
                raise
            except Exception:
                time.sleep(0.05)
    faults.clear_faults("instagram")
    posted = publish_until_done(adapter, media_file, store).posted
    post = SandboxPost.objects.get(platform="instagram")
    assert post.response_lost and posted.id == post.remote_id
    assert any("PUBLISHED" in note["answer"] for note in store.evidence)


@live
def test_live_instagram_fetches_the_video_only_through_a_valid_signed_link(media_file, platform_sandbox, settings):
    url = instagram().video_url(media_file)
    assert httpx.get(url).content == media_file.read_bytes()
    token = url.split("/signed-media/")[1].split("/")[0]
    assert httpx.get(url.replace(token, token[:-2] + "xx")).status_code == 403
    settings.SIGNED_MEDIA_MAX_AGE = -1
    assert httpx.get(url).status_code == 410
    # A container made from a link that no longer works ends in ERROR with the download failure.
    answer = httpx.post(f"{platform_sandbox}/sandbox/platforms/instagram/{USER}/media",
                        data={"media_type": "REELS", "video_url": url}, headers={"Authorization": "Bearer t"})
    container = ig_sandbox.get_container(answer.json()["id"])
    assert container.data["error"].startswith("Error: Media download has failed") and "410" in container.data["error"]


@local_db
def test_a_run_killed_after_storing_the_container_resumes_with_that_container(local):
    store = Store()
    store.crash = lambda values: "container_id" in values and not store.values.get("resumed") \
        and not store.values.update(resumed=True)
    outcome = publish_until_done(instagram(), local.video, store)
    assert "Crash" in outcome.failures
    assert SandboxObject.objects.filter(platform="instagram", kind="container").count() == 1
    assert posts() == [outcome.posted.id]


@local_db
def test_the_publishing_limit_defers_before_any_container_is_made(local, settings):
    settings.SANDBOX_INSTAGRAM_POSTS_PER_DAY = 1
    adapter = instagram()
    publish_until_done(adapter, local.video, Store())
    with pytest.raises(RateLimited) as caught:
        adapter.publish(request_for(local.video, Store(), description="Another reel"))
    assert "1 of 1 posts" in caught.value.message
    assert SandboxObject.objects.filter(platform="instagram", kind="container").count() == 1


@local_db
def test_the_publishing_limit_error_on_media_publish_is_a_deferral_too(local, settings, monkeypatch):
    """Code 9 / subcode 2207042 when the quota runs out between the check and the publish."""
    settings.SANDBOX_INSTAGRAM_POSTS_PER_DAY = 0
    adapter = instagram()
    monkeypatch.setattr(adapter, "_check_publishing_limit", lambda: None)  # the quota read was free
    with pytest.raises(RateLimited) as caught:
        publish_until_done(adapter, local.video, Store())
    assert "Max publish limit reached" in caught.value.message and "2207042" in caught.value.message
    assert posts() == []


@local_db
def test_a_video_instagram_cannot_process_fails_with_instagrams_reason(local):
    bad = local.video.parent / "not-a-video.mp4"
    bad.write_bytes(b"this is not an mp4 file at all" * 10)
    with pytest.raises(PermanentError) as caught:
        publish_until_done(instagram(), bad, Store())
    assert "video format is not supported" in caught.value.message and "2207026" in caught.value.message
    assert posts() == []


@local_db
def test_processing_that_never_finishes_fails_at_the_deadline(local, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 3600
    settings.PUBLISH_PROCESSING_DEADLINE = 0.3
    with pytest.raises(PermanentError) as caught:
        publish_until_done(instagram(), local.video, Store(), pause=0.1)
    assert "still processing container" in caught.value.message
    assert posts() == []


@local_db
def test_an_expired_container_is_replaced_by_a_new_one(local):
    adapter, store = instagram(), Store()
    with pytest.raises(NotReady):
        adapter.publish(request_for(local.video, store))  # the container is made; Instagram processes it
    first = store.values["container_id"]
    SandboxObject.objects.filter(object_id=first).update(expires_at=timezone.now())
    publish_until_done(adapter, local.video, store)
    assert store.values["container_id"] != first
    assert len(posts()) == 1


@local_db
@pytest.mark.parametrize("fault", ["lose", "drop"])
def test_a_publish_whose_answer_is_lost_or_dropped_makes_one_post(local, fault):
    hit = []
    local.decide = lambda r: fault if r.url.path.endswith("/media_publish") and not hit.append(1) and len(hit) == 1 \
        else None
    store = Store()
    outcome = publish_until_done(instagram(), local.video, store)
    assert posts() == [outcome.posted.id]
    if fault == "lose":
        assert "UnknownOutcome" in outcome.failures
        assert [p for p in paths(local) if p.endswith("media_publish")] == [f"POST {USER}/media_publish"]
    else:  # the request never reached Instagram: the container says FINISHED, so publishing is repeated
        assert [p for p in paths(local) if p.endswith("media_publish")] == [f"POST {USER}/media_publish"] * 2


@local_db
def test_metrics_one_media_per_call_missing_is_none_deleted_is_gone(local):
    adapter = instagram()
    posted = publish_until_done(adapter, local.video, Store()).posted
    second = publish_until_done(adapter, local.video, Store(), copy={"description": "Second"}).posted
    SandboxPost.objects.filter(remote_id=second.id).delete()
    SandboxPost.objects.filter(remote_id=posted.id).update(accepted_at=timezone.now())  # saves not counted yet
    local.requests.clear()
    readings = adapter.read_metrics([posted.id, second.id, posted.id])
    assert [r.url.path.rsplit("/", 2)[-2] for r in local.requests] == [posted.id, second.id]  # one id per call
    reading = readings[posted.id]
    assert not reading.gone
    assert isinstance(reading.values["views"], int) and isinstance(reading.values["likes"], int)
    assert reading.values["impressions"] is None  # Instagram gives no impressions for reels
    assert reading.values["saves"] is None  # insights lag behind the post; a missing metric is None, not 0
    assert readings[second.id].gone and all(v is None for v in readings[second.id].values.values())


@local_db
def test_random_faults_in_every_run_make_exactly_one_post_each(local, settings):
    # One token posting LOST_ANSWER_RUNS times within the hour: beyond Instagram's 100 posts a day and
    # its calls per hour, on purpose.
    settings.SANDBOX_INSTAGRAM_POSTS_PER_DAY = max(100, LOST_ANSWER_RUNS)
    settings.SANDBOX_INSTAGRAM_CALLS_PER_HOUR = max(5000, 50 * LOST_ANSWER_RUNS)
    adapter, rng, lost = instagram(), random.Random(9), 0
    local.decide = lambda request: (lambda roll: "lose" if roll < 0.12 else "drop" if roll < 0.2 else None)(
        rng.random())
    for run in range(LOST_ANSWER_RUNS):
        store = Store(crash=lambda values: rng.random() < 0.1)
        outcome = publish_until_done(adapter, local.video, store, copy={"description": f"Run {run}"}, pause=0)
        assert not outcome.uncertain, store.evidence
        made = SandboxPost.objects.filter(platform="instagram", caption=f"Run {run}\n\n#tips")
        assert [p.remote_id for p in made] == [outcome.posted.id], f"run {run}: {outcome.failures}"
        lost += outcome.failures.count("UnknownOutcome")
    assert len(posts()) == LOST_ANSWER_RUNS
    assert lost >= LOST_ANSWER_RUNS // 20  # the irreversible call's answer really was lost, several times


# --- Through the publish stage (the engine's runner, in-process sandbox, real commits)

stage = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ig_publication(in_process, publication_on, monkeypatch, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0
    fetch_signed_links_in_process(monkeypatch)
    return publication_on("instagram", account_id=USER)


@stage
def test_stage_publishes_a_reel_and_keeps_its_handles(ig_publication):
    outcomes = run_publish_stage(ig_publication.pk)
    assert outcomes[0] == "not_ready" and outcomes[-1] == "succeeded"  # the container was processed first
    ig_publication.refresh_from_db()
    assert ig_publication.state == Publication.State.PUBLISHED
    assert posts() == [ig_publication.remote_id]
    assert ig_publication.handles["media_id"] == ig_publication.remote_id and ig_publication.handles["container_id"]


@stage
def test_stage_throttling_is_deferred_not_failed_nor_counted_by_the_breaker(ig_publication):
    faults.set_faults("instagram", rate_limit_rate=1.0, retry_after=120)
    for code in (4, 17, 32, 613):
        ig_sandbox.set_throttle_code(code)
        assert run_publish_stage(ig_publication.pk, max_runs=1, first_stop=("rate_limited",)) == ["rate_limited"]
    ig_publication.refresh_from_db()
    assert ig_publication.state == Publication.State.UPLOADING and ig_publication.attempts == 0
    assert get_breaker("instagram").status().fail_counter == 0
    assert set(ig_publication.stage_attempts.values_list("outcome", flat=True)) == {"rate_limited"}
    assert not DeadLetter.objects.exists()


@stage
def test_stage_processing_that_never_finishes_becomes_a_dead_letter(ig_publication, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 3600
    settings.PUBLISH_PROCESSING_DEADLINE = 0.2
    outcomes = run_publish_stage(ig_publication.pk)
    assert outcomes[-1] == "dead_lettered" and "not_ready" in outcomes
    ig_publication.refresh_from_db()
    assert ig_publication.state == Publication.State.FAILED
    assert "still processing container" in DeadLetter.objects.get().error_message
    assert posts() == []


@stage
def test_stage_pointed_at_graph_instagram_com_sends_exactly_the_documented_requests(in_process, publication_on,
                                                                                    monkeypatch, settings):
    # Pointed at Instagram's real host: only the transport knows the sandbox is answering.
    settings.SANDBOX_PROCESSING_SECONDS = 0
    settings.PLATFORM_BASE_URLS = {"instagram": "https://graph.instagram.com"}
    in_process.production = {"https://graph.instagram.com": "/sandbox/platforms/instagram"}
    fetch_signed_links_in_process(monkeypatch)
    publication = publication_on("instagram", account_id=USER, access_token="IGQVJ.token")
    assert step(publication) == "not_ready"  # the container is made; Instagram fetches and processes the video
    assert step(publication) == "succeeded"
    publication.refresh_from_db()
    assert publication.state == Publication.State.PUBLISHED
    video_url = dict(parse_qsl(in_process.sent[1].content.decode()))["video_url"]
    token, filename = video_url.split("/signed-media/")[1].split("/")
    assert resolve(token, filename).read_bytes() == publication.asset.video.read()  # signed, and ours
    assert_sent(in_process.sent, "instagram", {
        "token": "IGQVJ.token", "ig_user_id": USER, "video_url": video_url,
        "container_id": publication.handles["container_id"], "media_id": publication.remote_id})


@local_db
@pytest.mark.parametrize(("cover_at", "thumb_offset"), [(1.5, 1500), (None, 0)])
def test_the_editor_s_cover_frame_is_the_reel_s_cover(local, cover_at, thumb_offset):
    """`thumb_offset` carries the cover chosen in the review; without one Instagram takes the first frame."""
    adapter, store = instagram(), Store()
    with pytest.raises(NotReady):
        adapter.publish(request_for(local.video, store, cover_at=cover_at))
    container = SandboxObject.objects.get(object_id=store.values["container_id"])
    assert container.data["thumb_offset"] == thumb_offset
    sent = dict(httpx.QueryParams(local.requests[-1].content.decode()))
    assert sent.get("thumb_offset") == (None if cover_at is None else str(thumb_offset))


@local_db
@pytest.mark.parametrize("offset", ["-5", "1.5", "soon"])
def test_the_sandbox_refuses_a_thumb_offset_that_is_not_whole_milliseconds(local, offset):
    response = instagram().http_client().post(
        f"http://testserver/sandbox/platforms/instagram/{GRAPH_VERSION}/{USER}/media",
        data={"media_type": "REELS", "video_url": "http://testserver/none.mp4", "thumb_offset": offset,
              "access_token": "sandbox-token"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100 and "thumb_offset" in error["message"]
