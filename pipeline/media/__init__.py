"""Local media toolchain for the voice and render stages: ffmpeg, offline voice, captions, fonts.

Nothing here needs Django; callers pass settings in (for example `find_font(settings.RENDER_FONT)`).
"""

from .captions import CaptionStyle, ass_escape, build_ass, group_words, write_ass
from .ffmpeg import MediaInfo, ffmpeg_exe, probe, run_ffmpeg
from .fonts import FontInfo, find_font
from .render import RenderSpec, render_video
from .voice import VoiceTrack, audio_duration, estimate_word_timings, synthesize_offline, wav_duration

__all__ = [
    "CaptionStyle",
    "FontInfo",
    "MediaInfo",
    "RenderSpec",
    "VoiceTrack",
    "ass_escape",
    "audio_duration",
    "build_ass",
    "estimate_word_timings",
    "ffmpeg_exe",
    "find_font",
    "group_words",
    "probe",
    "render_video",
    "run_ffmpeg",
    "synthesize_offline",
    "wav_duration",
    "write_ass",
]
