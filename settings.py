"""Settings for the demo site and the test suite.

With no environment this runs embedded: SQLite, the in-memory channel layer
and the local-memory cache. ``DATABASE_URL`` switches to PostgreSQL and
``REDIS_URL`` to Redis for the channel layer and the cache. ``DEBUG=0`` is
production: it needs ``SECRET_KEY`` and turns on HTTPS-only cookies, HSTS and
the SSL redirect (``LIVE_HTTPS=0`` turns those off); see the README's deploy section.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def checkout_secret_key(path: Path) -> str:
    """Return the key in ``path``, creating it (mode 0600) on first use.

    Concurrent first starts (test servers, workers) agree on one key: each writes
    a temporary file and links it into place, which fails if another won.
    """
    import secrets
    import tempfile

    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(50))
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    key = path.read_text().strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} holds no usable key: delete it to get a new one.")
    return key


DEBUG = os.environ.get("DEBUG", "1") == "1"
if os.environ.get("SECRET_KEY"):
    SECRET_KEY = os.environ["SECRET_KEY"]
elif DEBUG:
    # Per checkout, never committed: a key from the repository would let anyone sign tokens.
    SECRET_KEY = checkout_secret_key(BASE_DIR / ".secret_key")
else:
    raise ImproperlyConfigured(
        "DEBUG=0 needs a SECRET_KEY in the environment, e.g. "
        '`python -c "import secrets; print(secrets.token_urlsafe(50))"`.'
    )
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

if not DEBUG and os.environ.get("LIVE_HTTPS", "1") == "1":
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("SECURE_HSTS_INCLUDE_SUBDOMAINS", "1") == "1"
    SECURE_HSTS_PRELOAD = os.environ.get("SECURE_HSTS_PRELOAD", "1") == "1"
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    # Only behind a proxy that sets this header itself (and drops the client's own).
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + os.environ["SECURE_PROXY_SSL_HEADER"].upper().replace("-", "_"),
        "https",
    )

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "live",
    "live.demo",
    "live_admin",
    "live_shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Anonymous visitors are bound by a signed cookie, with no session row per page view.
    "live.visitors.VisitorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "urls"
ASGI_APPLICATION = "asgi.application"
CSRF_FAILURE_VIEW = "live.views.csrf_failure"

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

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent threads (the consumer's worker pool) wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # A file, not memory, so a test server process can share the test database.
    # One per test process, so concurrent runs in one checkout do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}

REDIS_URL = os.environ.get("REDIS_URL", "")

CHANNEL_LAYERS: dict[str, Any]
CACHES: dict[str, Any]
if REDIS_URL:
    layer = os.environ.get("LIVE_CHANNEL_LAYER", "core")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": (
                "channels_redis.pubsub.RedisPubSubChannelLayer"
                if layer == "pubsub"
                else "live.layers.RedisChannelLayer"
            ),
            "CONFIG": {
                # A 5 s read timeout would race channels_redis's 5 s BZPOPMIN: raise it.
                # The core layer's pool waits for one of 200 connections when all are busy;
                # the PubSub layer's plain pool would refuse calls past its limit instead.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": 10_000 if layer == "pubsub" else 200,
                        "socket_timeout": 10,
                    }
                ],
                "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "asgi"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "live"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "live.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Background jobs: in-process threads by default; ``LIVE_TASKS=db`` stores them in the
# database for ``manage.py db_worker`` processes (any number, on any machine).
INSTALLED_APPS.append("django_tasks_db")
if os.environ.get("LIVE_TASKS") == "db":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "live.task_backends.ThreadBackend"}}

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

#: ``live``'s settings; every key and its default is in ``docs/settings.md``.
#: ``LIVE_SETTINGS`` (JSON) overrides keys from the environment.
LIVE: dict[str, Any] = json.loads(os.environ.get("LIVE_SETTINGS", "{}"))

#: Callables that ``manage.py livedemo`` runs to fill the demo database.
LIVE_DEMO_SEEDERS = ["live.demo.seed.seed", "live_admin.seed.seed", "live_shop.seed.seed"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "live": {
            "handlers": ["console"],
            "level": os.environ.get("LIVE_LOG_LEVEL", "INFO"),
            "propagate": False,
        }
    },
}
