"""The audit feed across consumers and processes, on the Redis channel layer and cache."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from http.cookies import SimpleCookie
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from live.testing import LiveClient
from live_admin import audit
from live_admin.models import AuditEntry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

User = get_user_model()


@pytest.fixture
def target(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", "alice@example.com")


def status_of(html: str, pk: int) -> str:
    row = re.search(rf'<tr id="user-{pk}">.*?class="badge status \w+">(\w+)<', html, re.S)
    assert row, f"no row for user {pk}"
    return row.group(1)


async def test_a_toggle_on_one_consumer_reaches_the_feed_on_another(
    redis_layer: str, staff: Any, boss: Any, target: Any
) -> None:
    a = await LiveClient(user=staff).connect()
    b = await LiveClient(user=boss).connect()
    table_a = await a.mount("users")
    feed_b = await b.mount("audit_log")
    table_b = await b.mount("users")
    await table_a.event("toggle", user_id=target.pk, active=False)
    entry = await database_sync_to_async(AuditEntry.objects.get)(action="user.deactivated")
    await b.wait_for(feed_b, f'<li id="audit-{entry.pk}"')
    newest = re.search(r'<li id="audit-(\d+)"', feed_b.html)
    assert newest
    assert newest.group(1) == str(entry.pk)
    await b.receive_until(lambda frame: status_of(table_b.html, target.pk) == "inactive")
    await asyncio.gather(a.close(), b.close())


async def test_a_feed_rejoining_another_consumer_catches_up(redis_layer: str, staff: Any) -> None:
    first = await LiveClient(user=staff).connect()
    feed = await first.mount("audit_log")
    await first.close()

    def meanwhile() -> list[int]:
        return [audit.record(None, "auth.login_failed", f"guess{i}").pk for i in range(3)]

    created = await database_sync_to_async(meanwhile)()
    second = LiveClient(user=staff)
    second.cookie, second.session_key = first.cookie, first.session_key
    await second.connect()
    await second.join(feed)
    shown = [int(pk) for pk in re.findall(r'<li id="audit-(\d+)"', feed.html)]
    assert shown[:3] == created[::-1]
    await second.close()


class Browser:
    """A minimal HTTP client for the daphne process: session cookie, CSRF cookie and header."""

    def __init__(self, base: str, session_key: str) -> None:
        self.base = base
        self.cookies = {settings.SESSION_COOKIE_NAME: session_key}

    def request(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers.update(
                {
                    "Content-Type": "application/json",
                    "X-CSRFToken": self.cookies.get(settings.CSRF_COOKIE_NAME, ""),
                }
            )
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie(header)
                self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
            return response.status, response.read().decode()


def test_a_toggle_in_another_process_reaches_the_feed(
    redis_layer: str, redis_url: str, staff: Any, boss: Any, target: Any
) -> None:
    from tests.conftest import start_server

    # The server process must share this test's key prefix for the cache (state snapshots,
    # broadcast log) and for the channel layer (groups).
    server = start_server(
        extra_env={
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": redis_layer,
            "CHANNEL_LAYER_PREFIX": redis_layer,
        }
    )
    try:
        login = Client()
        login.force_login(boss)
        browser = Browser(server.url, login.cookies[settings.SESSION_COOKIE_NAME].value)

        def toggle_over_http() -> str:
            status, html = browser.request("/admin-panel/components/users/")
            assert status == 200
            token = re.search(r'data-live-token="([^"]+)"', html)
            assert token
            status, answer = browser.request(
                "/admin-panel/components/users/",
                {
                    "token": token.group(1),
                    "event": "toggle",
                    "payload": {"user_id": target.pk, "active": False},
                },
            )
            assert status == 200
            return str(json.loads(answer)["html"])

        async def watch() -> tuple[str, str]:
            async with LiveClient(user=staff) as client:
                feed = await client.mount("audit_log")
                html = await asyncio.to_thread(toggle_over_http)
                entry = await database_sync_to_async(AuditEntry.objects.get)(
                    action="user.deactivated"
                )
                await client.wait_for(feed, f'<li id="audit-{entry.pk}"', timeout=10)
                return html, feed.html

        table_html, feed_html = asyncio.run(watch())
    finally:
        server.stop()
    assert status_of(table_html, target.pk) == "inactive"
    assert "by root" in feed_html
    assert "User deactivated" in feed_html
    target.refresh_from_db()
    assert target.is_active is False
    assert AuditEntry.objects.get(action="user.deactivated").ip == "127.0.0.1"
