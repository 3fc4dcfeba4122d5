from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from accounts.api import views as accounts_views
from analytics.api import views as analytics_views
from phantoms.engine.api import views as engine_views
from pipeline.api import views as pipeline_views
from publishing.api import views as publishing_views

# Every endpoint is in the schema and the docs (no browsable root page).
router = SimpleRouter()
router.register("assets", pipeline_views.AssetViewSet)
router.register("publications", publishing_views.PublicationViewSet)
router.register("dead-letters", engine_views.DeadLetterViewSet)
router.register("audit", accounts_views.AuditEventViewSet)
router.register("metrics", analytics_views.MetricReadingViewSet)
router.register("rollups", analytics_views.MetricRollupViewSet)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("breakers/", engine_views.BreakersView.as_view(), name="breakers"),
    # The status picture (rows by state, queues, breakers, letters); /api/metrics/ is the posts' readings.
    path("status/", engine_views.MetricsView.as_view(), name="status"),
    *router.urls,
]
