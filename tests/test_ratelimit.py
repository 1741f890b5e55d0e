"""Rate limits over the socket and HTTP, shared across consumers through the cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.views import View

import live
from live import ratelimit, registry
from live.testing import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


class Cart(live.Component):
    rate_limits = {"add_to_cart": "5/second"}
    renderer = live.MockRenderer(lambda ctx: f"<p>{ctx['n']} items</p>")

    def mount(self) -> None:
        self.state = {"n": 0}

    def on_add_to_cart(self) -> None:
        self.state["n"] += 1

    def on_look(self) -> None:
        pass


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_cart")(Cart)
    yield
    registry.unregister("t_cart")


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        pytest.param("5/second", ratelimit.Rate(5, 1), id="second"),
        pytest.param("30/minute", ratelimit.Rate(30, 60), id="minute"),
        pytest.param("100/10m", ratelimit.Rate(100, 600), id="ten-minutes"),
        pytest.param("2/hours", ratelimit.Rate(2, 3600), id="plural"),
        pytest.param("1000/day", ratelimit.Rate(1000, 86400), id="day"),
    ],
)
def test_rate_parsing(text: str, rate: ratelimit.Rate) -> None:
    assert ratelimit.Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["5", "0/second", "5/fortnight", "x/second"])
def test_invalid_rates(text: str) -> None:
    with pytest.raises(
        ValueError,
        match=f"Invalid rate {text!r}: use 'N/unit' with unit one of: day, hour, minute, second.",
    ):
        ratelimit.Rate.parse(text)


def test_a_burst_across_a_window_boundary_is_still_limited() -> None:
    for i in range(3):
        ratelimit.hit("edge", "5/second", now=99.9 + i * 0.001)
    for i in range(2):
        ratelimit.hit("edge", "5/second", now=100.0 + i * 0.001)
    with pytest.raises(live.RateLimited) as info:
        ratelimit.hit("edge", "5/second", now=100.01)
    assert info.value.retry_after == 1


async def test_sixth_add_to_cart_in_a_second_is_refused_on_the_socket(user: Any) -> None:
    async with LiveClient(user=user) as client:
        view = await client.mount("t_cart")
        frames = [await view.event("add_to_cart") for _ in range(6)]
        assert all(f["type"] in ("diff", "full") for f in frames[:5])
        assert frames[5] == {
            "type": "error",
            "id": view.id,
            "ref": frames[5]["ref"],
            "code": "rate_limited",
            "message": "Too many requests",
            "retry_after": 1,
        }
        assert view.html == "<p>5 items</p>"
        # Other events are not limited.
        assert (await view.event("look"))["type"] == "ack"


async def test_limit_is_per_user_and_shared_by_their_sockets(user: Any, other_user: Any) -> None:
    one = await LiveClient(user=user).connect()
    two = await LiveClient(user=user).connect()
    bob = await LiveClient(user=other_user).connect()
    a, b, c = await one.mount("t_cart"), await two.mount("t_cart"), await bob.mount("t_cart")
    for _ in range(3):
        await a.event("add_to_cart")
    for _ in range(2):
        await b.event("add_to_cart")
    assert (await b.event("add_to_cart"))["code"] == "rate_limited"
    assert (await c.event("add_to_cart"))["type"] in ("diff", "full")
    for client in (one, two, bob):
        await client.close()


async def test_shared_limit_across_consumers_on_redis(user: Any, redis_layer: str) -> None:
    one = await LiveClient(user=user).connect()
    two = await LiveClient(user=user).connect()
    a, b = await one.mount("t_cart"), await two.mount("t_cart")
    results = []
    for view in (a, b, a, b, a, b):
        results.append((await view.event("add_to_cart"))["type"])
    assert results.count("error") == 1
    assert results[-1] == "error"
    await one.close()
    await two.close()


def test_http_event_is_limited_with_429_and_retry_after(user: Any) -> None:
    import re

    client = Client()
    client.force_login(user)
    html = client.get("/live/components/t_cart/").content.decode()
    token = re.search(r'data-live-token="([^"]+)"', html)
    assert token
    statuses = []
    body: dict[str, Any] = {"token": token.group(1), "event": "add_to_cart"}
    for _ in range(6):
        response = client.post(
            "/live/components/t_cart/", json.dumps(body), content_type="application/json"
        )
        statuses.append(response.status_code)
        if response.status_code == 200:
            body.update(token=response.json()["token"], state=response.json()["state"])
    assert statuses == [200] * 5 + [429]
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "error": "Too many requests",
        "code": "rate_limited",
        "retry_after": 1,
    }


class Product(live.RateLimitMixin, View):
    throttle_rate = "2/minute"

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")


def test_rate_limit_mixin_per_user(user: Any, other_user: Any) -> None:
    factory = RequestFactory()
    view = Product.as_view()

    def call(who: Any) -> HttpResponse:
        request = factory.get("/p")
        request.user = who
        return view(request)  # type: ignore[no-any-return]

    assert [call(user).status_code for _ in range(3)] == [200, 200, 429]
    response = call(user)
    assert int(response["Retry-After"]) >= 1
    assert call(other_user).status_code == 200


def test_rate_limit_component_decorator() -> None:
    @live.rate_limit_component("1/minute")
    def endpoint(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    request = RequestFactory().get("/e", REMOTE_ADDR="10.0.0.9")
    assert endpoint(request).status_code == 200
    response = endpoint(request)
    assert response.status_code == 429
    assert json.loads(response.content)["error"] == "Too many requests"
