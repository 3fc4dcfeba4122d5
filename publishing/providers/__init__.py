from django.utils.module_loading import import_string

PLATFORM_CLIENTS = {
    "youtube": "publishing.providers.youtube.YouTubeClient",
    "tiktok": "publishing.providers.tiktok.TikTokClient",
    "instagram": "publishing.providers.instagram.InstagramClient",
    "x": "publishing.providers.x.XClient",
}


def get_platform_client(channel):
    return import_string(PLATFORM_CLIENTS[channel.platform])(channel)
