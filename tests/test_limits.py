"""Per-client limits (sockets, components, first renders, events) and bounded anonymous storage.

Through the real consumer (``WebsocketCommunicator``), the real views (Django's
test client) and real daphne processes, one worker or two on Redis.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session as SessionRow
from django.test import Client
from django.urls import path

from live import ComponentConsumer, limits, protocol, state, tokens
from live.demo.components import Counter
from live.exceptions import RateLimited
from live.mounted import Mounted
from live.testing import session_cookie_for
from live_shop.models import Cart
from live_shop.testing import create_product
from tests.conftest import Server, start_server
from tests.wire import ROOT, Root, Session, Tab

pytestmark = pytest.mark.django_db(transaction=True)

SOCKET_REASON = "Too many open connections; at most 2 per client"


# Helpers ---------------------------------------------------------------------------


class Socket:
    """One socket through the project's ASGI stack, from an address, with a session cookie."""

    def __init__(self, cookie: str | None = None, address: str | None = "10.0.0.1") -> None:
        from asgi import application

        headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        self.communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        self.communicator.scope["client"] = (address, 50000) if address else None
        self.refs = iter(range(1, 10_000))

    async def open(self) -> Socket:
        connected, _ = await self.communicator.connect()
        assert connected
        return self

    async def send(self, frame: dict[str, Any]) -> dict[str, Any]:
        await self.communicator.send_json_to(frame)
        answer: dict[str, Any] = await self.communicator.receive_json_from(timeout=3)
        return answer

    async def join(self, component_id: str, token: str) -> dict[str, Any]:
        return await self.send({"type": "join", "id": component_id, "token": token})

    async def event(self, component_id: str, event: str, **payload: Any) -> dict[str, Any]:
        frame = {"type": "event", "id": component_id, "event": event, "payload": payload}
        return await self.send({**frame, "ref": next(self.refs)})

    async def close(self) -> None:
        await self.communicator.disconnect()


async def render(user: Any, session_key: str | None) -> tuple[str, str]:
    """Render a counter as a page would for this user and session; return its id and token."""
    bound_to = tokens.binding(getattr(user, "pk", None), session_key)
    mounted = await database_sync_to_async(
        lambda: Mounted.mount(Counter, params={}, user=user, bound_to=bound_to)
    )()
    return mounted.component_id, mounted.token()


def ttl_of(component_id: str) -> float:
    """Return the seconds the snapshot of ``component_id`` has left in the state store."""
    store: Any = state.cache()
    key = state.KEY_PREFIX + component_id
    if hasattr(store, "ttl"):  # django-redis
        return float(store.ttl(key))
    return float(store._expire_info[store.make_and_validate_key(key)] - time.time())


def rate_limited(message: str, component_id: str, ref: int | None = None) -> dict[str, Any]:
    """Return the error frame of a refused join or event (``retry_after`` checked apart)."""
    frame: dict[str, Any] = {
        "type": "error",
        "code": "rate_limited",
        "message": message,
        "id": component_id,
    }
    if ref is not None:
        frame["ref"] = ref
    return frame


# Sockets and components through the consumer ---------------------------------------


async def test_a_socket_past_the_client_cap_is_closed_with_4429_and_a_freed_slot_is_usable(
    settings: Any, user: Any, other_user: Any
) -> None:
    settings.LIVE = {"MAX_SOCKETS_PER_CLIENT": 2}
    cookie, session_key = await database_sync_to_async(session_cookie_for)(user)
    first, second = await Socket(cookie).open(), await Socket(cookie, "10.0.0.2").open()
    third = await Socket(cookie, "10.0.0.3").open()
    refusal = await third.communicator.receive_json_from(timeout=3)
    assert refusal == {
        "type": "error",
        "code": "rate_limited",
        "message": SOCKET_REASON,
        "retry_after": 10,
    }
    assert await third.communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": protocol.CLOSE_TOO_MANY_SOCKETS,
        "reason": SOCKET_REASON,
    }
    await third.close()
    # Nothing else is affected: the open sockets serve, another user connects.
    component_id, token = await render(user, session_key)
    assert (await first.join(component_id, token))["type"] == "full"
    assert (await first.event(component_id, "increment"))["type"] == "diff"
    other_cookie, _ = await database_sync_to_async(session_cookie_for)(other_user)
    other = await Socket(other_cookie).open()
    assert (await other.send({"type": "ping"})) == {"type": "pong"}
    # A closed socket frees its slot.
    await second.close()
    fourth = await Socket(cookie).open()
    assert (await fourth.send({"type": "ping"})) == {"type": "pong"}
    for socket in (first, fourth, other):
        await socket.close()


async def test_the_component_cap_holds_across_the_sockets_of_a_client(
    settings: Any, user: Any
) -> None:
    settings.LIVE = {"MAX_COMPONENTS_PER_CLIENT": 3}
    cookie, session_key = await database_sync_to_async(session_cookie_for)(user)
    left, right = await Socket(cookie).open(), await Socket(cookie).open()
    rendered = [await render(user, session_key) for _ in range(5)]
    assert [(await left.join(*rendered[i]))["type"] for i in (0, 1)] == ["full", "full"]
    assert (await right.join(*rendered[2]))["type"] == "full"
    refused = await right.join(*rendered[3])
    assert refused.pop("retry_after") == 10
    assert refused == rate_limited(
        "Too many joined components; at most 3 per client", rendered[3][0]
    )
    # The socket stays open and its other component works; a rejoin needs no new slot.
    assert (await right.event(rendered[2][0], "increment"))["type"] == "diff"
    assert (await left.join(*rendered[0]))["type"] == "full"
    # Leaving (or closing) gives the slot back.
    await left.communicator.send_json_to({"type": "leave", "id": rendered[0][0]})
    assert (await right.join(*rendered[3]))["type"] == "full"
    await left.close()
    assert (await right.join(*rendered[4]))["type"] == "full"
    await right.close()


async def test_anonymous_visitors_rotating_cookies_are_still_bound_by_their_address(
    settings: Any,
) -> None:
    settings.LIVE = {"MAX_SOCKETS_PER_CLIENT": 1, "ADDRESS_LIMIT_FACTOR": 3}
    sockets = [await Socket(f"live_visitor=forged{i}").open() for i in range(3)]
    # A forged cookie is no visitor id: all three count against the address alone.
    fourth = await Socket("sessionid=rotated").open()
    assert (await fourth.communicator.receive_json_from(timeout=3))["code"] == "rate_limited"
    assert await fourth.communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": protocol.CLOSE_TOO_MANY_SOCKETS,
        "reason": "Too many open connections from this address; at most 3",
    }
    await fourth.close()
    elsewhere = await Socket(address="10.9.9.9").open()
    assert (await elsewhere.send({"type": "ping"})) == {"type": "pong"}
    for socket in [*sockets, elsewhere]:
        await socket.close()


async def test_an_unknown_address_binds_no_one(settings: Any) -> None:
    # Counting every visitor of a server that gives no address together would let one of
    # them lock all the others out: such visitors are bound by their cookie alone.
    settings.LIVE = {"MAX_SOCKETS_PER_CLIENT": 1, "ADDRESS_LIMIT_FACTOR": 1}
    sockets = [await Socket(address=None).open() for _ in range(3)]
    assert [await s.send({"type": "ping"}) for s in sockets] == [{"type": "pong"}] * 3
    for socket in sockets:
        await socket.close()


# Events and first renders -----------------------------------------------------------


async def test_events_are_limited_across_sockets_and_http_posts(
    settings: Any, user: Any, other_user: Any
) -> None:
    # Per hour, so that no window boundary falls inside the test.
    settings.LIVE = {"CLIENT_EVENT_RATE": "4/hour"}
    cookie, session_key = await database_sync_to_async(session_cookie_for)(user)
    left, right = await Socket(cookie).open(), await Socket(cookie).open()
    one, two = await render(user, session_key), await render(user, session_key)
    await left.join(*one)
    await right.join(*two)
    answers = [await s.event(c[0], "increment") for s, c in [(left, one), (right, two)] * 2]
    assert [a["type"] for a in answers] == ["diff"] * 4
    refused = await left.event(one[0], "increment")
    assert 1 <= refused.pop("retry_after") <= 3600
    assert refused == rate_limited(
        "Too many events; the limit is '4/hour' per client", one[0], ref=3
    )
    snapshot = await database_sync_to_async(state.load)(one[0])
    assert snapshot is not None
    assert json.loads(snapshot.state_json) == {"count": 2}
    # The socket stays open; another user is not affected.
    assert (await left.send({"type": "ping"})) == {"type": "pong"}
    other_cookie, other_key = await database_sync_to_async(session_cookie_for)(other_user)
    other = await Socket(other_cookie).open()
    theirs = await render(other_user, other_key)
    await other.join(*theirs)
    assert (await other.event(theirs[0], "increment"))["type"] == "diff"

    def post_over_http() -> Any:
        client = Client()
        client.force_login(user)
        html = client.get("/live/components/counter/").content.decode()
        _, _, token = ROOT.findall(html)[0]
        body = {"token": token, "event": "increment"}
        return client.post("/live/components/counter/", body)

    response = await database_sync_to_async(post_over_http)()
    assert response.status_code == 429
    assert response.json() == {
        "error": "Too many events; the limit is '4/hour' per client",
        "code": "rate_limited",
        "retry_after": int(response["Retry-After"]),
    }
    for socket in (left, right, other):
        await socket.close()


def test_first_renders_over_the_budget_answer_429_with_retry_after(settings: Any) -> None:
    settings.LIVE = {"CLIENT_RENDER_RATE": "3/hour", "ADDRESS_LIMIT_FACTOR": 2}
    visitor = Client()
    assert [visitor.get("/live/components/counter/").status_code for _ in range(3)] == [200] * 3
    response = visitor.get("/live/components/counter/")
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 3600
    message = "Too many components rendered; the limit is '3/hour' per client"
    assert response.json() == {"error": message, "code": "rate_limited", "retry_after": retry_after}
    # A page still renders, with a notice where the component would be.
    page = visitor.get("/shop/cart/")
    assert page.status_code == 200
    notice = re.search(
        r'<div class="live-error" role="alert" data-live-code="rate_limited" '
        r'data-live-retry-after="(\d+)">([^<]*)</div>',
        page.content.decode(),
    )
    assert notice
    assert retry_after - 2 <= int(notice.group(1)) <= retry_after
    assert notice.group(2) == (
        "Too many components rendered; the limit is &#x27;3/hour&#x27; per client"
    )
    # New cookies share the address's budget of 2 x 3: three more, then none.
    fresh = [Client().get("/live/components/counter/") for _ in range(4)]
    assert [response.status_code for response in fresh] == [200, 200, 200, 429]
    assert fresh[-1].json()["error"] == (
        "Too many components rendered from this address; the limit is 2 x '3/hour'"
    )


class CounterConsumer(ComponentConsumer):
    component_name = "counter"


async def test_a_component_consumer_counts_its_first_render_and_keeps_its_snapshot(
    settings: Any,
) -> None:
    settings.LIVE = {"CLIENT_RENDER_RATE": "2/hour", "ADDRESS_LIMIT_FACTOR": 1}
    app = URLRouter([path("ws/counter/", CounterConsumer.as_asgi())])

    async def connect() -> tuple[WebsocketCommunicator, dict[str, Any]]:
        communicator = WebsocketCommunicator(app, "/ws/counter/")
        communicator.scope["client"] = ("10.0.0.7", 50000)
        assert (await communicator.connect())[0]
        return communicator, await communicator.receive_json_from()

    opened = [await connect() for _ in range(2)]
    assert [frame["type"] for _, frame in opened] == ["full", "full"]
    ttl = await database_sync_to_async(ttl_of)(opened[0][1]["id"])
    assert ttl >= 86_390  # joined at once
    refused, frame = await connect()
    assert 1 <= frame.pop("retry_after") <= 3600
    assert frame == {
        "type": "error",
        "code": "rate_limited",
        "message": "Too many components rendered from this address; the limit is '2/hour'",
    }
    assert (await refused.receive_output())["code"] == 4429
    for communicator, _ in opened:
        await communicator.disconnect()


# Anonymous storage --------------------------------------------------------------------


def test_cookieless_requests_store_no_session_and_no_cart() -> None:
    tee = create_product()
    urls = [
        "/live/components/counter/",
        f"/live/components/product/?product_id={tee.pk}",
        f"/shop/components/product/{tee.pk}/",
        "/shop/components/cart/",
        "/live/components/cart/",
        "/shop/",
        f"/shop/product/{tee.pk}/",
        "/shop/cart/",
        "/",
    ]
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 200, url
        assert "live_visitor" in response.cookies, url
        assert "sessionid" not in response.cookies, url
    assert (SessionRow.objects.count(), Cart.objects.count()) == (0, 0)


def test_without_the_middleware_pages_save_a_session_as_before(settings: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "live.visitors.VisitorMiddleware"]
    page = Client().get("/")
    assert "sessionid" in page.cookies
    assert "live_visitor" not in page.cookies
    # Component endpoints set their cookie themselves.
    endpoint = Client().get("/live/components/counter/")
    assert "live_visitor" in endpoint.cookies
    assert SessionRow.objects.count() == 1


async def test_a_cookieless_token_is_bound_to_the_visitors_cookie() -> None:
    def first_visit() -> tuple[Client, str, str]:
        client = Client()
        html = client.get("/live/components/counter/").content.decode()
        component_id, _, token = ROOT.findall(html)[0]
        return client, component_id, token

    visitor, component_id, token = await database_sync_to_async(first_visit)()
    cookie = f"live_visitor={visitor.cookies['live_visitor'].value}"

    def post(client: Client) -> Any:
        return client.post("/live/components/counter/", {"token": token, "event": "increment"})

    stranger = await database_sync_to_async(post)(Client())
    assert stranger.status_code == 403
    assert stranger.json() == {
        "error": "Component token belongs to another session",
        "code": "token_invalid",
    }
    assert (await database_sync_to_async(post)(visitor)).status_code == 200
    other = await Socket().open()
    assert await other.join(component_id, token) == {
        "type": "error",
        "code": "token_invalid",
        "message": "Component token belongs to another session",
        "id": component_id,
    }
    own = await Socket(cookie).open()
    assert (await own.join(component_id, token))["type"] == "full"
    for socket in (other, own):
        await socket.close()


async def test_an_unjoined_snapshot_expires_in_minutes_and_a_joined_one_is_kept() -> None:
    def first_visit() -> tuple[str, str, str]:
        client = Client()
        html = client.get("/live/components/counter/").content.decode()
        component_id, _, token = ROOT.findall(html)[0]
        return f"live_visitor={client.cookies['live_visitor'].value}", component_id, token

    cookie, component_id, token = await database_sync_to_async(first_visit)()
    unjoined = await database_sync_to_async(ttl_of)(component_id)
    assert 590 <= unjoined <= 600
    socket = await Socket(cookie).open()
    assert (await socket.join(component_id, token))["type"] == "full"
    joined = await database_sync_to_async(ttl_of)(component_id)
    assert 86_390 <= joined <= 86_400
    await socket.close()


def test_the_fallback_keeps_a_snapshot_it_uses() -> None:
    client = Client()
    html = client.get("/live/components/counter/").content.decode()
    component_id, _, token = ROOT.findall(html)[0]
    assert ttl_of(component_id) <= 600
    # A poll (no event) is a use too.
    body = json.dumps({"token": token, "v": 1})
    response = client.post("/live/components/counter/", body, content_type="application/json")
    assert response.status_code == 204
    assert ttl_of(component_id) >= 86_390


# Leaks ----------------------------------------------------------------------------------


def test_what_a_dead_worker_held_is_forgotten_after_two_epochs(settings: Any) -> None:
    settings.LIVE = {"MAX_SOCKETS_PER_CLIENT": 2, "CLIENT_COUNT_EPOCH": 1}
    client = limits.Client((("u:1", 1),))
    alive, dead = limits.Holding(client), limits.Holding(client)
    alive.take(limits.SOCKETS)
    dead.take(limits.SOCKETS)
    with pytest.raises(RateLimited, match=r"^Too many open connections; at most 2 per client$"):
        limits.Holding(client).take(limits.SOCKETS)
    # The worker holding ``dead`` is killed: it never closes, and no heartbeat counts it again.
    limits._holdings.discard(dead)
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        limits.beat()  # this worker's heartbeat keeps ``alive`` counted
        time.sleep(0.2)
    limits.Holding(client).take(limits.SOCKETS)
    with pytest.raises(RateLimited):
        limits.Holding(client).take(limits.SOCKETS)


# Real daphne processes ----------------------------------------------------------------


def visit(session: Session, server: Server, count: int) -> dict[str, Root]:
    """Fetch ``count`` counters from the component endpoint; return their roots by ``c<i>``."""
    roots = {}
    for i in range(count):
        html = session.get(server.url + "/live/components/counter/")
        component_id, name, token = ROOT.findall(html)[0]
        roots[f"c{i}"] = Root(component_id, name, token)
    return roots


def closed_with(tab: Tab) -> tuple[int | None, str | None]:
    """Return the message of the error frame and the close code a refused socket got.

    daphne does not pass the close reason on, so the frame before the close says why.
    """
    from websockets.exceptions import ConnectionClosed

    frame = tab.receive(timeout=5)
    assert frame.pop("retry_after") == 1
    assert (frame["type"], frame["code"]) == ("error", "rate_limited")
    with pytest.raises(ConnectionClosed) as closed:
        tab.socket.recv(timeout=5)
    received = closed.value.rcvd
    tab.socket = None
    return (received.code if received else None), frame["message"]


def refused_join(tab: Tab, name: str) -> Frame:
    """Join ``name`` expecting a refusal; return the error frame without ``retry_after``."""
    frame = tab.join(name)
    assert frame.pop("retry_after") == 1  # a third of a 3 s epoch
    return frame


Frame = dict[str, Any]


def open_when_free(session: Session, roots: dict[str, Root], server: Server) -> Tab:
    """Open a socket, retrying while a closed one's slot is still being given back."""
    deadline = time.monotonic() + 10
    while True:
        tab = Tab(session, "", roots).connect(server.url)
        try:
            tab.send({"type": "ping"})
            if tab.receive(timeout=5) == {"type": "pong"}:
                return tab
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def daphne_with_caps(django_db_blocker: Any) -> Iterator[Server]:
    """One daphne with small caps (in the suite's configuration: embedded or Redis)."""
    caps = {"MAX_SOCKETS_PER_CLIENT": 2, "MAX_COMPONENTS_PER_CLIENT": 3}
    with django_db_blocker.unblock():
        server = start_server({"LIVE_SETTINGS": json.dumps({**caps, "CLIENT_COUNT_EPOCH": 3})})
    yield server
    server.stop()


def test_socket_and_component_caps_through_a_real_daphne(daphne_with_caps: Server) -> None:
    server = daphne_with_caps
    visitor = Session()
    roots = visit(visitor, server, 5)
    first = Tab(visitor, "", roots).connect(server.url)
    second = Tab(visitor, "", roots).connect(server.url)
    assert [first.join(n)["type"] for n in ("c0", "c1")] == ["full", "full"]
    assert second.join("c2")["type"] == "full"
    assert refused_join(second, "c3") == {
        "type": "error",
        "code": "rate_limited",
        "message": "Too many joined components; at most 3 per client",
        "id": roots["c3"].id,
    }
    assert second.event("c2", "increment")["type"] == "diff"
    third = Tab(visitor, "", roots).connect(server.url)
    assert closed_with(third) == (protocol.CLOSE_TOO_MANY_SOCKETS, SOCKET_REASON)
    # Closing a socket gives back its slot and its components.
    first.close()
    third = open_when_free(visitor, roots, server)
    assert third.join("c3")["type"] == "full"
    assert third.join("c4")["type"] == "full"
    for tab in (second, third):
        tab.close()


@pytest.fixture
def two_workers(redis_layer: str, redis_url: str, django_db_blocker: Any) -> Iterator[list[Server]]:
    """Workers A and B on one Redis, with small caps and 3 s counting epochs."""
    caps = {"MAX_SOCKETS_PER_CLIENT": 2, "MAX_COMPONENTS_PER_CLIENT": 2, "CLIENT_COUNT_EPOCH": 3}
    env = {
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": redis_layer,
        "CHANNEL_LAYER_PREFIX": redis_layer,
        "LIVE_SETTINGS": json.dumps(caps),
    }
    with django_db_blocker.unblock():
        started = [start_server(env), start_server(env)]
    yield started
    for server in started:
        server.stop()


@pytest.mark.redis
def test_caps_hold_across_workers_and_a_killed_worker_is_forgotten(
    two_workers: list[Server], user: Any
) -> None:
    a, b = two_workers
    _, session_key = session_cookie_for(user)
    browser = Session(session_key)
    roots = visit(browser, a, 3)
    on_a = Tab(browser, "", roots).connect(a.url)
    on_b = Tab(browser, "", roots).connect(b.url)
    assert on_a.join("c0")["type"] == "full"
    assert on_b.join("c1")["type"] == "full"
    assert refused_join(on_b, "c2") == {
        "type": "error",
        "code": "rate_limited",
        "message": "Too many joined components; at most 2 per client",
        "id": roots["c2"].id,
    }
    third = Tab(browser, "", roots).connect(a.url)
    assert closed_with(third) == (protocol.CLOSE_TOO_MANY_SOCKETS, SOCKET_REASON)
    # Worker A dies without closing anything: its socket and component stay counted...
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(timeout=10)
    killed = time.monotonic()
    on_a.drop()
    assert refused_join(on_b, "c2")["code"] == "rate_limited"
    # ...until its two epochs have passed (at most 6 s), never for good.
    replacement = open_when_free(browser, roots, b)
    assert replacement.join("c2")["type"] == "full"
    assert time.monotonic() - killed <= 6 + 1
    # The live sockets are still counted in the new epochs (worker B's heartbeat).
    assert refused_join(replacement, "c0")["code"] == "rate_limited"
    extra = Tab(browser, "", roots).connect(b.url)
    assert closed_with(extra) == (protocol.CLOSE_TOO_MANY_SOCKETS, SOCKET_REASON)
    assert on_b.event("c1", "increment")["type"] == "diff"
    for tab in (on_b, replacement):
        tab.close()
