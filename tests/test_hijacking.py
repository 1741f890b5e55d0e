"""Cross-site WebSocket hijacking: the socket is only for the site's own pages and sessions.

Against the project's real ``asgi.application`` (``live.OriginValidator``
around ``AuthMiddlewareStack``) and against a real daphne.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from live.testing import LiveClient, session_cookie_for
from live.types import Frame
from tests.conftest import Server

pytestmark = pytest.mark.django_db(transaction=True)

NOT_JOINED = "Component is not joined on this connection; join it first"


@pytest.mark.parametrize(
    "origin",
    [
        pytest.param(b"http://evil.example", id="foreign"),
        pytest.param(b"http://testserver.evil.example", id="lookalike-suffix"),
        pytest.param(b"http://evil-testserver", id="lookalike-prefix"),
        pytest.param(b"null", id="null"),
        pytest.param(None, id="no-origin"),
    ],
)
async def test_a_foreign_origin_is_refused_at_the_handshake(
    user: Any, origin: bytes | None
) -> None:
    from asgi import application

    cookie, _ = await database_sync_to_async(session_cookie_for)(user)
    headers = [(b"host", b"testserver"), (b"cookie", cookie.encode())]
    if origin is not None:
        headers.append((b"origin", origin))
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected is False
    # The same cookie from the site's own origin is let in.
    communicator = WebsocketCommunicator(
        application, "/ws/live/", headers=[*headers[:2], (b"origin", b"http://testserver")]
    )
    connected, _ = await communicator.connect()
    assert connected is True
    await communicator.disconnect()


async def test_a_logged_in_users_socket_cannot_be_opened_from_another_site(user: Any) -> None:
    with pytest.raises(ConnectionError, match=r"^The live socket refused the connection$"):
        await LiveClient(user=user, origin="http://evil.example").connect()


async def test_without_the_session_cookie_a_staff_component_cannot_be_joined_or_driven(
    django_user_model: Any,
) -> None:
    staff = await database_sync_to_async(django_user_model.objects.create_user)(
        "sam", "sam@example.com", is_staff=True
    )
    async with LiveClient(user=staff) as owner, LiveClient() as stranger:
        table = await owner.mount("users")
        assert "sam@example.com" in table
        await stranger.send({"type": "join", "id": table.id, "token": table.token, "v": None})
        reply = await stranger.receive()
        assert reply == {
            "type": "error",
            "id": table.id,
            "code": "token_invalid",
            "message": "Component token belongs to another session",
        }
        frames: list[Frame] = [
            {"type": "event", "id": table.id, "event": "search", "payload": {"query": "s"}},
            {"type": "resync", "id": table.id},
        ]
        for frame in frames:
            await stranger.send(frame)
            reply = await stranger.receive()
            assert reply == {
                "type": "error",
                "id": table.id,
                "code": "not_joined",
                "message": NOT_JOINED,
            }
        assert await stranger.nothing_received()
        frame = await table.event("search", query="nobody")
        assert frame["type"] in ("diff", "full")
        assert "No user matches &ldquo;nobody&rdquo;." in table


def test_daphne_answers_403_to_a_foreign_origin(daphne_server: Server) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    ws_url = daphne_server.url.replace("http://", "ws://") + "/ws/live/"
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, additional_headers={"Origin": "http://evil.example"}, open_timeout=10)
    assert refused.value.response.status_code == 403
    with connect(ws_url, additional_headers={"Origin": daphne_server.url}, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
