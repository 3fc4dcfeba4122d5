import hashlib
import time

import httpx
import pytest

from phantoms.resilience.errors import PermanentError, RateLimited, TransientError, UnknownOutcome
from phantoms.resilience.http import make_client, send
from sandbox import faults
from sandbox.models import SandboxPost
from sandbox.services import ledger_summary

PLATFORMS = ["youtube", "tiktok", "instagram", "x"]
AUTH = {"Authorization": "Bearer test-token"}
# Below the SANDBOX_TIMEOUT_SECONDS the conftest sets, so timeout faults outlast the client.
CLIENT_TIMEOUT = 0.4


def post_video(http, platform, video_file, **fields):
    data = {"title": "A title", "caption": "A caption", "client_ref": "ref-1", "asset_ref": "asset-1"}
    data.update(fields)
    return http.post(f"/platforms/{platform}/posts", data=data, files={"video": video_file})


@pytest.mark.parametrize("platform", PLATFORMS)
def test_post_is_recorded_in_the_ledger(http, platform, video_file):
    response = post_video(http, platform, video_file, client_ref=f"ref-{platform}")
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "processing"
    post = SandboxPost.objects.get(remote_id=created["id"])
    assert post.platform == platform
    assert post.client_ref == f"ref-{platform}"
    assert post.asset_ref == "asset-1"
    assert post.title == "A title" and post.caption == "A caption"
    assert post.size_bytes == len(video_file[1])
    assert post.sha256 == hashlib.sha256(video_file[1]).hexdigest()
    assert post.response_lost is False
    assert faults.call_count(platform) == 1


def test_missing_video_is_a_400_naming_the_field(http):
    response = http.post("/platforms/youtube/posts", data={"title": "no video"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "video"
    assert SandboxPost.objects.count() == 0


def test_calls_without_a_bearer_token_are_refused(sandbox_url, video_file):
    response = httpx.post(f"{sandbox_url}/platforms/tiktok/posts", files={"video": video_file})
    assert response.status_code == 401
    assert "error" in response.json()
    assert SandboxPost.objects.count() == 0
    assert faults.call_count("tiktok") == 1


def test_unknown_platform_is_404(http, video_file):
    assert post_video(http, "myspace", video_file).status_code == 404


def test_same_client_ref_twice_is_two_posts(http, video_file):
    first = post_video(http, "instagram", video_file, client_ref="same", asset_ref="asset-9")
    second = post_video(http, "instagram", video_file, client_ref="same", asset_ref="asset-9")
    assert first.json()["id"] != second.json()["id"]
    listed = http.get("/platforms/instagram/posts", params={"client_ref": "same"}).json()["results"]
    assert {row["id"] for row in listed} == {first.json()["id"], second.json()["id"]}
    summary = ledger_summary()
    assert summary["posts"] == 2
    assert summary["duplicates"] == 1
    assert summary["by_platform"]["instagram"] == {"posts": 2, "duplicates": 1}


def test_lookup_by_client_ref(http, video_file):
    created = post_video(http, "x", video_file, client_ref="find-me").json()
    post_video(http, "x", video_file, client_ref="someone-else")
    results = http.get("/platforms/x/posts", params={"client_ref": "find-me"}).json()["results"]
    assert len(results) == 1
    assert results[0]["id"] == created["id"]
    assert results[0]["client_ref"] == "find-me"
    assert results[0]["url"].startswith("http")
    assert http.get("/platforms/x/posts", params={"client_ref": "nobody"}).json()["results"] == []


def test_status_flips_to_published_after_processing(http, video_file, settings):
    created = post_video(http, "youtube", video_file).json()
    detail = http.get(f"/platforms/youtube/posts/{created['id']}").json()
    assert detail["status"] == "processing"
    assert detail["id"] == created["id"]
    time.sleep(settings.SANDBOX_PROCESSING_SECONDS + 0.1)
    detail = http.get(f"/platforms/youtube/posts/{created['id']}").json()
    assert detail["status"] == "published"
    assert SandboxPost.objects.get(remote_id=created["id"]).status == "published"
    # The url leads to a real page.
    page = httpx.get(detail["url"])
    assert page.status_code == 200
    assert created["id"] in page.text


def test_unknown_post_is_404_json(http):
    response = http.get("/platforms/tiktok/posts/tt_doesnotexist")
    assert response.status_code == 404
    assert "error" in response.json()
    assert http.get("/platforms/tiktok/posts/tt_doesnotexist/metrics").status_code == 404


def test_metrics_grow_over_time(http, video_file):
    created = post_video(http, "tiktok", video_file).json()
    first = http.get(f"/platforms/tiktok/posts/{created['id']}/metrics").json()
    time.sleep(0.5)
    second = http.get(f"/platforms/tiktok/posts/{created['id']}/metrics").json()
    assert set(first) == {"id", "views", "likes", "comments", "shares", "measured_at"}
    assert second["views"] > first["views"]
    for name in ("likes", "comments", "shares"):
        assert second[name] >= first[name]


@pytest.mark.parametrize("platform", ["youtube", "x"])
def test_error_fault_is_a_500_and_records_nothing(http, platform, video_file):
    faults.set_faults(platform, error_rate=1.0)
    response = post_video(http, platform, video_file)
    assert response.status_code == 500
    assert SandboxPost.objects.count() == 0
    assert faults.call_count(platform) == 1


def test_outage_is_a_503_on_every_call(http, video_file):
    created = post_video(http, "instagram", video_file).json()
    faults.set_faults("instagram", outage=True)
    assert post_video(http, "instagram", video_file).status_code == 503
    assert http.get(f"/platforms/instagram/posts/{created['id']}").status_code == 503
    assert http.get("/platforms/instagram/posts").status_code == 503
    assert SandboxPost.objects.count() == 1


def test_rate_limit_fault_classified_by_the_project_http_layer(sandbox_url, video_file):
    faults.set_faults("youtube", rate_limit_rate=1.0, retry_after=3)
    with (
        make_client(f"{sandbox_url}/platforms/youtube", headers=AUTH) as client,
        pytest.raises(RateLimited) as caught,
    ):
        send(client, "POST", "/posts", provider="youtube", irreversible=True, files={"video": video_file})
    assert caught.value.retry_after == 3.0
    assert SandboxPost.objects.count() == 0


def test_x_rate_limit_reset_header_is_understood(sandbox_url, video_file):
    faults.set_faults("x", rate_limit_rate=1.0, retry_after=4)
    with make_client(f"{sandbox_url}/platforms/x", headers=AUTH) as client, pytest.raises(RateLimited) as caught:
        send(client, "POST", "/posts", provider="x", irreversible=True, files={"video": video_file})
    assert 2.0 <= caught.value.retry_after <= 5.0


def test_timeout_fault_outlasts_the_client(sandbox_url, video_file):
    faults.set_faults("tiktok", timeout_rate=1.0)
    with (
        make_client(f"{sandbox_url}/platforms/tiktok", headers=AUTH, read_timeout=CLIENT_TIMEOUT) as client,
        pytest.raises(TransientError),
    ):
        send(client, "GET", "/posts", provider="tiktok")
    assert faults.fault_counts("tiktok") == {"timeout": 1}


def test_accept_then_timeout_records_the_post_the_client_never_hears_of(sandbox_url, http, video_file):
    faults.set_faults("youtube", accept_then_timeout_rate=1.0)
    with make_client(f"{sandbox_url}/platforms/youtube", headers=AUTH, read_timeout=CLIENT_TIMEOUT) as client:
        with pytest.raises(UnknownOutcome):
            send(client, "POST", "/posts", provider="youtube", irreversible=True,
                 data={"client_ref": "lost-1", "asset_ref": "asset-7"}, files={"video": video_file})
        # Reads are not post creations, so the client can find out what happened.
        found = send(client, "GET", "/posts", provider="youtube", params={"client_ref": "lost-1"}).json()
    assert len(found["results"]) == 1
    post = SandboxPost.objects.get(client_ref="lost-1")
    assert post.response_lost is True
    assert post.asset_ref == "asset-7"
    assert http.get(f"/platforms/youtube/posts/{post.remote_id}").status_code == 200


def test_missing_video_is_permanent_for_the_http_layer(sandbox_url):
    with (
        make_client(f"{sandbox_url}/platforms/instagram", headers=AUTH) as client,
        pytest.raises(PermanentError) as caught,
    ):
        send(client, "POST", "/posts", provider="instagram", data={"title": "t"})
    assert caught.value.status_code == 400
    assert "video" in caught.value.message


def test_faults_change_without_restart(http, video_file):
    assert post_video(http, "tiktok", video_file).status_code == 201
    faults.set_faults("tiktok", error_rate=1.0)
    assert post_video(http, "tiktok", video_file).status_code == 500
    faults.clear_faults("tiktok")
    assert post_video(http, "tiktok", video_file).status_code == 201
    assert faults.call_count("tiktok") == 3


def test_the_project_mounts_the_sandbox():
    from django.urls import reverse

    path = reverse("sandbox:platform-posts", args=["youtube"], urlconf="phantoms.urls")
    assert path == "/sandbox/platforms/youtube/posts"
