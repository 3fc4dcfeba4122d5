"""An OpenAI-compatible stand-in: the Responses API and text-to-speech, answered without a model.

Good enough for the official `openai` SDK: `responses.create`, `responses.parse(text_format=Script)`
and `audio.speech.create`. The script is the deterministic template script for the brief, so the
same brief always gets the same script.
"""

import io
import json
import math
import re
import time
import uuid
import wave
from array import array

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from pipeline.script_format import compose_template_script
from sandbox import faults

from .common import gate, json_body

DEFAULT_DURATION = 20
_DURATION_PATTERNS = (
    re.compile(r"target[ _-]?duration\D{0,20}?(\d{1,3})", re.IGNORECASE),
    re.compile(r"\b(\d{1,3})\s*-?\s*(?:seconds?|secs?|s)\b", re.IGNORECASE),
)

_DURATION_PHRASE = re.compile(
    r"target[ _-]?duration\s*(?:[:=]|of|is)?\s*\d{1,3}\s*(?:seconds?|secs?|s)?\b\.?", re.IGNORECASE
)

SAMPLE_RATE = 24_000
TONE_HZ = 240  # divides the sample rate, so one period tiles without a click
TONE_AMPLITUDE = 600  # out of 32767: audible but quiet
WORDS_PER_SECOND = 2.6
AUDIO_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")


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
    brief = _DURATION_PHRASE.sub(" ", text)
    brief = " ".join(brief.split()).strip(" ,;:-")
    return re.sub(r"^brief\s*:\s*", "", brief, flags=re.IGNORECASE) or " ".join(text.split())


def estimate_tokens(text: str) -> int:
    return int(len(text.split()) * 1.3)


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
    messages = _input_messages(body.get("input"))
    user_texts = [text for role, text in messages if role == "user" and text.strip()]
    if not user_texts:
        return _invalid("openai", "The input must contain a user message with text.", "input")
    instructions = body.get("instructions")
    instructions_text = instructions if isinstance(instructions, str) else ""

    brief = brief_from(user_texts[-1])
    duration = target_duration(user_texts[-1], *reversed(user_texts[:-1]), instructions_text)
    script = compose_template_script(brief, target_duration_seconds=duration)
    output_text = json.dumps(script.model_dump(), ensure_ascii=False)

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
        "temperature": float(body.get("temperature", 1.0)),
        "top_p": float(body.get("top_p", 1.0)),
        "text": text_config,
        "truncation": "disabled",
        "user": None,
    })


def speech_wav(seconds: float) -> bytes:
    """A quiet 24 kHz mono 16-bit tone of the given length, as a WAV file."""
    period = array("h", [0] * (SAMPLE_RATE // TONE_HZ))
    for index in range(len(period)):
        period[index] = int(TONE_AMPLITUDE * math.sin(2 * math.pi * index / len(period)))
    total = int(SAMPLE_RATE * seconds)
    samples = period * (total // len(period) + 1)
    del samples[total:]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.tobytes())
    return buffer.getvalue()


def speech_seconds(text: str, speed: float) -> float:
    return max(1.0, len(text.split()) / (WORDS_PER_SECOND * speed))


@csrf_exempt
@require_POST
def speech(request):
    """Text to speech. Every response_format gets WAV bytes: nothing downstream needs real mp3."""
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
    audio = speech_wav(speech_seconds(text, speed))
    response = HttpResponse(audio, content_type="audio/wav")
    response["Content-Length"] = str(len(audio))
    return response
