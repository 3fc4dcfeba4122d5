from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from pipeline.api import views

router = DefaultRouter()
router.register("assets", views.AssetViewSet)
router.register("publications", views.PublicationViewSet)
router.register("dead-letters", views.DeadLetterViewSet)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("breakers/", views.breakers, name="breakers"),
    path("metrics/", views.metrics, name="metrics"),
    *router.urls,
]
