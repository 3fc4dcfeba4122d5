"""Offline narration with eSpeak NG, timed word by word by the engine itself.

eSpeak NG comes from the `espeakng-loader` package, which ships the library and its voice data,
so a fresh machine speaks without system packages. The library is driven through its C API
(`speak_lib.h`) in synchronous mode: `espeak_Synth` hands every block of samples to our callback
together with its events, and each `espeakEVENT_WORD` says where in the text a word starts
(`text_position`, 1-based characters) and when it is heard (`audio_position`, milliseconds). Those
events are the word timings; a word's end is where its sound falls silent before the next one.

A silent track (`engine="silence"`) exists for benchmarks and is only ever chosen explicitly: if
eSpeak NG cannot be loaded, narration fails with a ConfigurationError that says why.
"""

from __future__ import annotations

import array
import bisect
import ctypes
import ctypes.util
import functools
import logging
import os
import re
import threading
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

from phantoms.resilience.errors import ConfigurationError, PermanentError

from .ffmpeg import probe

logger = logging.getLogger(__name__)

# Silence carries no frequencies: 16 kHz keeps a placeholder track small, and every render resamples
# its audio to 48 kHz anyway.
SILENCE_SAMPLE_RATE = 16_000
SILENCE_WORDS_PER_SECOND = 2.6
MIN_SILENCE_SECONDS = 1.0
ENGINES = ("espeak-ng", "silence")
DEFAULT_VOICE = "en-us"

# The speaking rate, in eSpeak NG's words per minute (its default, 175, sounds hurried in English).
NATURAL_RATE = 160
# How far the rate may be bent to land a narration on its target length: beyond this it stops
# sounding like the same voice, and the script (not the voice) has to change.
MIN_RATE_FACTOR, MAX_RATE_FACTOR = 0.8, 1.3
# Narrations within this fraction of their target are left at the rate they came out at.
FIT_TOLERANCE = 0.03
FIT_PASSES = 3

# Ordinary prose with the punctuation and pauses of a script, to measure a voice's real pace.
CALIBRATION_TEXT = (
    "Most people think a good morning starts with an alarm. It starts the night before. Put your phone "
    "on the other side of the room, fill a glass of water, and lay out what you need. When the alarm "
    "goes off, you have to stand up to stop it, and the water is right there. Open the curtains and "
    "get ten minutes of daylight before you look at a screen. Your body clock sets itself from that "
    "light, so tomorrow it gets a little easier. Try it for a week and see what changes."
)

# Timings estimated from the audio length, labelled as such wherever they are stored.
TIMINGS_ENGINE = "engine"
TIMINGS_TRANSCRIPTION = "transcription"
TIMINGS_ESTIMATED = "estimated"

# Extra time after a word, in character-widths, so estimated captions breathe where a speaker would.
_CLAUSE_PAUSE = 2.0
_SENTENCE_PAUSE = 4.0
_TRAILING_QUOTES = "\"')]}»”’"
_TOKEN = re.compile(r"\S+")
_SPOKEN = re.compile(r"\w")


@dataclass
class VoiceTrack:
    path: Path
    duration: float
    engine: str
    timings: list[dict] = field(default_factory=list)
    # Where the timings come from: "engine" (the synthesiser's word events), "transcription"
    # (speech recognition of the audio, aligned to the script) or "estimated" (spread by length).
    timings_source: str = TIMINGS_ESTIMATED
    usage: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["path"] = os.fspath(self.path)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> VoiceTrack:
        return cls(path=Path(data["path"]), duration=float(data["duration"]),
                   engine=data["engine"], timings=list(data.get("timings") or []),
                   timings_source=data.get("timings_source") or TIMINGS_ESTIMATED,
                   usage=dict(data.get("usage") or {}))


def _pause_after(word: str) -> float:
    stripped = word.rstrip(_TRAILING_QUOTES)
    if stripped.endswith((".", "!", "?", "…")):
        return _SENTENCE_PAUSE
    if stripped.endswith((",", ";", ":", "—", "–")):
        return _CLAUSE_PAUSE
    return 0.0


def estimate_word_timings(text: str, duration: float) -> list[dict]:
    """Spread `duration` over the words of `text` by length, with pauses after punctuation.

    The first word starts at 0 and the last ends at `duration`; times never go backwards.
    """
    words = text.split()
    if not words or duration <= 0:
        return []
    weights = [len(word) + 1 for word in words]
    pauses = [_pause_after(word) for word in words[:-1]] + [0.0]
    total = sum(weights) + sum(pauses)
    scale = duration / total
    timings = []
    cursor = 0.0
    for word, weight, pause in zip(words, weights, pauses, strict=True):
        start = cursor
        end = start + weight * scale
        timings.append({"word": word, "start": round(start, 3), "end": round(end, 3)})
        cursor = end + pause * scale
    timings[-1]["end"] = round(duration, 3)
    return timings


def wav_duration(path: str | os.PathLike) -> float:
    try:
        with wave.open(os.fspath(path), "rb") as wav:
            rate = wav.getframerate()
            return wav.getnframes() / rate if rate else 0.0
    except (wave.Error, EOFError) as exc:
        raise PermanentError(f"{path} is not a readable WAV file: {exc}", provider="voice")


def audio_duration(path: str | os.PathLike) -> float:
    path = Path(path)
    if path.suffix.lower() == ".wav":
        try:
            return wav_duration(path)
        except PermanentError:
            # Float or extensible WAVs that the wave module rejects are still fine for ffmpeg.
            pass
    return probe(path).duration


def write_wav(out_path: str | os.PathLike, samples: array.array | bytes, sample_rate: int) -> float:
    """Write mono 16-bit samples as a WAV and return its duration."""
    data = samples.tobytes() if isinstance(samples, array.array) else bytes(samples)
    with wave.open(os.fspath(out_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(data)
    return len(data) / 2 / sample_rate


def write_silence(out_path: str | os.PathLike, seconds: float, *,
                  sample_rate: int = SILENCE_SAMPLE_RATE) -> float:
    """Write a mono 16-bit silent WAV and return its exact duration."""
    frames = max(1, round(seconds * sample_rate))
    return write_wav(out_path, bytes(2 * frames), sample_rate)


# --- eSpeak NG through its C API ------------------------------------------------------------------

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1


class _Event(ctypes.Structure):
    """espeak_EVENT from speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                  ctypes.POINTER(_Event))


@dataclass
class Speech:
    """What eSpeak NG produced for one text: 16-bit mono samples and its word events."""

    samples: array.array
    sample_rate: int
    # (character offset of the word in the text, milliseconds into the audio), in spoken order.
    word_events: list[tuple[int, int]]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


class Espeak:
    """One eSpeak NG library per process. Its state is global, so syntheses take turns."""

    def __init__(self, library_path: str, data_path: str | None):
        try:
            self.lib = ctypes.CDLL(library_path)
        except OSError as exc:
            raise ConfigurationError(f"cannot load the eSpeak NG library {library_path}: {exc}", provider="espeak-ng")
        self.library_path = library_path
        self.data_path = data_path
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode() if data_path else None, 0)
        if self.sample_rate <= 0:
            raise ConfigurationError(f"eSpeak NG could not start (its data is not at {data_path})",
                                     provider="espeak-ng")
        self._lock = threading.Lock()
        self._samples: array.array | None = None
        self._events: list[tuple[int, int]] = []
        # Kept on the instance: the library holds only a raw pointer to it.
        self._callback = _SynthCallback(self._collect)
        self.lib.espeak_SetSynthCallback(self._callback)
        self._voice = ""

    def _collect(self, wav, count, events) -> int:
        if count > 0 and self._samples is not None:
            self._samples.frombytes(ctypes.string_at(wav, count * 2))
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_WORD:
                self._events.append((event.text_position - 1, event.audio_position))
            index += 1
        return 0

    def synthesize(self, text: str, *, voice: str = DEFAULT_VOICE, rate: int = NATURAL_RATE) -> Speech:
        encoded = text.encode("utf-8") + b"\0"
        with self._lock:
            if voice != self._voice:
                if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                    raise ConfigurationError(f"eSpeak NG has no voice named {voice!r}", provider="espeak-ng")
                self._voice = voice
            self.lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
            self._samples, self._events = array.array("h"), []
            try:
                status = self.lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
                self.lib.espeak_Synchronize()
                samples, events = self._samples, self._events
            finally:
                self._samples, self._events = None, []
        if status != 0:
            raise PermanentError(f"eSpeak NG could not speak the text (error {status})", provider="espeak-ng")
        return Speech(samples=samples, sample_rate=self.sample_rate, word_events=events)


def _locate_library() -> tuple[str, str | None]:
    try:
        import espeakng_loader
    except ImportError:
        system = ctypes.util.find_library("espeak-ng")
        if system:
            return system, None
        raise ConfigurationError("no eSpeak NG: install the espeakng-loader package (pip install espeakng-loader), "
                                 "which ships the library and its voices", provider="espeak-ng")
    try:
        return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
    except RuntimeError as exc:
        raise ConfigurationError(f"espeakng-loader is installed but incomplete: {exc}", provider="espeak-ng")


_engine: Espeak | None = None
_engine_lock = threading.Lock()


def espeak() -> Espeak:
    """The process's eSpeak NG, loaded on first use; a ConfigurationError says why it cannot be."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Espeak(*_locate_library())
        return _engine


def espeak_available() -> bool:
    try:
        espeak()
    except ConfigurationError:
        return False
    return True


def describe_offline_voice(voice: str = DEFAULT_VOICE) -> str:
    """One line for people: which offline voice narrates, or why none can."""
    try:
        engine = espeak()
    except ConfigurationError as exc:
        return f"none: {exc.message}"
    return (f"eSpeak NG, voice {voice} ({engine.sample_rate} Hz, about "
            f"{measured_words_per_second(voice):.2f} words/s), library {engine.library_path}")


# --- word timings from the engine's events --------------------------------------------------------

_SILENT_PEAK = 328  # about -40 dBFS: below this a 10 ms window is a pause, not speech
_WINDOW_SECONDS = 0.01
_MIN_WORD_SECONDS = 0.05


def _sound_ends(samples: array.array, rate: int, start: float, limit: float) -> float:
    """Where sound stops before `limit`: the end of the last 10 ms window above the silence floor."""
    window = max(1, int(rate * _WINDOW_SECONDS))
    floor = start + _MIN_WORD_SECONDS
    position = min(len(samples), int(limit * rate))
    while position - window > floor * rate:
        chunk = samples[position - window:position]
        if chunk and max(max(chunk), -min(chunk)) > _SILENT_PEAK:
            break
        position -= window
    return max(floor, position / rate) if position / rate > start else limit


def timings_from_events(text: str, speech: Speech) -> list[dict]:
    """One timing per whitespace-separated word of `text`, from the engine's word events.

    A word starts at its first event (numbers and abbreviations can be read as several words) and
    ends where its sound stops before the next word; a word the engine spoke without an event of its
    own (a lone dash, the second half of a hyphenated pair) shares the time around it.
    """
    tokens = [(match.start(), match.group()) for match in _TOKEN.finditer(text)]
    if not tokens:
        return []
    starts = [offset for offset, _ in tokens]
    heard: dict[int, float] = {}
    for offset, millis in speech.word_events:
        index = max(0, bisect.bisect_right(starts, offset) - 1)
        heard.setdefault(index, millis / 1000)
    duration = speech.duration
    evented = sorted(heard)
    timings: list[dict] = []
    for position, index in enumerate(evented):
        start = heard[index]
        limit = heard[evented[position + 1]] if position + 1 < len(evented) else duration
        limit = max(limit, start)
        end = _sound_ends(speech.samples, speech.sample_rate, start, limit)
        timings.append({"index": index, "start": start, "end": min(end, limit), "next": limit})
    by_index = {timing["index"]: timing for timing in timings}
    result = []
    previous_end, following_start = 0.0, 0.0
    for index, (_, word) in enumerate(tokens):
        timing = by_index.get(index)
        if timing is not None:
            start, end = timing["start"], timing["end"]
            following_start = timing["next"]
        elif _SPOKEN.search(word):
            # Spoken inside the word before it (see _share_joined_words), which shares its span.
            start = end = previous_end
        else:
            # Punctuation standing alone is not spoken: it fills the gap after the word before it.
            start = previous_end
            end = max(start, following_start if following_start > start else start)
        start = max(start, previous_end)
        end = max(end, start)
        result.append({"word": word, "start": round(start, 3), "end": round(end, 3)})
        previous_end = end
    _share_joined_words(tokens, heard, result)
    return result


def _share_joined_words(tokens: list[tuple[int, str]], heard: dict[int, float], result: list[dict]) -> None:
    """Words the engine spoke inside a neighbour's event ("this one" can come as one event) share its span.

    Only words with letters or digits: a lone dash or ellipsis is not spoken and keeps the gap it fills.
    """
    index = 0
    while index < len(tokens):
        run_end = index + 1
        while run_end < len(tokens) and run_end not in heard and _SPOKEN.search(tokens[run_end][1]):
            run_end += 1
        if index in heard and run_end - index > 1:
            words = [word for _, word in tokens[index:run_end]]
            start, end = result[index]["start"], result[index]["end"]
            weights = [len(word) + 1 for word in words]
            cursor = start
            for offset, weight in enumerate(weights):
                step = (end - start) * weight / sum(weights)
                result[index + offset]["start"] = round(cursor, 3)
                result[index + offset]["end"] = round(cursor + step, 3)
                cursor += step
        index = run_end


@functools.lru_cache(maxsize=16)
def measured_words_per_second(voice: str = DEFAULT_VOICE) -> float:
    """The voice's real pace at its natural rate, measured on ordinary prose (once per process)."""
    speech = espeak().synthesize(CALIBRATION_TEXT, voice=voice, rate=NATURAL_RATE)
    return len(CALIBRATION_TEXT.split()) / speech.duration


def _rate_for(duration: float, target: float, rate: int) -> int:
    wanted = rate * duration / target
    return round(max(NATURAL_RATE * MIN_RATE_FACTOR, min(NATURAL_RATE * MAX_RATE_FACTOR, wanted)))


def speak_espeak(text: str, *, voice: str = DEFAULT_VOICE, target_seconds: float | None = None) -> tuple[Speech, int]:
    """Speak `text`; with a target, bend the rate (within limits) until the audio lands on it."""
    engine = espeak()
    rate = NATURAL_RATE
    speech = engine.synthesize(text, voice=voice, rate=rate)
    for _ in range(FIT_PASSES if target_seconds else 0):
        if abs(speech.duration - target_seconds) <= FIT_TOLERANCE * target_seconds:
            break
        new_rate = _rate_for(speech.duration, target_seconds, rate)
        if new_rate == rate:
            break
        rate = new_rate
        speech = engine.synthesize(text, voice=voice, rate=rate)
    return speech, rate


def synthesize_offline(text: str, out_path: str | os.PathLike, *, engine: str = "espeak-ng",
                       voice: str = DEFAULT_VOICE, target_seconds: float | None = None,
                       words_per_second: float = SILENCE_WORDS_PER_SECOND) -> VoiceTrack:
    """Narrate `text` into a WAV at `out_path` without any network provider.

    "espeak-ng" speaks it, with word timings from the engine, at a rate bent towards
    `target_seconds` when given; "silence" writes words / words_per_second seconds (at least one)
    of silence with estimated timings, for benchmarks.
    """
    if engine not in ENGINES:
        raise ConfigurationError(f"unknown offline voice engine {engine!r}; expected one of {ENGINES}",
                                 provider="voice")
    if words_per_second <= 0:
        raise ConfigurationError("words_per_second must be positive", provider="voice")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    words = text.split()

    if engine == "silence":
        seconds = max(MIN_SILENCE_SECONDS, len(words) / words_per_second)
        duration = write_silence(out_path, seconds)
        return VoiceTrack(path=out_path, duration=duration, engine="silence",
                          timings=estimate_word_timings(text, duration), timings_source=TIMINGS_ESTIMATED)

    if not words:
        raise PermanentError("nothing to narrate: the text has no words", provider="espeak-ng")
    spoken = " ".join(words)
    speech, rate = speak_espeak(spoken, voice=voice, target_seconds=target_seconds)
    if not speech.samples:
        raise PermanentError("eSpeak NG produced no audio", provider="espeak-ng")
    partial = out_path.with_name(out_path.stem + ".part.wav")
    duration = write_wav(partial, speech.samples, speech.sample_rate)
    os.replace(partial, out_path)
    return VoiceTrack(path=out_path, duration=duration, engine=f"espeak-ng/{voice}",
                      timings=timings_from_events(spoken, speech), timings_source=TIMINGS_ENGINE,
                      usage={"rate_wpm": rate, "cost_usd": 0.0})
