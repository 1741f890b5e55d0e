"""Shared fixtures: a clean cache per test, users, and services that skip visibly."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches

REQUIRE_SERVICES = os.environ.get("LIVE_REQUIRE_SERVICES") == "1"


def need(available: bool, reason: str) -> None:
    """Skip with ``reason`` when a service is missing, or fail when CI requires it."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (LIVE_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


def chromium_path() -> str | None:
    """Return the Chromium binary to drive, if there is one."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def redis_url() -> str:
    """The Redis URL to test against; skips (or fails on CI) without one."""
    url = os.environ.get("REDIS_URL", "")
    need(bool(url), "REDIS_URL is not set: Redis tests skipped")
    return url


@pytest.fixture
def user(django_user_model: Any) -> Any:
    """An ordinary active user."""
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw")


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    """A second ordinary user."""
    return django_user_model.objects.create_user("bob", "bob@example.com", "pw")


@pytest.fixture
def redis_layer(settings: Any, redis_url: str) -> Iterator[str]:
    """Switch the channel layer and the cache to Redis, isolated by a fresh key prefix."""
    import uuid

    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": prefix},
        }
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    yield prefix
    from django_redis import get_redis_connection

    connection = get_redis_connection("default")
    for key in connection.scan_iter(f"{prefix}*"):
        connection.delete(key)
