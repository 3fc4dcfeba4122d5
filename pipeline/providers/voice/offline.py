from pathlib import Path

from pipeline.media.voice import synthesize_offline
from pipeline.providers.base import VoiceProvider


class OfflineVoice(VoiceProvider):
    """espeak-ng when installed, else a silent track of the spoken length."""

    name = "offline"
    engine = "auto"

    def synthesize(self, asset, text: str, out_dir: Path):
        return synthesize_offline(text, out_dir / "voice.wav", engine=self.engine)


class SilenceVoice(OfflineVoice):
    name = "silence"
    engine = "silence"
