"""The sandbox's Pexels: the documented search request and answer, real video files, its errors and limits."""

import time

import httpx
import pytest

from pipeline.media.ffmpeg import probe
from sandbox import faults

VIDEO_KEYS = {"id", "width", "height", "url", "image", "duration", "user", "video_files", "video_pictures"}
FILE_KEYS = {"id", "quality", "file_type", "width", "height", "fps", "link"}


@pytest.fixture
def pexels(sandbox_url):
    # Pexels takes the key as is in the Authorization header (no "Bearer").
    with httpx.Client(base_url=f"{sandbox_url}/pexels", headers={"Authorization": "pexels-test-key"},
                      timeout=httpx.Timeout(30.0)) as client:
        yield client


def search(pexels, **params):
    return pexels.get("/videos/search", params={"query": "ocean waves", **params})


def test_search_answers_in_the_documented_shape(pexels):
    response = search(pexels, orientation="portrait", size="medium", per_page=5)

    assert response.status_code == 200
    body = response.json()
    assert {"page", "per_page", "total_results", "url", "videos"} <= set(body)
    assert body["page"] == 1 and body["per_page"] == 5 and len(body["videos"]) == 5
    video = body["videos"][0]
    assert set(video) >= VIDEO_KEYS
    assert video["height"] > video["width"]  # portrait, as asked
    assert set(video["user"]) == {"id", "name", "url"} and video["url"].startswith("https://www.pexels.com/video/")
    assert all(set(f) >= FILE_KEYS and f["file_type"] == "video/mp4" for f in video["video_files"])
    assert {f["quality"] for f in video["video_files"]} == {"hd", "sd"}
    assert response.headers["X-Ratelimit-Limit"] and int(response.headers["X-Ratelimit-Reset"]) > time.time()


def test_results_are_stable_per_query_and_differ_between_queries(pexels):
    first = [v["id"] for v in search(pexels).json()["videos"]]
    again = [v["id"] for v in search(pexels).json()["videos"]]
    other = [v["id"] for v in pexels.get("/videos/search", params={"query": "city night"}).json()["videos"]]
    assert first == again and len(set(first)) == len(first)
    assert not set(first) & set(other)


def test_pages_follow_next_page(pexels):
    body = search(pexels, per_page=3).json()
    assert body["total_results"] > 3 and "next_page" in body and "prev_page" not in body
    second = pexels.get(body["next_page"]).json()
    assert second["page"] == 2 and "prev_page" in second
    assert not {v["id"] for v in body["videos"]} & {v["id"] for v in second["videos"]}


def test_a_query_with_no_matches_finds_nothing(pexels):
    body = pexels.get("/videos/search", params={"query": "noresults anywhere"}).json()
    assert body["total_results"] == 0 and body["videos"] == []


def test_a_file_link_serves_a_real_video_of_the_announced_size(pexels, tmp_path):
    video = search(pexels, orientation="portrait").json()["videos"][0]
    smallest = min(video["video_files"], key=lambda f: f["height"])

    response = httpx.get(smallest["link"], timeout=60)  # a CDN link: no key

    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    path = tmp_path / "clip.mp4"
    path.write_bytes(response.content)
    info = probe(path)
    assert (info.width, info.height, info.video_codec) == (smallest["width"], smallest["height"], "h264")
    assert info.duration == pytest.approx(video["duration"], abs=0.2)


@pytest.mark.parametrize(("params", "problem"), [
    ({"query": ""}, "query"),
    ({"orientation": "diagonal"}, "orientation"),
    ({"size": "huge"}, "size"),
    ({"per_page": 81}, "per_page"),
    ({"page": 0}, "page"),
    ({"per_page": "many"}, "per_page"),
])
def test_bad_searches_are_400_naming_the_parameter(pexels, params, problem):
    response = search(pexels, **params)
    assert response.status_code == 400 and problem in response.json()["error"]


def test_a_search_without_a_key_is_401(sandbox_url):
    response = httpx.get(f"{sandbox_url}/pexels/videos/search", params={"query": "ocean"})
    assert response.status_code == 401 and "Authorization" in response.json()["error"]
    assert faults.call_count("pexels") == 1


def test_the_rate_limit_fault_is_a_429_with_the_reset_as_epoch_seconds(pexels):
    faults.set_faults("pexels", rate_limit_rate=1.0, retry_after=30)
    response = search(pexels)
    assert response.status_code == 429
    assert response.headers["X-Ratelimit-Remaining"] == "0"
    assert 25 <= int(response.headers["X-Ratelimit-Reset"]) - time.time() <= 32
    assert "Retry-After" not in response.headers
