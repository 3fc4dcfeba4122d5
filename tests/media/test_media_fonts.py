import pytest

from phantoms.resilience.errors import ConfigurationError
from pipeline.media import fonts
from pipeline.media.fonts import find_font, read_family_name

SHIPPED = fonts.PROJECT_FONTS_DIR / "DejaVuSans-Bold.ttf"


@pytest.fixture
def no_fonts_anywhere(tmp_path, monkeypatch):
    empty = tmp_path / "empty-fonts"
    empty.mkdir()
    monkeypatch.setattr(fonts, "PROJECT_FONTS_DIR", empty)
    monkeypatch.setattr(fonts, "OS_FONT_CANDIDATES", ())
    monkeypatch.setattr(fonts.shutil, "which", lambda name: None)


def test_project_ships_a_font():
    font = find_font()
    assert font.path.is_file()
    assert font.family == "DejaVu Sans"
    assert font.path.parent == fonts.PROJECT_FONTS_DIR


def test_explicit_font_wins(tmp_path):
    copy = tmp_path / "Mine.ttf"
    copy.write_bytes(SHIPPED.read_bytes())
    font = find_font(str(copy))
    assert font.path == copy.resolve()
    assert font.directory == tmp_path.resolve()


def test_explicit_missing_font_names_render_font(tmp_path):
    with pytest.raises(ConfigurationError, match="RENDER_FONT") as info:
        find_font(tmp_path / "nope.ttf")
    assert "does not exist" in str(info.value)


def test_explicit_non_font_names_render_font(tmp_path):
    bogus = tmp_path / "bogus.ttf"
    bogus.write_text("not a font")
    with pytest.raises(ConfigurationError, match="RENDER_FONT"):
        find_font(bogus)


def test_nothing_found_names_render_font(no_fonts_anywhere):
    with pytest.raises(ConfigurationError) as info:
        find_font()
    assert "RENDER_FONT" in str(info.value)
    assert "fonts-dejavu-core" in str(info.value)


def test_os_candidates_are_the_last_resort(no_fonts_anywhere, monkeypatch):
    monkeypatch.setattr(fonts, "OS_FONT_CANDIDATES", (fonts.Path(__file__), SHIPPED))
    font = find_font()
    assert font.path == SHIPPED.resolve()
    assert font.family == "DejaVu Sans"


def test_family_name_is_read_from_the_file(tmp_path):
    assert read_family_name(SHIPPED) == "DejaVu Sans"
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"\x00\x01\x00\x00" + b"\xff" * 20)
    assert read_family_name(junk) is None
