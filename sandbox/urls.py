"""Mounted by the project at /sandbox/; phantoms.middleware.sandbox_gate refuses it unless PHANTOMS_SANDBOX."""

from django.apps import apps
from django.urls import include, path, re_path

app_name = "sandbox"

PLATFORM = r"(?P<platform>youtube|tiktok|instagram|x)"

if apps.is_installed("sandbox"):
    from .platforms import instagram as instagram_protocol
    from .platforms import x as x_protocol
    from .views import openai, openai_images, pexels, platforms, render

    urlpatterns = [
        re_path(rf"^platforms/{PLATFORM}/posts$", platforms.posts, name="platform-posts"),
        re_path(rf"^platforms/{PLATFORM}/posts/(?P<remote_id>[\w-]+)$", platforms.post_detail,
                name="platform-post"),
        re_path(rf"^platforms/{PLATFORM}/posts/(?P<remote_id>[\w-]+)/metrics$", platforms.post_metrics,
                name="platform-post-metrics"),
        re_path(rf"^platforms/{PLATFORM}/watch/(?P<remote_id>[\w-]+)$", platforms.watch,
                name="platform-watch"),
        # The real wire protocols, one module per platform (docs/platforms.md).
        path("platforms/instagram/", include(instagram_protocol.urlpatterns)),
        path("platforms/x/", include(x_protocol.urlpatterns)),
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
    ]
else:
    # Importing the views needs the ledger models, which need the app installed.
    urlpatterns = []
