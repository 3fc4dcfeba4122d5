"""The sandbox's OpenAI Images endpoint, driven by the official SDK: real images, the documented answers and errors."""

import base64

import httpx
import openai
import pytest

from pipeline.media.ffmpeg import probe
from sandbox import faults


@pytest.fixture
def client(sandbox_url):
    with openai.OpenAI(api_key="sk-test", base_url=f"{sandbox_url}/openai/v1", max_retries=0, timeout=30) as client:
        yield client


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return probe(path)


def test_a_gpt_image_answers_with_a_base64_jpeg_of_the_asked_size_and_its_usage(client, tmp_path):
    response = client.images.generate(model="gpt-image-1", prompt="A calm bedroom at night", size="1024x1536",
                                      quality="low", output_format="jpeg", n=1)

    assert len(response.data) == 1 and response.data[0].url is None
    data = base64.b64decode(response.data[0].b64_json)
    assert data[:2] == b"\xff\xd8"  # JPEG
    info = write(tmp_path, "a.jpg", data)
    assert (info.width, info.height) == (1024, 1536)
    assert (response.size, response.quality, response.output_format) == ("1024x1536", "low", "jpeg")
    assert response.usage.output_tokens == 408 and response.usage.input_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


def test_one_prompt_one_picture_different_prompts_different_pictures(client):
    def image(prompt):
        return client.images.generate(model="gpt-image-1", prompt=prompt, size="1024x1024", quality="low",
                                      output_format="png").data[0].b64_json

    assert image("a red kite") == image("a red kite")
    assert image("a red kite") != image("a green field")


def test_dall_e_answers_with_a_url_that_serves_the_png(client, tmp_path):
    response = client.images.generate(model="dall-e-3", prompt="A lighthouse", size="1024x1792")
    assert response.data[0].url and response.data[0].revised_prompt == "A lighthouse"
    download = httpx.get(response.data[0].url, timeout=10)
    assert download.status_code == 200 and download.content[:8] == b"\x89PNG\r\n\x1a\n"
    info = write(tmp_path, "b.png", download.content)
    assert (info.width, info.height) == (1024, 1792)


@pytest.mark.parametrize(("options", "param"), [
    ({"model": "gpt-image-1", "prompt": "x", "size": "1024x1792"}, "size"),
    ({"model": "gpt-image-1", "prompt": "x", "response_format": "url"}, "response_format"),
    ({"model": "dall-e-3", "prompt": "x", "n": 2}, "n"),
    ({"model": "gpt-4o", "prompt": "x"}, "model"),
    ({"model": "gpt-image-1", "prompt": "x", "quality": "ultra"}, "quality"),
])
def test_invalid_requests_are_400_naming_the_parameter(client, options, param):
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(**options)
    assert caught.value.status_code == 400 and caught.value.body["param"] == param


def test_a_missing_prompt_is_400(sandbox_url):
    response = httpx.post(f"{sandbox_url}/openai/v1/images/generations", json={"model": "gpt-image-1"},
                          headers={"Authorization": "Bearer sk-test"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "prompt"


def test_without_a_key_it_is_401_and_faults_apply(client, sandbox_url):
    response = httpx.post(f"{sandbox_url}/openai/v1/images/generations", json={"prompt": "x"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    faults.set_faults("images", quota_exhausted=True, rate_limit_rate=1.0)
    with pytest.raises(openai.RateLimitError) as caught:
        client.images.generate(model="gpt-image-1", prompt="x")
    assert caught.value.code == "insufficient_quota"
