from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from phantoms.engine.api import views as engine_views
from pipeline.api import views as pipeline_views
from publishing.api import views as publishing_views

router = DefaultRouter()
router.register("assets", pipeline_views.AssetViewSet)
router.register("publications", publishing_views.PublicationViewSet)
router.register("dead-letters", engine_views.DeadLetterViewSet)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("breakers/", engine_views.breakers, name="breakers"),
    path("metrics/", engine_views.metrics, name="metrics"),
    *router.urls,
]
