import array
import io
import json
import wave

import httpx
import openai
import pytest

from pipeline.script_format import Script, compose_template_script
from sandbox import faults
from tests.media.helpers import loudness

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


def test_speech_is_a_24khz_mono_wav_of_audible_speech(client, tmp_path):
    text = "Charge your phone across the room, so the alarm gets you standing before you can scroll."
    audio = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input=text,
                                       response_format="wav")
    rate, channels, width, seconds = read_wav(audio.content)
    assert (rate, channels, width) == (24_000, 1, 2)
    assert 3.0 < seconds < 7.0
    path = tmp_path / "speech.wav"
    path.write_bytes(audio.content)
    integrated, mean = loudness(path)
    assert integrated > -30 and mean > -35

    faster = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input=text, speed=1.5)
    assert read_wav(faster.content)[3] == pytest.approx(seconds / 1.5, rel=0.15)


def test_pcm_is_the_raw_24khz_samples(client):
    wav = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there.", response_format="wav")
    pcm = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there.", response_format="pcm")
    assert not pcm.content.startswith(b"RIFF")  # no header: samples only
    with wave.open(io.BytesIO(wav.content)) as parsed:
        # The engine's output varies by a few milliseconds between runs; the format does not.
        assert len(pcm.content) == pytest.approx(2 * parsed.getnframes(), abs=2 * 2400)
        assert len(pcm.content) % 2 == 0


def transcribe(client, audio: bytes, **options):
    return client.audio.transcriptions.create(file=("speech.wav", audio, "audio/wav"), model="whisper-1", **options)


def test_transcription_times_words_where_they_are_heard(client):
    text = "Dim the lights an hour before bed. Your body clock notices."
    audio = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input=text).content

    result = transcribe(client, audio, response_format="verbose_json", timestamp_granularities=["word"])

    assert result.text == text and result.language == "english"
    assert result.duration == pytest.approx(read_wav(audio)[3], abs=0.01)
    assert [w.word for w in result.words] == [word.strip(".") for word in text.split()]
    assert result.segments is None  # only the granularity asked for
    with wave.open(io.BytesIO(audio)) as parsed:
        samples = array.array("h", parsed.readframes(parsed.getnframes()))
    for word in result.words:
        # Each word is really heard at its start, and the words run forwards in time.
        start = int(word.start * 24_000)
        assert max(abs(s) for s in samples[start:start + 2400]) > 1000, word
    bed, your = result.words[6], result.words[7]
    assert your.start - bed.end > 0.15  # the pause after the sentence
    assert max(abs(s) for s in samples[int((bed.end + 0.02) * 24_000):int((your.start - 0.02) * 24_000)]) < 400


def test_transcription_finds_pieces_joined_back_to_back(client):
    first = client.audio.speech.create(model="tts-1", voice="alloy", input="First piece here.").content
    second = client.audio.speech.create(model="tts-1", voice="alloy", input="Second piece now.").content
    with wave.open(io.BytesIO(first)) as a, wave.open(io.BytesIO(second)) as b:
        frames_a, frames_b = a.readframes(a.getnframes()), b.readframes(b.getnframes())
    joined = io.BytesIO()
    with wave.open(joined, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(24_000)
        out.writeframes(frames_a + frames_b)

    result = transcribe(client, joined.getvalue(), response_format="verbose_json",
                        timestamp_granularities=["word", "segment"])

    assert [w.word for w in result.words] == ["First", "piece", "here", "Second", "piece", "now"]
    offset = len(frames_a) / 2 / 24_000
    assert result.words[3].start >= offset - 0.001
    assert [segment.text.strip() for segment in result.segments] == ["First piece here.", "Second piece now."]


def test_audio_the_sandbox_never_spoke_is_heard_as_nothing(client):
    silent = io.BytesIO()
    with wave.open(silent, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(24_000)
        out.writeframes(bytes(48_000))
    result = transcribe(client, silent.getvalue(), response_format="verbose_json", timestamp_granularities=["word"])
    assert result.text == "" and result.words == [] and result.duration == pytest.approx(1.0)


def test_transcription_formats(client):
    audio = client.audio.speech.create(model="tts-1", voice="alloy", input="Short and sweet.").content
    assert transcribe(client, audio).text == "Short and sweet."
    assert transcribe(client, audio, response_format="text").strip() == "Short and sweet."
    srt = transcribe(client, audio, response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:0") and "Short and sweet." in srt
    assert transcribe(client, audio, response_format="vtt").startswith("WEBVTT")


def test_word_timestamps_need_verbose_json(client):
    audio = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello.").content
    with pytest.raises(openai.BadRequestError) as caught:
        transcribe(client, audio, response_format="json", timestamp_granularities=["word"])
    assert caught.value.body["param"] == "timestamp_granularities"


@pytest.mark.parametrize("files,data,param", [
    ({}, {"model": "whisper-1"}, "file"),
    ({"file": ("a.wav", b"RIFF", "audio/wav")}, {}, "model"),
    ({"file": ("a.txt", b"hello", "text/plain")}, {"model": "whisper-1"}, "file"),
    ({"file": ("a.wav", b"not a wav at all", "audio/wav")}, {"model": "whisper-1"}, "file"),
    ({"file": ("a.wav", b"RIFF", "audio/wav")}, {"model": "whisper-1", "response_format": "xml"}, "response_format"),
])
def test_bad_transcription_requests_are_400s_naming_the_parameter(http, files, data, param):
    response = http.post("/openai/v1/audio/transcriptions", files=files, data=data)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_chat_completions_parse_gives_the_same_script(client):
    completion = client.chat.completions.parse(
        model="llama3.1:8b",
        messages=[{"role": "system", "content": "You write short-form video scripts."},
                  {"role": "user", "content": f"Brief: {BRIEF}\nTarget duration: 30 seconds: about 90 words of "
                                              f"narration (hook and beats together), at this voice's 3.0 words per "
                                              f"second."}],
        response_format=Script, temperature=0.4,
    )
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.choices[0].finish_reason == "stop"
    script = completion.choices[0].message.parsed
    assert script == compose_template_script(BRIEF, target_duration_seconds=30, words_per_second=3.0)
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_a_compatible_server_serves_chat_completions_but_no_responses_api(sandbox_url):
    compatible = openai.OpenAI(api_key="none", base_url=f"{sandbox_url}/openai-compatible/v1", max_retries=0,
                               timeout=10)
    completion = compatible.chat.completions.create(model="llama3.1:8b",
                                                    messages=[{"role": "user", "content": BRIEF}])
    assert Script.model_validate_json(completion.choices[0].message.content)
    with pytest.raises(openai.NotFoundError):
        compatible.responses.create(model="llama3.1:8b", input=BRIEF)


@pytest.mark.parametrize("model", ["o3-mini", "gpt-5"])
def test_reasoning_models_refuse_temperature(client, model):
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=model, input=BRIEF, temperature=0.7)
    assert caught.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": BRIEF}], temperature=0.7)
    assert client.responses.create(model=model, input=BRIEF).status == "completed"


def test_notes_in_the_prompt_steer_the_script_and_are_not_read_out(client):
    notes = "Open with the posture problem and drop the calf raises."
    brief = "A one-minute stretch for people who sit all day"
    plain = Script.model_validate_json(client.responses.create(
        model="gpt-4o-mini", input=f"Brief: {brief}\nTarget duration: 30 seconds.").output_text)
    rewrite = Script.model_validate_json(client.responses.create(model="gpt-4o-mini", input=[
        {"role": "user", "content": f"This is a rewrite.\nEditor's notes: {notes}\nPrevious draft: {{}}"},
        {"role": "user", "content": f"Brief: {brief}\nTarget duration: 30 seconds."},
    ]).output_text)
    assert rewrite.hook != plain.hook and "posture" in rewrite.hook.lower()
    assert "calf" not in rewrite.narration_text().lower()
    assert notes.lower() not in rewrite.narration_text().lower()


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
