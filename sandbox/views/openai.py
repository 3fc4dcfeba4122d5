"""An OpenAI-compatible stand-in, answered without a model, in the shapes of the OpenAI API reference.

- `POST /v1/responses` (Responses API) and `POST /v1/chat/completions` (Chat Completions) write the
  offline writer's script for the brief in the last user message, sized to the word budget and
  steered by the editor's notes the prompt carries, so the same prompt always gets the same script.
  Both refuse `temperature` for reasoning models (o-series, gpt-5), as the API does.
- `POST /v1/audio/speech` speaks with the offline engine (eSpeak NG) and returns 24 kHz WAV.
- `POST /v1/audio/transcriptions` (multipart) returns `json`, `text`, `srt`, `vtt` or `verbose_json`;
  with `timestamp_granularities[]=word` the words carry the times they are really heard in audio
  this sandbox spoke (sandbox.speech), and `word` without `verbose_json` is a 400, as it is there.
Good enough for the official `openai` SDK: `responses.parse`, `chat.completions.parse`,
`audio.speech.create`, `audio.transcriptions.create`.
"""

import io
import json
import math
import re
import time
import uuid
import wave

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from pipeline.script_format import compose_template_script
from sandbox import faults
from sandbox import speech as sandbox_speech

from .common import gate, json_body

DEFAULT_DURATION = 20
_DURATION_PATTERNS = (
    re.compile(r"target[ _-]?duration\D{0,20}?(\d{1,3})", re.IGNORECASE),
    re.compile(r"\b(\d{1,3})\s*-?\s*(?:seconds?|secs?|s)\b", re.IGNORECASE),
)

_DURATION_PHRASE = re.compile(
    r"target[ _-]?duration\s*(?:[:=]|of|is)?\s*\d{1,3}\s*(?:seconds?|secs?|s)?\b\.?", re.IGNORECASE
)

AUDIO_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
TRANSCRIPTION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
TRANSCRIPTION_FILE_TYPES = ("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm")
MAX_TRANSCRIPTION_BYTES = 25 * 1024 * 1024
_REASONING_MODEL = re.compile(r"^(?:o\d|gpt-5)(?!.*-chat)")
_WORD_BUDGET = re.compile(r"about (\d{1,4}) words", re.IGNORECASE)
_NOTES = re.compile(r"Editor's notes:\s*(.+?)(?:\nPrevious draft:|\Z)", re.DOTALL)
_DURATION_LINE = re.compile(r"^\s*target[ _-]?duration\b.*$", re.IGNORECASE | re.MULTILINE)


def _invalid(target: str, message: str, param: str | None) -> JsonResponse:
    return faults.error_response(target, 400, message, code="invalid_value" if param else "invalid_request",
                                 error_type="invalid_request_error", param=param)


def _content_text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return ""


def _input_messages(raw_input) -> list[tuple[str, str]]:
    """(role, text) for every message in a Responses API `input`."""
    if isinstance(raw_input, str):
        return [("user", raw_input)]
    messages = []
    if isinstance(raw_input, list):
        for item in raw_input:
            if isinstance(item, str):
                messages.append(("user", item))
            elif isinstance(item, dict) and item.get("type", "message") == "message":
                messages.append((str(item.get("role", "user")), _content_text(item.get("content"))))
    return messages


def target_duration(*texts: str) -> int:
    for pattern in _DURATION_PATTERNS:
        for text in texts:
            match = pattern.search(text or "")
            if match:
                # The Script contract only accepts 5..180 seconds.
                return max(5, min(180, int(match.group(1))))
    return DEFAULT_DURATION


def brief_from(text: str) -> str:
    """The brief itself, without a duration phrase or a leading "Brief:" label a prompt may add."""
    brief = _DURATION_LINE.sub(" ", text) if _DURATION_LINE.sub("", text).strip() else text
    brief = _DURATION_PHRASE.sub(" ", brief)
    brief = " ".join(brief.split()).strip(" ,;:-")
    return re.sub(r"^brief\s*:\s*", "", brief, flags=re.IGNORECASE) or " ".join(text.split())


def estimate_tokens(text: str) -> int:
    return int(len(text.split()) * 1.3)


def script_for(messages: list[tuple[str, str]], instructions: str = "") -> str:
    """The script, as JSON text, for the brief in the last user message of a prompt."""
    user_texts = [text for role, text in messages if role == "user" and text.strip()]
    brief = brief_from(user_texts[-1])
    duration = target_duration(user_texts[-1], *reversed(user_texts[:-1]), instructions)
    budget = _WORD_BUDGET.search(user_texts[-1])
    pace = int(budget.group(1)) / duration if budget else None
    notes = next((match.group(1).strip() for text in user_texts[:-1] if (match := _NOTES.search(text))), "")
    script = compose_template_script(brief, target_duration_seconds=duration, words_per_second=pace, notes=notes)
    return json.dumps(script.model_dump(), ensure_ascii=False)


def _refuse_temperature(body: dict) -> JsonResponse | None:
    if "temperature" in body and body.get("temperature") is not None and _REASONING_MODEL.match(body["model"]):
        return faults.error_response("openai", 400, "Unsupported parameter: 'temperature' is not supported "
                                     "with this model.", code="unsupported_parameter",
                                     error_type="invalid_request_error", param="temperature")
    return None


@csrf_exempt
@require_POST
def responses(request):
    faulted = gate(request, "openai")
    if faulted is not None:
        return faulted
    body, error = json_body(request, "openai")
    if error is not None:
        return error
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _invalid("openai", "Missing required parameter: 'model'.", "model")
    refused = _refuse_temperature(body)
    if refused is not None:
        return refused
    messages = _input_messages(body.get("input"))
    if not any(role == "user" and text.strip() for role, text in messages):
        return _invalid("openai", "The input must contain a user message with text.", "input")
    instructions = body.get("instructions")
    instructions_text = instructions if isinstance(instructions, str) else ""
    output_text = script_for(messages, instructions_text)

    all_input = " ".join([instructions_text] + [text for _, text in messages])
    input_tokens = estimate_tokens(all_input)
    output_tokens = estimate_tokens(output_text)
    now = int(time.time())
    text_config = body.get("text") if isinstance(body.get("text"), dict) else {"format": {"type": "text"}}
    return JsonResponse({
        "id": f"resp_{uuid.uuid4().hex}",
        "object": "response",
        "created_at": now,
        "completed_at": now,
        "status": "completed",
        "background": False,
        "model": model,
        "output": [{
            "type": "message",
            "id": f"msg_{uuid.uuid4().hex}",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": output_text, "annotations": [], "logprobs": []}],
        }],
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": instructions,
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": bool(body.get("store", True)),
        "temperature": float(body.get("temperature", 1.0) or 1.0),
        "top_p": float(body.get("top_p", 1.0)),
        "text": text_config,
        "truncation": "disabled",
        "user": None,
    })


@csrf_exempt
@require_POST
def chat_completions(request):
    """Chat Completions: `messages` in, one `choices[0].message` out, `response_format` json_schema honoured."""
    faulted = gate(request, "openai")
    if faulted is not None:
        return faulted
    body, error = json_body(request, "openai")
    if error is not None:
        return error
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _invalid("openai", "Missing required parameter: 'model'.", "model")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        return _invalid("openai", "Missing required parameter: 'messages'.", "messages")
    refused = _refuse_temperature(body)
    if refused is not None:
        return refused
    response_format = body.get("response_format")
    if response_format is not None:
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            return _invalid("openai", "Invalid value for 'response_format.type'.", "response_format.type")
        if kind == "json_schema":
            schema = response_format.get("json_schema")
            if not isinstance(schema, dict) or not schema.get("name"):
                return _invalid("openai", "Missing required parameter: 'response_format.json_schema.name'.",
                                "response_format.json_schema.name")
    messages = [(str(item.get("role", "")), _content_text(item.get("content")))
                for item in raw_messages if isinstance(item, dict)]
    if not any(role == "user" and text.strip() for role, text in messages):
        return _invalid("openai", "The messages must contain a user message with text.", "messages")
    instructions = " ".join(text for role, text in messages if role in ("system", "developer"))
    output_text = script_for(messages, instructions)
    prompt_tokens = estimate_tokens(" ".join(text for _, text in messages))
    completion_tokens = estimate_tokens(output_text)
    return JsonResponse({
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": output_text, "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_sandbox",
    })


@csrf_exempt
@require_POST
def speech(request):
    """Text to speech with the offline engine. Every response_format gets WAV bytes (24 kHz, 16-bit mono)."""
    faulted = gate(request, "tts")
    if faulted is not None:
        return faulted
    body, error = json_body(request, "tts")
    if error is not None:
        return error
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        return _invalid("tts", "The input text must not be empty.", "input")
    if len(text) > 4096:
        return _invalid("tts", "The input text is longer than 4096 characters.", "input")
    if not isinstance(body.get("model"), str) or not body["model"]:
        return _invalid("tts", "Missing required parameter: 'model'.", "model")
    if not isinstance(body.get("voice"), str | dict) or not body["voice"]:
        return _invalid("tts", "Missing required parameter: 'voice'.", "voice")
    response_format = body.get("response_format", "wav")
    if response_format not in AUDIO_FORMATS:
        return _invalid("tts", f"Unsupported response_format {response_format!r}.", "response_format")
    try:
        speed = float(body.get("speed", 1.0))
    except (TypeError, ValueError):
        return _invalid("tts", "speed must be a number.", "speed")
    if not 0.25 <= speed <= 4.0:
        return _invalid("tts", "speed must be between 0.25 and 4.0.", "speed")
    pcm, _ = sandbox_speech.speak(text, speed)
    audio = pcm if response_format == "pcm" else sandbox_speech.wav_bytes(pcm)
    response = HttpResponse(audio, content_type="audio/pcm" if response_format == "pcm" else "audio/wav")
    response["Content-Length"] = str(len(audio))
    return response


def _decode_wav(data: bytes) -> tuple[bytes, int, float] | None:
    """Mono 16-bit PCM, its rate and duration; None if it is not a PCM WAV."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        return None
    if width != 2 or not rate:
        return None
    duration = len(frames) / (channels * width * rate)
    if channels != 1:
        frames = b"".join(frames[i:i + 2] for i in range(0, len(frames), 2 * channels))
    return frames, rate, duration


def _segments(words: list[dict]) -> list[dict]:
    segments, current = [], []
    for word in words:
        current.append(word)
        if len(current) >= 30 or word.get("sentence_end"):
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    return [{"id": index, "seek": 0, "start": group[0]["start"], "end": group[-1]["end"],
             "text": " " + " ".join(word["text"] for word in group), "tokens": [], "temperature": 0.0,
             "avg_logprob": -0.2, "compression_ratio": 1.3, "no_speech_prob": 0.01}
            for index, group in enumerate(segments)]


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _subtitles(segments: list[dict], kind: str) -> str:
    separator = "," if kind == "srt" else "."
    blocks = [] if kind == "srt" else ["WEBVTT", ""]
    for index, segment in enumerate(segments, start=1):
        if kind == "srt":
            blocks.append(str(index))
        blocks.append(f"{_clock(segment['start'], separator)} --> {_clock(segment['end'], separator)}")
        blocks.extend([segment["text"].strip(), ""])
    return "\n".join(blocks)


@csrf_exempt
@require_POST
def transcriptions(request):
    """Create transcription: multipart `file` and `model`; `response_format`; `timestamp_granularities[]`."""
    faulted = gate(request, "tts")
    if faulted is not None:
        return faulted
    upload = request.FILES.get("file")
    model = request.POST.get("model", "")
    if upload is None:
        return _invalid("tts", "Missing required parameter: 'file'.", "file")
    if not model:
        return _invalid("tts", "Missing required parameter: 'model'.", "model")
    if upload.size > MAX_TRANSCRIPTION_BYTES:
        return faults.error_response("tts", 413, f"Maximum content size limit ({MAX_TRANSCRIPTION_BYTES}) exceeded "
                                     f"({upload.size} bytes read)", code="payload_too_large",
                                     error_type="invalid_request_error", param="file")
    extension = (upload.name or "").rsplit(".", 1)[-1].lower()
    if extension not in TRANSCRIPTION_FILE_TYPES:
        return _invalid("tts", f"Invalid file format. Supported formats: {list(TRANSCRIPTION_FILE_TYPES)}", "file")
    response_format = request.POST.get("response_format", "json")
    if response_format not in TRANSCRIPTION_FORMATS:
        return _invalid("tts", f"Invalid value for 'response_format': {response_format!r}.", "response_format")
    granularities = request.POST.getlist("timestamp_granularities[]") or \
        request.POST.getlist("timestamp_granularities")
    unknown = [value for value in granularities if value not in ("word", "segment")]
    if unknown:
        return _invalid("tts", f"Invalid value for 'timestamp_granularities': {unknown[0]!r}.",
                        "timestamp_granularities")
    if granularities and response_format != "verbose_json":
        return _invalid("tts", "timestamp_granularities is only supported with response_format 'verbose_json'.",
                        "timestamp_granularities")

    data = upload.read()
    decoded = _decode_wav(data) if extension == "wav" else None
    if extension == "wav" and decoded is None:
        return _invalid("tts", "The audio file could not be decoded or its format is not supported.", "file")
    pcm, rate, duration = decoded if decoded else (b"", 0, 0.0)
    heard = sandbox_speech.recognise(pcm, rate) if pcm else []
    words = heard
    text = " ".join(word["text"] for word in words)
    usage = {"type": "duration", "seconds": math.ceil(duration)}

    if response_format == "text":
        return HttpResponse(text + "\n", content_type="text/plain; charset=utf-8")
    segments = _segments(words)
    if response_format in ("srt", "vtt"):
        return HttpResponse(_subtitles(segments, response_format), content_type="text/plain; charset=utf-8")
    if response_format == "json":
        return JsonResponse({"text": text, "usage": usage})
    body = {"task": "transcribe", "language": "english", "duration": round(duration, 3), "text": text}
    if "word" in granularities:
        body["words"] = [{"word": word["word"], "start": word["start"], "end": word["end"]} for word in words]
    if not granularities or "segment" in granularities:
        body["segments"] = segments
    body["usage"] = usage
    return JsonResponse(body)
