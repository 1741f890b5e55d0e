"""Settings of the bench server: the project's settings, production-like.

``DEBUG`` is off, the ``bench`` app is installed and its URLs are the root.
The bench touches no database (its users are in memory and sessions live in
the cache), so it runs from a fresh checkout with no migrations.
"""

from __future__ import annotations

import os

from settings import *  # noqa: F403
from settings import CHANNEL_LAYERS, INSTALLED_APPS, LIVE, LOGGING, REDIS_URL

DEBUG = False
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
ROOT_URLCONF = "bench.urls"
ASGI_APPLICATION = "bench.asgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

if REDIS_URL:
    # Keys of one run share a prefix, so the harness can delete them afterwards.
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ.get("BENCH_PREFIX", "live-bench")

LOGGING["loggers"]["live"]["level"] = os.environ.get("LIVE_LOG_LEVEL", "WARNING")

# The harness sends as fast as the server answers, far above any person's pace, and
# opens every socket from 127.0.0.1: lift the per-socket frame budget and the
# per-client limits that guard production against floods (still counted, never hit).
# ``LIVE_SETTINGS`` may set them back: the fairness scenario floods within the real ones.
LIVE = {
    "SOCKET_FRAMES_PER_SECOND": 1_000_000,
    "MAX_SOCKETS_PER_CLIENT": 1_000_000,
    "MAX_COMPONENTS_PER_CLIENT": 1_000_000,
    "CLIENT_RENDER_RATE": "1000000/minute",
    "CLIENT_EVENT_RATE": "1000000/second",
    **LIVE,
}
