"""Mounted by the project at /sandbox/; phantoms.middleware.sandbox_gate refuses it unless PHANTOMS_SANDBOX."""

from django.apps import apps
from django.urls import path, re_path

app_name = "sandbox"


if apps.is_installed("sandbox"):
    from .oauth import views as oauth
    from .views import openai, openai_images, pexels, platforms, render
    from .views.platforms import public

    PLATFORM = r"(?P<platform>[a-z0-9_]+)"
    urlpatterns = [
        # The public page a post's URL points at.
        re_path(rf"^platforms/{PLATFORM}/watch/(?P<remote_id>[\w-]+)$", public.watch,
                name="platform-watch"),
        # Every platform's own documented paths under its prefix.
        re_path(rf"^platforms/{PLATFORM}/(?P<rest>.*)$", platforms.dispatch, name="platform-api"),
        path("openai/v1/responses", openai.responses, name="openai-responses"),
        path("openai/v1/chat/completions", openai.chat_completions, name="openai-chat-completions"),
        path("openai/v1/audio/speech", openai.speech, name="openai-speech"),
        path("openai/v1/audio/transcriptions", openai.transcriptions, name="openai-transcriptions"),
        # An OpenAI-compatible server as Ollama, vLLM, LM Studio or llama.cpp serve it: Chat
        # Completions only, no Responses API.
        path("openai-compatible/v1/chat/completions", openai.chat_completions, name="compatible-chat-completions"),
        path("render/v1/render", render.create_render, name="render-create"),
        path("render/v1/render/<str:render_id>", render.render_status, name="render-status"),
        path("render/v1/render/<str:render_id>/output", render.render_output, name="render-output"),
        path("render/v1/render/<str:render_id>/poster", render.render_poster, name="render-poster"),
        path("pexels/videos/search", pexels.search_videos, name="pexels-search"),
        path("pexels/video-files/<int:video_id>/<str:filename>", pexels.video_file, name="pexels-file"),
        path("openai/v1/images/generations", openai_images.generations, name="openai-images"),
        path("openai/v1/images/files/<str:name>", openai_images.image_file, name="openai-image-file"),
        # Each platform's authorization server, one prefix per real host (settings.OAUTH_HOSTS).
        path("oauth/youtube/accounts/o/oauth2/v2/auth", oauth.authorize, {"platform": "youtube"},
             name="oauth-youtube-authorize"),
        path("oauth/youtube/oauth2/token", oauth.google_token, name="oauth-youtube-token"),
        path("oauth/youtube/oauth2/revoke", oauth.google_revoke, name="oauth-youtube-revoke"),
        path("oauth/youtube/api/youtube/v3/channels", oauth.youtube_channels, name="oauth-youtube-channels"),
        path("oauth/tiktok/www/v2/auth/authorize/", oauth.authorize, {"platform": "tiktok"},
             name="oauth-tiktok-authorize"),
        path("oauth/tiktok/open/v2/oauth/token/", oauth.tiktok_token, name="oauth-tiktok-token"),
        path("oauth/tiktok/open/v2/oauth/revoke/", oauth.tiktok_revoke, name="oauth-tiktok-revoke"),
        path("oauth/tiktok/open/v2/user/info/", oauth.tiktok_user_info, name="oauth-tiktok-user-info"),
        path("oauth/instagram/www/oauth/authorize", oauth.authorize, {"platform": "instagram"},
             name="oauth-instagram-authorize"),
        path("oauth/instagram/api/oauth/access_token", oauth.instagram_access_token, name="oauth-instagram-token"),
        path("oauth/instagram/graph/access_token", oauth.instagram_exchange, name="oauth-instagram-exchange"),
        path("oauth/instagram/graph/refresh_access_token", oauth.instagram_refresh, name="oauth-instagram-refresh"),
        path("oauth/instagram/graph/me", oauth.instagram_me, name="oauth-instagram-me"),
        path("oauth/x/twitter/i/oauth2/authorize", oauth.authorize, {"platform": "x"}, name="oauth-x-authorize"),
        path("oauth/x/api/2/oauth2/token", oauth.x_token, name="oauth-x-token"),
        path("oauth/x/api/2/oauth2/revoke", oauth.x_revoke, name="oauth-x-revoke"),
        path("oauth/x/api/2/users/me", oauth.x_me, name="oauth-x-me"),
    ]
else:
    # Importing the views needs the ledger models, which need the app installed.
    urlpatterns = []
