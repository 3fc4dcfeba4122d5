from tests.platforms.media_fixtures import media_file, platform_sandbox, tiny_mp4  # noqa: F401
