"""The platforms' real wire protocols, one module per platform, each with its own `urlpatterns`."""
