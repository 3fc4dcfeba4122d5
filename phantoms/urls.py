from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from phantoms import health, queue_dashboard, views
from pipeline.views import signed_media, staff_media
from pipeline.webhooks import render_callback

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/dashboard/", views.admin_dashboard, name="admin-dashboard"),
    path("admin/rq/", include((queue_dashboard.urlpatterns(), "django_rq"))),
    path("admin/", admin.site.urls),
    path("api/", include("phantoms.api_urls")),
    # Media is private: staff who may see the asset play its files here; services use signed links.
    re_path(r"^media/(?P<path>.*)$", staff_media, name="staff-media"),
    path("sandbox/", include("sandbox.urls")),
    # The render service's callback: the token in the path is the credential (it signs nothing).
    path("webhooks/render/<str:token>/", render_callback, name="render-webhook"),
    path("signed-media/<str:token>/<str:filename>", signed_media, name="signed-media"),
]

# JSON under /api/ and /webhooks/, Django's pages elsewhere.
handler400 = "phantoms.api.handlers.bad_request"
handler403 = "phantoms.api.handlers.permission_denied"
handler404 = "phantoms.api.handlers.not_found"
handler500 = "phantoms.api.handlers.server_error"
