import io
import json
import wave

import httpx
import openai
import pytest

from pipeline.script_format import Script, compose_template_script
from sandbox import faults

CLIENT_TIMEOUT = 0.4


@pytest.fixture
def client(sandbox_url):
    return openai.OpenAI(api_key="sandbox-key", base_url=f"{sandbox_url}/openai/v1", max_retries=0,
                         timeout=10)


BRIEF = "Why sourdough starters smell like nail polish remover"


def test_responses_create_returns_a_script_as_text(client):
    response = client.responses.create(model="gpt-4o-mini", input=f"{BRIEF}\nTarget duration: 30 seconds")
    assert response.status == "completed"
    assert response.model == "gpt-4o-mini"
    assert response.id.startswith("resp_")
    script = Script.model_validate_json(response.output_text)
    assert script.target_duration_seconds == 30
    assert script == compose_template_script(BRIEF, target_duration_seconds=30)
    assert response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


def test_responses_parse_gives_a_parsed_script(client):
    response = client.responses.parse(
        model="gpt-4o-mini",
        instructions="You write short-form video scripts.",
        input=[{"role": "user", "content": BRIEF}],
        text_format=Script,
        temperature=0.7,
    )
    assert isinstance(response.output_parsed, Script)
    assert response.output_parsed.target_duration_seconds == 20
    assert "sourdough" in response.output_parsed.title.lower()
    assert response.instructions == "You write short-form video scripts."
    assert response.temperature == pytest.approx(0.7)
    assert response.text.format.type == "json_schema"


@pytest.mark.parametrize(("text", "seconds"), [
    (f"{BRIEF}. Target duration: 30 seconds.", 30),
    (f"Make a 15 second video. Brief: {BRIEF}", 15),
    (f"Brief: {BRIEF}", 20),
])
def test_duration_phrases(client, text, seconds):
    script = Script.model_validate_json(client.responses.create(model="m", input=text).output_text)
    assert script.target_duration_seconds == seconds
    assert "sourdough" in script.title.lower()
    assert "duration" not in script.title.lower()


def test_brief_is_the_last_user_message_from_content_parts(client):
    response = client.responses.create(
        model="gpt-4o-mini",
        input=[
            {"role": "system", "content": "Write scripts. Keep it under 60 seconds."},
            {"role": "user", "content": [{"type": "input_text", "text": "An older brief about cats"}]},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "input_text", "text": "Brief: How tides work\n"
                                                                        "Target duration: 45"}]},
        ],
    )
    script = Script.model_validate_json(response.output_text)
    assert script.title == "How tides work"
    assert script.target_duration_seconds == 45


def test_missing_bearer_is_a_401_in_openai_shape(sandbox_url):
    response = httpx.post(f"{sandbox_url}/openai/v1/responses", json={"model": "m", "input": "hi"})
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_empty_input_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o-mini", input=[])
    assert caught.value.body["param"] == "input"


def test_error_fault_raises_internal_server_error(client):
    faults.set_faults("openai", error_rate=1.0)
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="gpt-4o-mini", input=BRIEF)
    assert caught.value.status_code == 500
    assert caught.value.body["type"] == "server_error"
    assert faults.call_count("openai") == 1


def test_outage_fault_is_a_503(client):
    faults.set_faults("openai", outage=True)
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="gpt-4o-mini", input=BRIEF)
    assert caught.value.status_code == 503


def test_rate_limit_fault_is_retryable(client):
    faults.set_faults("openai", rate_limit_rate=1.0, retry_after=4)
    with pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model="gpt-4o-mini", input=BRIEF)
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "4"


def test_exhausted_quota_is_marked_permanent(sandbox_url):
    faults.set_faults("openai", rate_limit_rate=1.0, quota_exhausted=True)
    # With retries on, the SDK still gives up at once: the sandbox says a retry cannot help.
    retrying = openai.OpenAI(api_key="k", base_url=f"{sandbox_url}/openai/v1", max_retries=3, timeout=10)
    with pytest.raises(openai.RateLimitError) as caught:
        retrying.responses.create(model="gpt-4o-mini", input=BRIEF)
    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"
    assert faults.call_count("openai") == 1


def test_timeout_fault_outlasts_the_client(client):
    faults.set_faults("openai", timeout_rate=1.0)
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=CLIENT_TIMEOUT).responses.create(model="gpt-4o-mini", input=BRIEF)


def test_latency_fault_slows_but_succeeds(client):
    faults.set_faults("openai", latency_ms=300)
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.1).responses.create(model="gpt-4o-mini", input=BRIEF)
    response = client.responses.create(model="gpt-4o-mini", input=BRIEF)
    assert Script.model_validate_json(response.output_text)


def read_wav(data: bytes):
    with wave.open(io.BytesIO(data)) as wav:
        rate = wav.getframerate()
        return rate, wav.getnchannels(), wav.getsampwidth(), wav.getnframes() / rate


def test_speech_is_a_24khz_mono_wav_as_long_as_the_words(client):
    text = " ".join(["word"] * 26)
    audio = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input=text,
                                       response_format="wav")
    rate, channels, width, seconds = read_wav(audio.content)
    assert (rate, channels, width) == (24_000, 1, 2)
    assert seconds == pytest.approx(10.0, abs=0.01)

    faster = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input=text, speed=2.0)
    assert read_wav(faster.content)[3] == pytest.approx(5.0, abs=0.01)


def test_short_speech_lasts_at_least_a_second(client):
    audio = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="Hi")
    assert read_wav(audio.content)[3] == pytest.approx(1.0, abs=0.01)


def test_speech_is_not_silent(client):
    audio = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="A quiet tone")
    with wave.open(io.BytesIO(audio.content)) as wav:
        frames = wav.readframes(wav.getnframes())
    assert any(frames)


def test_empty_speech_input_is_a_400_on_input(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="   ")
    assert caught.value.body["param"] == "input"


def test_tts_faults_are_separate_from_openai(client):
    faults.set_faults("tts", error_rate=1.0)
    with pytest.raises(openai.InternalServerError):
        client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="hello there")
    response = client.responses.create(model="gpt-4o-mini", input=BRIEF)
    assert json.loads(response.output_text)["title"]
    assert faults.call_count("tts") == 1
    assert faults.call_count("openai") == 1
