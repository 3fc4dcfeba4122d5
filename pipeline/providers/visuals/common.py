"""What the visuals providers share: clip lengths and a record per beat that makes retries cheap.

A stage run that fails halfway (a rate limit after three beats, a dropped download) is run again
from the start. Each finished beat leaves its visual and a small JSON record next to it, keyed by
what was asked for; a later run with the same request reuses it instead of searching, generating
or paying again.
"""

import json
import os
from pathlib import Path

from django.conf import settings

from pipeline.providers.base import BeatRequest

# Beyond the beat itself, a clip covers half a transition on each side and a little slack.
CLIP_SLACK = 0.25


def clip_seconds(beat: BeatRequest) -> float:
    return round(beat.duration + settings.RENDER_TRANSITION_SECONDS + CLIP_SLACK, 3)


def record_path(out_dir: Path, beat: BeatRequest) -> Path:
    return Path(out_dir) / f"beat-{beat.index}.json"


def reuse(out_dir: Path, beat: BeatRequest, key: dict) -> dict | None:
    """The visual a previous run made for this very request, if its file is still there."""
    path = record_path(out_dir, beat)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if record.get("key") != key or not Path(record.get("visual", {}).get("path", "")).is_file():
        return None
    visual = dict(record["visual"])
    visual.update(start=beat.start, end=beat.end)
    return visual


def remember(out_dir: Path, beat: BeatRequest, key: dict, visual: dict) -> dict:
    path = record_path(out_dir, beat)
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps({"key": key, "visual": visual}, default=str))
    os.replace(partial, path)
    return visual
