"""Fixtures for the real provider adapters: recorded protocol answers, WAVs, rendering-ready assets."""

import io
import json
import math
import struct
import wave
from pathlib import Path
from types import SimpleNamespace

import pytest
import respx
from django.test import override_settings

from pipeline.media.voice import estimate_word_timings, write_silence
from pipeline.models import Asset
from pipeline.script_format import compose_template_script
from tests.factories import make_asset

FIXTURES = Path(__file__).parent / "fixtures"
OPENAI_URL = "https://api.openai.test/v1"
RENDER_URL = "https://render.test/v1"
PUBLIC_URL = "https://phantoms.test"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def tone_wav(seconds: float, *, rate: int = 24_000, bogus_length: bool = False) -> bytes:
    """A mono 16-bit tone. `bogus_length` writes the placeholder sizes a streamed WAV header carries."""
    frames = b"".join(struct.pack("<h", int(800 * math.sin(2 * math.pi * 220 * i / rate)))
                      for i in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    data = buffer.getvalue()
    if bogus_length:
        data = data[:4] + b"\xff\xff\xff\xff" + data[8:40] + b"\xff\xff\xff\xff" + data[44:]
    return data


@pytest.fixture
def openai_api(settings):
    """The OpenAI protocol at a fake address, answered by respx from recorded fixtures."""
    settings.OPENAI_BASE_URL = OPENAI_URL
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_MODEL = "gpt-4o-mini"
    settings.OPENAI_TEMPERATURE = 0.7
    settings.OPENAI_STYLE_GUIDE = ""
    settings.OPENAI_PROMPT_TEMPLATE = ""
    with respx.mock(base_url=OPENAI_URL, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def render_api(settings, tmp_path):
    settings.RENDER_SERVICE_URL = RENDER_URL
    settings.RENDER_SERVICE_KEY = "render-key"
    settings.PHANTOMS_PUBLIC_URL = PUBLIC_URL
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.RENDER_POLL_INTERVAL = 1.0
    settings.RENDER_POLL_MAX_INTERVAL = 5.0
    settings.RENDER_REMOTE_DEADLINE = 600
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def rendering_asset(media_root, *, providers=None, seconds: float = 3.0, brief: str = "Three tips for better sleep",
                    with_visuals: bool = False):
    """An asset waiting in `rendering` with a script, a silent voice track and word timings (and, if asked,
    an offline motion clip per beat, as the visuals stage leaves them)."""
    asset = make_asset(Asset.State.RENDERING, brief=brief, providers=providers or {"render": "remote"},
                       target_duration_seconds=5)
    script = compose_template_script(brief, target_duration_seconds=5)
    folder = Path(media_root) / "assets" / str(asset.pk)
    folder.mkdir(parents=True, exist_ok=True)
    duration = write_silence(folder / "voice.wav", seconds)
    Asset.objects.filter(pk=asset.pk).update(
        script=script.model_dump(), title=script.title, audio=f"assets/{asset.pk}/voice.wav",
        audio_duration=duration, word_timings=estimate_word_timings(script.narration_text(), duration))
    asset.refresh_from_db()
    if with_visuals:
        from pipeline.stages import STAGES, beat_requests

        # The motion plans follow the asset's id; a fixed one gives every run the same clips (with some
        # ids, neighbouring beats' frames differ in under 20% of their pixels).
        same_clips = SimpleNamespace(pk=8)
        with override_settings(VISUALS_OFFLINE_SIZE="180x320"):
            result = STAGES["visuals"].provider(asset).fetch(same_clips, beat_requests(asset), folder / "visuals",
                                                             theme="dusk")
        visuals = [{**v, "path": str(Path(v["path"]).relative_to(media_root))} for v in result.visuals]
        Asset.objects.filter(pk=asset.pk).update(visuals=visuals, visuals_provider="offline")
        asset.refresh_from_db()
    return asset
