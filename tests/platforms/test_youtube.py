"""YouTube: the resumable upload protocol end to end against the sandbox, in-process.

(docs/platforms.md; publishing/platforms/youtube)
"""

import hashlib
import random

import pytest

from phantoms.engine.models import DeadLetter
from phantoms.resilience.breakers import forget_breakers, get_breaker
from publishing.models import Publication
from publishing.platforms.youtube import quota
from sandbox.faults import clear_faults, set_faults
from sandbox.models import SandboxPost
from tests.helpers import LOST_ANSWER_RUNS
from tests.platforms.drive import settle, step
from tests.platforms.recording import assert_sent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def youtube(in_process, publication_on, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0.0
    settings.BREAKERS = {**settings.BREAKERS, "youtube": {"fail_max": 1000, "reset_timeout": 1,
                                                          "success_threshold": 1}}
    forget_breakers()
    yield in_process
    clear_faults()


def test_a_video_is_uploaded_with_exactly_the_documented_requests(youtube, publication_on, settings):
    # Pointed at YouTube's real host: only the transport knows the sandbox is answering.
    settings.PLATFORM_BASE_URLS = {"youtube": "https://www.googleapis.com"}
    youtube.production = {"https://www.googleapis.com": "/sandbox/platforms/youtube"}
    settings.SANDBOX_PROCESSING_SECONDS = 30.0
    publication = publication_on("youtube", access_token="ya29.token")
    video = publication.asset.video.read()

    assert step(publication) == "succeeded"
    publication.refresh_from_db()
    assert publication.state == Publication.State.PROCESSING
    session = publication.handles["session_uri"]
    assert session.startswith("https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&upload_id=")

    SandboxPost.objects.update(accepted_at=SandboxPost.objects.get().accepted_at.replace(year=2000))
    assert step(publication) == "succeeded"
    publication.refresh_from_db()
    assert publication.state == Publication.State.PUBLISHED
    assert publication.remote_url == f"https://www.youtube.com/shorts/{publication.remote_id}"

    assert_sent(youtube.sent, "youtube", {"token": "ya29.token", "size": len(video), "size_text": str(len(video)),
                                          "last": len(video) - 1,
                                          "session_uri": session, "video_id": publication.remote_id}, video=video)
    post = SandboxPost.objects.get()
    assert (post.remote_id, post.sha256) == (publication.remote_id, hashlib.sha256(video).hexdigest())
    assert quota.used(quota.INSERTS) == 1 and quota.used(quota.UNITS) == 1


def test_the_upload_answers_uploaded_however_short_processing_is(youtube, publication_on, settings):
    # videos.insert returns the video as it was accepted (`uploaded`); only a later videos.list can
    # say `processed`. Even a processing time that has passed before the answer is written leaves a
    # poll to do, as on YouTube.
    settings.SANDBOX_PROCESSING_SECONDS = 0.000001
    publication = publication_on("youtube")

    assert step(publication) == "succeeded"
    publication.refresh_from_db()
    assert publication.state == Publication.State.PROCESSING
    assert step(publication) == "succeeded"
    publication.refresh_from_db()
    assert publication.state == Publication.State.PUBLISHED


def test_an_upload_dropped_halfway_resumes_from_the_range_youtube_kept(youtube, publication_on, settings):
    settings.YOUTUBE_UPLOAD_CHUNK_BYTES = 256 * 1024
    publication = publication_on("youtube")
    video = publication.asset.video.read()
    assert len(video) > 2 * 256 * 1024, "the test video must span several chunks"

    # The first chunk's connection drops after half of it arrived.
    set_faults("youtube", accept_then_timeout_rate=1.0)
    assert step(publication) == "retrying"
    clear_faults("youtube")
    puts_before = len(youtube.sent)
    assert step(publication) == "succeeded"

    resumed = youtube.sent[puts_before:]
    assert resumed[0].headers["content-range"] == f"bytes */{len(video)}"
    assert resumed[1].headers["content-range"].startswith(f"bytes {128 * 1024}-")
    sent_after = sum(len(request.content) for request in resumed)
    assert sent_after == len(video) - 128 * 1024  # every byte after the kept range, once
    post = SandboxPost.objects.get()
    assert post.sha256 == hashlib.sha256(video).hexdigest()
    publication.refresh_from_db()
    assert publication.remote_id == post.remote_id
    assert "308" in publication.evidence[-1]["answer"]


@pytest.mark.parametrize("signal", ["quotaExceeded", "rateLimitExceeded", "uploadLimitExceeded", "local quota"])
def test_throttling_defers_and_is_not_counted_by_the_breaker(youtube, publication_on, settings, signal):
    if signal == "quotaExceeded":
        set_faults("youtube", rate_limit_rate=1.0, quota_exhausted=True)
    elif signal == "rateLimitExceeded":
        set_faults("youtube", rate_limit_rate=1.0, retry_after=7)
    elif signal == "uploadLimitExceeded":
        settings.SANDBOX_YOUTUBE_UPLOADS_PER_DAY = 0
    else:
        settings.YOUTUBE_QUOTA_INSERTS_PER_DAY = 0
    publication = publication_on("youtube")

    assert step(publication) == "rate_limited"
    publication.refresh_from_db()
    wait = (publication.next_run_at - publication.updated_at).total_seconds()
    if signal == "rateLimitExceeded":
        assert 6 < wait < 9
    else:  # until midnight Pacific Time
        assert abs(wait - quota.seconds_until_reset()) < 60
    assert publication.state == Publication.State.UPLOADING and publication.attempts == 0
    assert get_breaker("youtube").status().fail_counter == 0
    assert not DeadLetter.objects.exists()
    if signal == "local quota":
        assert youtube.sent == []  # the project's quota was known to be spent: no call at all
    if signal == "quotaExceeded":
        clear_faults("youtube")
        other = publication_on("youtube")
        assert step(other) == "rate_limited"  # the project's bucket is marked spent for every channel
        assert len(youtube.sent) == 1


def test_a_rejected_video_is_dead_lettered_with_youtubes_message(youtube, publication_on, settings):
    settings.YOUTUBE_CATEGORY_ID = "999"
    publication = publication_on("youtube")

    assert step(publication) == "dead_lettered"
    publication.refresh_from_db()
    assert publication.state == Publication.State.FAILED
    letter = DeadLetter.objects.get(publication=publication)
    assert "The video category specified in the request metadata is invalid." in letter.error_message
    assert letter.error_class == "permanent"
    assert not SandboxPost.objects.exists()


def test_processing_that_never_finishes_ends_in_a_dead_letter(youtube, publication_on, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 3600
    settings.PUBLISH_PROCESSING_DEADLINE = 0
    publication = publication_on("youtube")

    assert step(publication) == "succeeded"
    assert step(publication) == "dead_lettered"
    publication.refresh_from_db()
    assert publication.state == Publication.State.FAILED
    assert "still processing" in DeadLetter.objects.get(publication=publication).error_message


def test_metrics_are_read_in_batches_of_fifty(youtube, publication_on):
    publication = publication_on("youtube")
    settle(publication)
    publication.refresh_from_db()
    from publishing import platforms

    adapter = platforms.adapter_for(publication.channel)
    before = len(youtube.sent)
    readings = adapter.read_metrics([publication.remote_id] + [f"gone{i:07d}" for i in range(60)])
    lists = [r for r in youtube.sent[before:] if r.url.path.endswith("/youtube/v3/videos")]
    assert [len(r.url.params["id"].split(",")) for r in lists] == [50, 11]
    mine = readings[publication.remote_id]
    assert not mine.gone and mine.values["views"] is not None and mine.values["watch_time_seconds"] is not None
    assert mine.values["saves"] is None and mine.values["impressions"] is None
    assert readings["gone0000001"].gone


def test_a_lost_answer_at_any_point_never_makes_two_videos(youtube, publication_on, settings):
    """LOST_ANSWER_RUNS runs (100; 1,000 in `make chaos`), each losing one answer (or one request) at a
    random point of the whole flow."""
    settings.YOUTUBE_UPLOAD_CHUNK_BYTES = 256 * 1024
    # Every run's upload and its retries in one "day", through one token.
    settings.YOUTUBE_QUOTA_INSERTS_PER_DAY = settings.SANDBOX_YOUTUBE_UPLOADS_PER_DAY = 10 * LOST_ANSWER_RUNS
    rng = random.Random(9)
    lost_last_chunk = 0
    for run in range(LOST_ANSWER_RUNS):
        publication = publication_on("youtube")
        publication.asset.title = f"Run {run}"
        publication.asset.save(update_fields=["title"])
        start = len(youtube.sent)
        lost_at = start + rng.randrange(5)
        how = rng.choice([True, True, "unsent"])
        youtube.lose = lambda index, request, at=lost_at, how=how: how if index == at else False
        settled = settle(publication)
        youtube.lose = lambda index, request: False

        lost = youtube.sent[lost_at] if len(youtube.sent) > lost_at else None
        size = publication.asset.video.size
        if lost is not None and how is True and lost.headers.get("content-range", "").startswith("bytes ") \
                and lost.headers["content-range"].endswith(f"-{size - 1}/{size}"):
            lost_last_chunk += 1
        posts = list(SandboxPost.objects.filter(title=f"Run {run}"))
        assert settled.state == Publication.State.PUBLISHED, (run, settled.state, settled.last_error)
        assert [post.remote_id for post in posts] == [settled.remote_id], run
    # The case that makes double posts: the video was made and its answer lost.
    assert lost_last_chunk >= LOST_ANSWER_RUNS // 10


def with_cover(publication, tmp_path) -> bytes:
    """The render's cover frame: a real JPEG made by ffmpeg, stored on the asset."""
    import subprocess

    import imageio_ffmpeg
    from django.core.files import File

    path = tmp_path / "cover.jpg"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=c=0xcc6633:s=216x384", "-frames:v", "1", str(path)], check=True, timeout=60)
    with path.open("rb") as image:
        publication.asset.cover.save("cover.jpg", File(image), save=True)
    return path.read_bytes()


def test_the_cover_becomes_the_video_s_custom_thumbnail(youtube, publication_on, tmp_path):
    from sandbox.models import SandboxObject

    publication = publication_on("youtube")
    cover = with_cover(publication, tmp_path)

    settled = settle(publication)

    assert settled.state == Publication.State.PUBLISHED
    thumbnail = SandboxObject.objects.get(platform="youtube", kind="thumbnail", object_id=settled.remote_id)
    assert thumbnail.data["sha256"] == hashlib.sha256(cover).hexdigest()
    assert thumbnail.data["content_type"] == "image/jpeg"
    assert settled.handles["thumbnail_set"] == settled.remote_id
    sent = [r for r in youtube.sent if r.url.path.endswith("/thumbnails/set")]
    assert len(sent) == 1 and sent[0].url.params["videoId"] == settled.remote_id
    lists = [r for r in youtube.sent if r.url.path.endswith("/youtube/v3/videos") and r.method == "GET"]
    assert quota.used(quota.UNITS) == len(lists) + 50  # videos.list costs 1, thumbnails.set 50


def test_a_channel_youtube_refuses_custom_thumbnails_still_posts_and_says_why(youtube, publication_on, settings,
                                                                              tmp_path):
    from sandbox.models import SandboxObject

    settings.SANDBOX_YOUTUBE_CUSTOM_THUMBNAILS = False  # not a verified channel
    publication = publication_on("youtube")
    with_cover(publication, tmp_path)

    settled = settle(publication)

    assert settled.state == Publication.State.PUBLISHED and SandboxPost.objects.count() == 1
    assert not SandboxObject.objects.filter(kind="thumbnail").exists()
    assert "thumbnail_set" not in settled.handles
    notes = [e["answer"] for e in settled.evidence if "thumbnails/set" in e["asked"]]
    assert len(notes) == 1 and "the cover was not set" in notes[0] and "custom video thumbnails" in notes[0]


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (b"", "image/jpeg", "mediaBodyRequired"),
    (b"GIF89a not a jpeg", "image/jpeg", "invalidImage"),
    (b"\xff\xd8\xff\xe0 a jpeg", "image/gif", "invalidImage"),
])
def test_the_sandbox_refuses_what_thumbnails_set_refuses(youtube, publication_on, body, content_type, reason):
    import httpx

    from tests.platforms.conftest import SANDBOX

    settled = settle(publication_on("youtube", access_token="ya29.token"))
    response = httpx.Client(transport=youtube).post(
        f"{SANDBOX}/sandbox/platforms/youtube/upload/youtube/v3/thumbnails/set",
        params={"videoId": settled.remote_id}, content=body,
        headers={"Authorization": "Bearer ya29.token", "Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["reason"] == reason
    other = httpx.Client(transport=youtube).post(
        f"{SANDBOX}/sandbox/platforms/youtube/upload/youtube/v3/thumbnails/set",
        params={"videoId": settled.remote_id}, content=b"\xff\xd8\xff\xe0 a jpeg",
        headers={"Authorization": "Bearer someone-else", "Content-Type": "image/jpeg"})
    assert other.status_code == 403 and other.json()["error"]["errors"][0]["reason"] == "forbidden"


def test_a_cover_that_cannot_be_read_is_noted_and_the_made_video_stands(youtube, publication_on, tmp_path):
    from publishing.platforms.base import Posted
    from publishing.platforms.youtube import YouTube
    from tests.platforms.harness import Store, request_for

    publication = publication_on("youtube")
    store = Store()
    request = request_for(tmp_path / "video.mp4", store)
    request.cover = tmp_path / "gone.jpg"  # removed after the run began
    made = Posted(id="vid123", status="processing", url="https://www.youtube.com/shorts/vid123")

    assert YouTube(publication.channel)._with_cover(made, request) is made

    assert "could not be read" in store.evidence[-1]["answer"]
    assert not [r for r in youtube.sent if r.url.path.endswith("/thumbnails/set")]


def test_a_cover_over_two_megabytes_is_not_sent_and_the_made_video_stands(youtube, publication_on, tmp_path):
    from publishing.platforms.base import Posted
    from publishing.platforms.youtube import YouTube
    from tests.platforms.harness import Store, request_for

    publication = publication_on("youtube")
    store = Store()
    request = request_for(tmp_path / "video.mp4", store)
    request.cover = tmp_path / "huge.jpg"
    request.cover.write_bytes(b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024))
    made = Posted(id="vid123", status="processing", url="https://www.youtube.com/shorts/vid123")

    assert YouTube(publication.channel)._with_cover(made, request) is made

    assert "over thumbnails.set's 2 MB" in store.evidence[-1]["answer"]
    assert not [r for r in youtube.sent if r.url.path.endswith("/thumbnails/set")]
    assert quota.used(quota.UNITS) == 0
