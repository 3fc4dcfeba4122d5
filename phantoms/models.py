"""The project package holds no models of its own: the engine's records are in phantoms.engine.models."""
