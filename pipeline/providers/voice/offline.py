"""The offline voices: eSpeak NG (the default, timed by the engine) and silence (benchmarks only)."""

import logging
from pathlib import Path

from django.conf import settings

from phantoms.resilience.errors import ConfigurationError
from pipeline.media.voice import (
    SILENCE_WORDS_PER_SECOND,
    describe_offline_voice,
    measured_words_per_second,
    synthesize_offline,
)
from pipeline.providers.base import VoiceProvider

logger = logging.getLogger(__name__)


def _target(asset) -> float | None:
    return float(asset.target_duration_seconds) if asset is not None and asset.target_duration_seconds else None


class OfflineVoice(VoiceProvider):
    """eSpeak NG from the espeakng-loader package: audible on any machine, with real word timings.

    If the engine cannot be loaded this fails with a ConfigurationError; it never falls back to silence.
    """

    name = "offline"

    @property
    def voice(self) -> str:
        return settings.OFFLINE_VOICE

    def words_per_second(self, asset=None) -> float:
        try:
            return measured_words_per_second(self.voice)
        except ConfigurationError as exc:
            # The script can still be written; the voice stage is where the missing engine is reported.
            logger.warning("cannot measure the offline voice's pace, assuming %.1f words/s: %s",
                           SILENCE_WORDS_PER_SECOND, exc)
            return SILENCE_WORDS_PER_SECOND

    def describe(self) -> str:
        return describe_offline_voice(self.voice)

    def synthesize(self, asset, text: str, out_dir: Path):
        return synthesize_offline(text, Path(out_dir) / "voice.wav", engine="espeak-ng", voice=self.voice,
                                  target_seconds=_target(asset))


class SilenceVoice(VoiceProvider):
    """A silent track of speaking length with estimated timings: for benchmarks, chosen only by setting."""

    name = "silence"
    benchmark_only = True

    def words_per_second(self, asset=None) -> float:
        return SILENCE_WORDS_PER_SECOND

    def describe(self) -> str:
        return "silence (benchmarks only: nothing is heard)"

    def synthesize(self, asset, text: str, out_dir: Path):
        return synthesize_offline(text, Path(out_dir) / "voice.wav", engine="silence")
