"""The socket's Origin check: scheme, host and port are the site's own, or trusted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from live.origins import OriginValidator, origin_allowed, parse_origin
from tests.conftest import Server

pytestmark = pytest.mark.django_db(transaction=True)


def scope(
    origin: str | None, host: str = "testserver", scheme: str | None = None, **extra: str
) -> Any:
    headers = [(b"host", host.encode())] if host else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers += [(name.replace("_", "-").encode(), value.encode()) for name, value in extra.items()]
    result: dict[str, Any] = {"type": "websocket", "path": "/ws/live/", "headers": headers}
    if scheme is not None:
        result["scheme"] = scheme
    return result


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "allowed"),
    [
        pytest.param("http://testserver", "testserver", None, True, id="same"),
        pytest.param("http://testserver:80", "testserver", None, True, id="default-port"),
        pytest.param("http://testserver", "testserver:80", "ws", True, id="default-port-in-host"),
        pytest.param("HTTP://TestServer", "testserver", None, True, id="case"),
        pytest.param("http://testserver:8000", "testserver", None, False, id="port-mismatch"),
        pytest.param("http://testserver", "testserver:8000", None, False, id="port-missing"),
        pytest.param("https://testserver", "testserver", "ws", False, id="https-page-ws"),
        pytest.param("http://testserver", "testserver", "wss", False, id="http-page-wss"),
        pytest.param("https://testserver", "testserver", "wss", True, id="https-wss"),
        pytest.param("https://testserver:443", "testserver", "wss", True, id="https-443"),
        pytest.param("http://127.0.0.1:9999", "127.0.0.1:8000", None, False, id="other-port"),
        pytest.param("https://127.0.0.1:8000", "127.0.0.1:8000", None, False, id="other-scheme"),
        pytest.param("http://127.0.0.1:8000", "127.0.0.1:8000", None, True, id="ip-port"),
        pytest.param("http://[::1]:8000", "[::1]:8000", None, True, id="ipv6"),
        pytest.param("http://evil.example", "evil.example", None, False, id="host-not-allowed"),
        pytest.param("http://testserver", "evil.example", None, False, id="host-header-foreign"),
        pytest.param("http://testserver/", "testserver", None, False, id="path"),
        pytest.param("http://user@testserver", "testserver", None, False, id="userinfo"),
        pytest.param("http://testserver:99999", "testserver", None, False, id="bad-port"),
        pytest.param("ws://testserver", "testserver", None, False, id="ws-scheme"),
        pytest.param("null", "testserver", None, False, id="null"),
        pytest.param("", "testserver", None, False, id="empty"),
        pytest.param(None, "testserver", None, False, id="missing"),
        pytest.param("http://testserver", "", None, False, id="no-host"),
    ],
)
def test_origin_must_be_the_handshakes_own(
    origin: str | None, host: str, scheme: str | None, allowed: bool
) -> None:
    assert origin_allowed(scope(origin, host, scheme)) is allowed


def test_two_origin_headers_are_refused() -> None:
    both = scope("http://testserver")
    both["headers"].append((b"origin", b"http://testserver"))
    assert origin_allowed(both) is False


def test_the_proxy_header_is_trusted_only_when_configured(settings: Any) -> None:
    behind = scope("https://testserver", x_forwarded_proto="https")
    assert origin_allowed(behind) is False
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(behind) is True
    assert origin_allowed(scope("http://testserver", x_forwarded_proto="https")) is False
    assert origin_allowed(scope("http://testserver", x_forwarded_proto="http")) is True
    assert origin_allowed(scope("https://testserver", x_forwarded_proto="https, http")) is True


def test_without_a_scheme_in_the_scope_an_https_only_site_expects_https(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert origin_allowed(scope("https://testserver")) is True
    assert origin_allowed(scope("http://testserver")) is False
    # A server that names the scheme is believed.
    assert origin_allowed(scope("http://testserver", scheme="ws")) is True
    assert origin_allowed(scope("https://testserver", scheme="ws")) is False


def test_trusted_origins_come_from_csrf_trusted_origins_and_allowed_hosts(settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.shop.example"]
    assert origin_allowed(scope("https://app.example.com")) is False  # not an allowed host
    settings.ALLOWED_HOSTS = ["testserver", "app.example.com", ".shop.example"]
    assert origin_allowed(scope("https://app.example.com")) is True
    assert origin_allowed(scope("https://eu.shop.example")) is True
    assert origin_allowed(scope("http://app.example.com")) is False
    assert origin_allowed(scope("https://app.example.com:8443")) is False
    assert origin_allowed(scope("https://evil.example.com")) is False


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        pytest.param("https://Example.com", ("https", "example.com", 443), id="default"),
        pytest.param("http://a.b:81", ("http", "a.b", 81), id="port"),
        pytest.param("http://[::1]", ("http", "[::1]", 80), id="ipv6"),
        pytest.param("ftp://a.b", None, id="scheme"),
        pytest.param("http://", None, id="no-host"),
    ],
)
def test_parse_origin(text: str, parsed: tuple[str, str, int] | None) -> None:
    assert parse_origin(text) == parsed


@pytest.mark.parametrize(
    ("origin", "connected"),
    [
        pytest.param(b"http://testserver", True, id="own"),
        pytest.param(b"http://testserver:9999", False, id="port"),
        pytest.param(b"https://testserver", False, id="scheme"),
    ],
)
async def test_the_sites_application_refuses_port_and_scheme_mismatches(
    origin: bytes, connected: bool
) -> None:
    from asgi import application

    headers = [(b"host", b"testserver"), (b"origin", origin)]
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    assert (await communicator.connect())[0] is connected
    if connected:
        await communicator.send_to(text_data=json.dumps({"type": "ping"}))
        assert json.loads(await communicator.receive_from()) == {"type": "pong"}
    await communicator.disconnect()


async def test_http_passes_through_untouched() -> None:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    await OriginValidator(inner)({"type": "http", "headers": []}, None, None)
    assert seen == ["http"]


def test_daphne_answers_403_to_another_port_or_scheme(daphne_server: Server) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    port = int(daphne_server.url.rsplit(":", 1)[1])
    ws_url = daphne_server.url.replace("http://", "ws://") + "/ws/live/"
    for origin in (f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}"):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url, additional_headers={"Origin": origin}, open_timeout=10)
        assert refused.value.response.status_code == 403, origin
    with connect(ws_url, additional_headers={"Origin": daphne_server.url}, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
