"""Finding the caption font without depending on Django settings.

libass looks fonts up by family name, so besides the file this returns the family stored in the
font's own `name` table; the renderer hands libass the file's directory (`fontsdir`) and writes
the family into the ASS style.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from phantoms.resilience.errors import ConfigurationError

PROJECT_FONTS_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
FC_MATCH_PATTERN = "DejaVu Sans:bold"
OS_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans-Bold.ttf"),
    Path("/Library/Fonts/Arial Bold.ttf"),
    Path("/System/Library/Fonts/Supplemental/Arial Bold.ttf"),
)
NOT_FOUND_MESSAGE = "no usable font found: set RENDER_FONT or install fonts-dejavu-core"


@dataclass(frozen=True)
class FontInfo:
    path: Path
    family: str

    @property
    def directory(self) -> Path:
        return self.path.parent


def read_family_name(path: str | os.PathLike) -> str | None:
    """The family (name ID 1) from a TrueType/OpenType `name` table, or None if unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        offset = 0
        if data[:4] == b"ttcf":
            # A collection: the first font's table directory is the one libass picks by default.
            offset = struct.unpack(">I", data[12:16])[0]
        num_tables = struct.unpack(">H", data[offset + 4:offset + 6])[0]
        name_offset = None
        for index in range(num_tables):
            entry = offset + 12 + 16 * index
            tag = data[entry:entry + 4]
            if tag == b"name":
                name_offset = struct.unpack(">I", data[entry + 8:entry + 12])[0]
                break
        if name_offset is None:
            return None
        _format, count, string_offset = struct.unpack(">HHH", data[name_offset:name_offset + 6])
        storage = name_offset + string_offset
        candidates: dict[tuple[int, int], str] = {}
        for index in range(count):
            record = name_offset + 6 + 12 * index
            platform, encoding, language, name_id, length, str_offset = struct.unpack(
                ">HHHHHH", data[record:record + 12])
            if name_id != 1:
                continue
            raw = data[storage + str_offset:storage + str_offset + length]
            if platform in (0, 3):
                text = raw.decode("utf-16-be", "replace")
                # English (US) Windows names first: that is what fontconfig and libass report.
                rank = (0 if platform == 3 and language == 0x409 else 1, index)
            elif platform == 1 and encoding == 0:
                text = raw.decode("mac_roman", "replace")
                rank = (2, index)
            else:
                continue
            if text.strip():
                candidates[rank] = text.strip()
        return candidates[min(candidates)] if candidates else None
    except (struct.error, IndexError):
        return None


def _usable(path: Path) -> FontInfo | None:
    if not path.is_file() or path.suffix.lower() not in FONT_SUFFIXES:
        return None
    family = read_family_name(path)
    if not family:
        return None
    return FontInfo(path=path.resolve(), family=family)


def _fonts_in(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    files = [p for p in directory.iterdir() if p.suffix.lower() in FONT_SUFFIXES and p.is_file()]
    # Captions want a heavy face, so a bold file in the folder beats a regular one.
    return sorted(files, key=lambda p: ("bold" not in p.name.lower(), p.name.lower()))


def _fc_match() -> Path | None:
    fc_match = shutil.which("fc-match")
    if not fc_match:
        return None
    try:
        result = subprocess.run([fc_match, "-f", "%{file}", FC_MATCH_PATTERN],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = result.stdout.strip()
    return Path(found) if result.returncode == 0 and found else None


def find_font(explicit: str | os.PathLike | None = None, *,
              search_dirs: list[Path] | None = None,
              os_candidates: list[Path] | tuple[Path, ...] | None = None,
              use_fc_match: bool = True) -> FontInfo:
    """Pick the caption font: explicit path, then the project's assets/fonts, then the OS.

    An explicit path that is not a usable font is an error rather than a silent fallback, so a
    typo in RENDER_FONT is noticed instead of rendering in some other face.
    """
    if explicit:
        path = Path(explicit).expanduser()
        font = _usable(path)
        if font is None:
            reason = "does not exist" if not path.exists() else "is not a readable TrueType/OpenType font"
            raise ConfigurationError(f"RENDER_FONT {os.fspath(path)!r} {reason}", provider="fonts")
        return font

    for directory in (search_dirs if search_dirs is not None else [PROJECT_FONTS_DIR]):
        for candidate in _fonts_in(Path(directory)):
            font = _usable(candidate)
            if font:
                return font

    if use_fc_match:
        matched = _fc_match()
        if matched:
            font = _usable(matched)
            if font:
                return font

    for candidate in (os_candidates if os_candidates is not None else OS_FONT_CANDIDATES):
        font = _usable(Path(candidate))
        if font:
            return font

    raise ConfigurationError(NOT_FOUND_MESSAGE, provider="fonts")
