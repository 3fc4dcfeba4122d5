"""TikTok: Direct Post with FILE_UPLOAD end to end against the sandbox, in-process.

(docs/platforms.md; publishing/platforms/tiktok)
"""

import hashlib
import random

import pytest
from django.core.files.base import ContentFile

from phantoms.engine.models import DeadLetter
from phantoms.resilience.breakers import forget_breakers, get_breaker
from publishing import platforms
from publishing.models import Publication
from publishing.platforms.tiktok import chunk_plan, chunk_spans
from sandbox.faults import clear_faults, set_faults
from sandbox.models import SandboxPost
from tests.helpers import LOST_ANSWER_RUNS
from tests.platforms.drive import settle, step
from tests.platforms.recording import assert_sent

pytestmark = pytest.mark.django_db(transaction=True)
MB = 1024 * 1024


@pytest.fixture
def tiktok(in_process, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0.0
    # A hundred posts a minute through one token: far beyond TikTok's per-token limits, on purpose.
    settings.SANDBOX_TIKTOK_INITS_PER_MINUTE = settings.SANDBOX_TIKTOK_STATUS_PER_MINUTE = 10_000
    settings.SANDBOX_TIKTOK_CREATOR_INFO_PER_MINUTE = 10_000
    settings.BREAKERS = {**settings.BREAKERS, "tiktok": {"fail_max": 1000, "reset_timeout": 1,
                                                         "success_threshold": 1}}
    forget_breakers()
    yield in_process
    clear_faults()


def test_chunk_rules_follow_the_media_transfer_guide():
    assert chunk_plan(3 * MB, 10 * MB) == (3 * MB, 1)  # under 5 MB: whole
    assert chunk_plan(23 * MB, 10 * MB) == (10 * MB, 2)  # rounded down: the last chunk takes 13 MB
    assert chunk_spans(23 * MB, 10 * MB, 2) == [(0, 10 * MB - 1), (10 * MB, 23 * MB - 1)]
    assert chunk_plan(30 * MB, 1 * MB) == (5 * MB, 6)  # never under 5 MB
    assert chunk_plan(700 * MB, 100 * MB) == (64 * MB, 10)  # never over 64 MB


def test_a_video_is_posted_with_exactly_the_documented_requests(tiktok, publication_on, settings):
    settings.PLATFORM_BASE_URLS = {"tiktok": "https://open.tiktokapis.com"}
    tiktok.production = {"https://open.tiktokapis.com": "/sandbox/platforms/tiktok",
                         "https://open-upload.tiktokapis.com": "/sandbox/platforms/tiktok/open-upload"}
    publication = publication_on("tiktok", access_token="act.token")
    video = publication.asset.video.read()

    settled = settle(publication)
    assert settled.state == Publication.State.PUBLISHED
    handles = settled.handles
    assert handles["upload_url"].startswith("https://open-upload.tiktokapis.com/video/?upload_id=")
    assert_sent(tiktok.sent, "tiktok", {"token": "act.token", "size": len(video), "size_text": str(len(video)),
                                        "last": len(video) - 1, "publish_id": handles["publish_id"]}, video=video)
    post = SandboxPost.objects.get()
    assert settled.remote_id == post.remote_id  # the public post id, learnt once it was public
    assert settled.remote_url == f"https://www.tiktok.com/@{handles['username']}/video/{post.remote_id}"
    assert post.sha256 == hashlib.sha256(video).hexdigest()


def test_a_chunk_dropped_halfway_is_sent_again_from_what_tiktok_kept(tiktok, publication_on, settings, tmp_path):
    settings.TIKTOK_CHUNK_BYTES = 5 * MB
    publication = publication_on("tiktok")
    # Eleven megabytes: two chunks of 5 MB, the last taking the trailing bytes.
    big = publication.asset.video.read()
    big = big + b"\0" * (11 * MB - len(big))
    publication.asset.video.save("big.mp4", ContentFile(big), save=True)

    set_faults("tiktok", accept_then_timeout_rate=1.0)  # the first chunk's connection drops
    assert step(publication) == "retrying"
    clear_faults("tiktok")
    before = len(tiktok.sent)
    assert settle(publication).state == Publication.State.PUBLISHED

    puts = [r for r in tiktok.sent[before:] if r.method == "PUT"]
    assert [r.headers["content-range"] for r in puts] == [f"bytes 0-{5 * MB - 1}/{11 * MB}",
                                                          f"bytes {5 * MB}-{11 * MB - 1}/{11 * MB}"]
    assert tiktok.sent[before].url.path.endswith("/status/fetch/")  # asked before sending anything
    assert SandboxPost.objects.get().sha256 == hashlib.sha256(big).hexdigest()
    publication.refresh_from_db()
    assert "PROCESSING_UPLOAD (0 of" in publication.evidence[0]["answer"]


def test_resuming_skips_the_chunks_tiktok_already_has(tiktok, publication_on, settings):
    settings.TIKTOK_CHUNK_BYTES = 5 * MB
    publication = publication_on("tiktok")
    big = publication.asset.video.read()
    big = big + b"\0" * (11 * MB - len(big))
    publication.asset.video.save("big.mp4", ContentFile(big), save=True)
    # The second (last) chunk's answer is lost after TikTok took it: the post exists.
    tiktok.lose = lambda index, request: request.method == "PUT" and request.headers["content-range"].startswith(
        f"bytes {5 * MB}-")
    assert step(publication) == "retrying"
    tiktok.lose = lambda index, request: False
    before = len(tiktok.sent)
    assert settle(publication).state == Publication.State.PUBLISHED
    assert not [r for r in tiktok.sent[before:] if r.method == "PUT"]
    assert SandboxPost.objects.count() == 1


@pytest.mark.parametrize("signal", ["rate_limit_exceeded", "init per minute", "spam_risk_too_many_posts"])
def test_throttling_defers_and_is_not_counted_by_the_breaker(tiktok, publication_on, settings, signal):
    if signal == "rate_limit_exceeded":
        set_faults("tiktok", rate_limit_rate=1.0, retry_after=5)
    elif signal == "init per minute":
        settings.SANDBOX_TIKTOK_INITS_PER_MINUTE = 0
    publication = publication_on("tiktok")
    if signal == "spam_risk_too_many_posts":
        from sandbox.views.platforms import tiktok as sandbox_tiktok

        original = sandbox_tiktok.video_init
        sandbox_tiktok.urlpatterns[1].callback = lambda request: sandbox_tiktok.answer(
            status=403, code="spam_risk_too_many_posts", message="The daily post cap is reached.")
    try:
        assert step(publication) == "rate_limited"
    finally:
        if signal == "spam_risk_too_many_posts":
            sandbox_tiktok.urlpatterns[1].callback = original
    publication.refresh_from_db()
    wait = (publication.next_run_at - publication.updated_at).total_seconds()
    expected = {"rate_limit_exceeded": 5, "init per minute": 60, "spam_risk_too_many_posts": 3600}[signal]
    assert expected - 1 < wait < expected + 2
    assert publication.attempts == 0 and not DeadLetter.objects.exists()
    assert get_breaker("tiktok").status().fail_counter == 0


def test_a_video_tiktok_refuses_is_dead_lettered_with_its_fail_reason(tiktok, publication_on, monkeypatch):
    publication = publication_on("tiktok")
    publication.asset.video.save("not-a-video.mp4", ContentFile(b"this is not an mp4 file" * 100), save=True)
    # Past our own rendition check (which would refuse it first), to hear TikTok's reason.
    monkeypatch.setattr("publishing.renditions.rendition_for", lambda master, spec, platform, meta=None: master)

    assert settle(publication).state == Publication.State.FAILED
    letter = DeadLetter.objects.get(publication=publication)
    assert "file_format_check_failed" in letter.error_message and letter.error_class == "permanent"


def test_processing_that_never_finishes_ends_in_a_dead_letter(tiktok, publication_on, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 3600
    settings.PUBLISH_PROCESSING_DEADLINE = 0
    publication = publication_on("tiktok")

    assert step(publication) == "succeeded"
    assert step(publication) == "dead_lettered"
    assert "still processing" in DeadLetter.objects.get(publication=publication).error_message


def test_metrics_are_read_twenty_at_a_time(tiktok, publication_on):
    publication = settle(publication_on("tiktok"))
    adapter = platforms.adapter_for(publication.channel)
    before = len(tiktok.sent)
    readings = adapter.read_metrics([publication.remote_id] + [str(10 ** 18 + i) for i in range(25)])
    assert len(tiktok.sent) - before == 2
    mine = readings[publication.remote_id]
    assert not mine.gone and mine.values["views"] is not None and mine.values["shares"] is not None
    assert mine.values["watch_time_seconds"] is None
    assert readings[str(10 ** 18)].gone


def test_a_lost_answer_at_any_point_never_makes_two_posts(tiktok, publication_on):
    """LOST_ANSWER_RUNS runs (100; 1,000 in `make chaos`), each losing one answer (or one request) at a
    random point of the whole flow."""
    rng = random.Random(11)
    lost_final = 0
    for run in range(LOST_ANSWER_RUNS):
        publication = publication_on("tiktok")
        publication.asset.title = f"Run {run}"
        publication.asset.save(update_fields=["title"])
        lost_at = len(tiktok.sent) + rng.randrange(5)
        how = rng.choice([True, True, "unsent"])
        tiktok.lose = lambda index, request, at=lost_at, how=how: how if index == at else False
        settled = settle(publication)
        tiktok.lose = lambda index, request: False
        lost = tiktok.sent[lost_at] if len(tiktok.sent) > lost_at else None
        lost_final += bool(lost is not None and lost.method == "PUT" and how is True)

        posts = list(SandboxPost.objects.filter(title__startswith=f"Run {run} "))
        assert settled.state == Publication.State.PUBLISHED, (run, settled.state, settled.last_error)
        assert [post.remote_id for post in posts] == [settled.remote_id], run
    assert lost_final >= LOST_ANSWER_RUNS // 10


@pytest.mark.parametrize(("cover_at", "sent_ms"), [(1.234, 1234), (None, 1000), (9.0, 2999)])
def test_the_editor_s_cover_frame_is_the_post_s_cover(tiktok, publication_on, cover_at, sent_ms):
    """The cover chosen in the review (or a second in, without one), kept inside the 3 s video."""
    from pipeline.models import Asset
    from sandbox.models import SandboxUpload

    publication = publication_on("tiktok", access_token="act.token")
    Asset.objects.filter(pk=publication.asset_id).update(cover_timestamp=cover_at, video_duration=3.0)

    settled = settle(publication)

    assert settled.state == Publication.State.PUBLISHED
    sent = SandboxUpload.objects.get(handle=settled.handles["publish_id"]).meta["post_info"]
    assert sent["video_cover_timestamp_ms"] == sent_ms


@pytest.mark.parametrize("cover", [-1, 1.5, "1000", True])
def test_the_sandbox_refuses_a_cover_timestamp_that_is_not_a_whole_number_of_ms(tiktok, cover):
    import httpx

    from tests.platforms.conftest import SANDBOX

    response = httpx.Client(transport=tiktok).post(
        f"{SANDBOX}/sandbox/platforms/tiktok/v2/post/publish/video/init/",
        headers={"Authorization": "Bearer act.token"},
        json={"post_info": {"title": "t", "privacy_level": "SELF_ONLY", "video_cover_timestamp_ms": cover},
              "source_info": {"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 10,
                              "total_chunk_count": 1}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_params"
    assert "video_cover_timestamp_ms" in response.json()["error"]["message"]
