"""Production settings: `DJANGO_SETTINGS_MODULE=phantoms.production` (docker-compose.yml sets it).

Everything in phantoms.settings, plus: secrets must come from the environment (no generated or
known value is accepted, and the process refuses to start without them), HTTPS only (redirect,
HSTS, secure cookies), and `manage.py check --deploy` passes clean.
"""

import environ
from django.core.exceptions import ImproperlyConfigured

from phantoms.encryption import parse_keys
from phantoms.settings import *  # noqa: F403
from phantoms.settings import (
    OPENAI_API_KEY,
    PEXELS_API_KEY,
    PHANTOMS_PUBLIC_URL,
    RENDER_PROVIDER,
    RENDER_SERVICE_KEY,
    SCRIPT_PROVIDER,
    VISUALS_PROVIDER,
    VOICE_PROVIDER,
)

env = environ.Env()

# Values that anyone could know: the sandbox's and the old development defaults.
KNOWN_VALUES = {"", "change-me", "sandbox-key", "sandbox-webhook-secret", "phantoms-insecure-development-key-change-me"}
MIN_SECRET_LENGTH = 32


def required_secret(name: str) -> str:
    value = env.str(name, default="")
    if value in KNOWN_VALUES or len(value) < MIN_SECRET_LENGTH:
        raise ImproperlyConfigured(
            f"{name} must be set in the environment to a secret of at least {MIN_SECRET_LENGTH} characters "
            "(production refuses known or generated values)")
    return value


DEBUG = False
SECRET_KEY = required_secret("SECRET_KEY")
# Platform tokens are encrypted with these keys: a generated one under var/ is not accepted here.
if not env.list("PHANTOMS_TOKEN_KEYS", default=[]):
    raise ImproperlyConfigured("PHANTOMS_TOKEN_KEYS must be set in the environment: a comma-separated list of "
                               "Fernet keys, the first of which encrypts (README, \"Connecting accounts\")")
TOKEN_KEYS = parse_keys(env.list("PHANTOMS_TOKEN_KEYS"))
# Provider keys are needed only by the providers that use them; a sandbox key is never a real one.
if "openai" in (SCRIPT_PROVIDER, VOICE_PROVIDER, VISUALS_PROVIDER) and OPENAI_API_KEY in KNOWN_VALUES:
    raise ImproperlyConfigured("OPENAI_API_KEY must be set when SCRIPT_PROVIDER, VOICE_PROVIDER or "
                               "VISUALS_PROVIDER is openai")
if VISUALS_PROVIDER == "pexels" and PEXELS_API_KEY in KNOWN_VALUES:
    raise ImproperlyConfigured("PEXELS_API_KEY must be set when VISUALS_PROVIDER is pexels")
if RENDER_PROVIDER == "remote" and RENDER_SERVICE_KEY in KNOWN_VALUES:
    raise ImproperlyConfigured("RENDER_SERVICE_KEY must be set when RENDER_PROVIDER is remote")
# The render service fetches our media and calls us back there (callbacks carry a token per render).
if RENDER_PROVIDER == "remote" and not PHANTOMS_PUBLIC_URL:
    raise ImproperlyConfigured("PHANTOMS_PUBLIC_URL must be set when RENDER_PROVIDER is remote")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
PHANTOMS_SANDBOX = False

# HTTPS: behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER_NAME (e.g. HTTP_X_FORWARDED_PROTO).
if env.str("SECURE_PROXY_SSL_HEADER_NAME", default=""):
    SECURE_PROXY_SSL_HEADER = (env.str("SECURE_PROXY_SSL_HEADER_NAME"), "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Health probes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"
