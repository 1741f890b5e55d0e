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
def staff(django_user_model: Any) -> Any:
    """A staff member who is not a superuser."""
    return django_user_model.objects.create_user("sam", "sam@example.com", is_staff=True)


@pytest.fixture
def boss(django_user_model: Any) -> Any:
    """A superuser."""
    return django_user_model.objects.create_user(
        "root", "root@example.com", "pw", is_staff=True, is_superuser=True
    )


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


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url_for_tests() -> str:
    """Return a URL naming the test database pytest-django created."""
    from django.db import connection

    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


class Server:
    """A daphne process serving the project against the test database."""

    def __init__(self, url: str, process: Any, log: Any) -> None:
        self.url = url
        self.process = process
        self.log = log

    def stop(self) -> None:
        """End the process (if it still runs) and wait for it."""
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        """Return what the server printed so far."""
        from pathlib import Path

        self.log.flush()
        return Path(self.log.name).read_text()


def start_server(
    extra_env: dict[str, str] | None = None, daphne_args: tuple[str, ...] = ()
) -> Server:
    """Start daphne on a free port with the test database; wait until it answers."""
    import subprocess
    import sys
    import tempfile
    import time
    import urllib.request
    from pathlib import Path

    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url_for_tests(),
        DEBUG="1",
        SERVE_STATIC="1",
        DJANGO_SETTINGS_MODULE="settings",
        **(extra_env or {}),
    )
    log = tempfile.NamedTemporaryFile("w+", prefix="daphne-", suffix=".log", delete=False)  # noqa: SIM115
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            *daphne_args,
            "asgi:application",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited:\n{Path(log.name).read_text()}")
        try:
            urllib.request.urlopen(url + "/static/live/live.js", timeout=1)
            return Server(url, process, log)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"daphne did not answer:\n{Path(log.name).read_text()}")


@pytest.fixture(scope="session")
def daphne_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Server]:
    """A real daphne process for browser tests, sharing the test database."""
    with django_db_blocker.unblock():
        server = start_server()
    try:
        yield server
    finally:
        server.stop()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright; skips (or fails on CI) without Chromium.

    Module-scoped: Playwright's sync API keeps an event loop running on the main
    thread, which async tests in other modules could not start beside.
    """
    path = chromium_path()
    need(
        path is not None,
        "no Chromium binary (set CHROMIUM or install chromium): browser tests skipped",
    )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls a
    # test makes around it are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page for one test."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(scope="session", autouse=True)
def _drop_stray_connections(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Before the test database is dropped, end connections that worker threads left open.

    Consumer and job threads each hold their own connection; PostgreSQL refuses to drop
    a database that still has one.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
