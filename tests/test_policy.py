"""One rule per policy on every transport: a component's throttle_rate and permissions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import path

import live
from live import registry
from live.testing import LiveClient, session_cookie_for
from live_shop.testing import create_product
from tests.conftest import Server

pytestmark = pytest.mark.django_db(transaction=True)

RATE_LIMITED = {"error": "Too many requests", "code": "rate_limited", "retry_after": 30}


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the rate limiter's clock half way through a minute, so counts never straddle."""
    from live import ratelimit

    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 6030.0))


def token_in(html: str) -> str:
    match = re.search(r'data-live-token="([^"]+)"', html)
    assert match is not None
    return match.group(1)


# The product's 30/minute ----------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock")
async def test_pages_every_endpoint_and_the_socket_share_the_products_budget(
    user: Any, other_user: Any
) -> None:
    tee = await database_sync_to_async(create_product)()
    http = Client()
    await database_sync_to_async(http.force_login)(user)

    def get(url: str) -> Any:
        return http.get(url)

    async with LiveClient(user=user) as socket:
        product = await socket.mount("product", product_id=tee.pk)
        for size in ["S", "M"] * 5:
            assert (await product.event("select_size", size=size))["type"] in ("diff", "ack")
        urls = (
            [f"/shop/product/{tee.pk}/"] * 10
            + [f"/live/components/product/?product_id={tee.pk}"] * 5
            + [f"/shop/components/product/{tee.pk}/"] * 5
        )
        responses = [await database_sync_to_async(get)(url) for url in urls]
        assert [r.status_code for r in responses] == [200] * 20
        token = token_in(responses[-1].content.decode())
        # 10 events and 20 renders: the budget is spent on every path at once.
        frame = await product.event("select_size", size="S")
        assert frame == {
            "type": "error",
            "id": product.id,
            "ref": frame["ref"],
            "code": "rate_limited",
            "message": "Too many requests",
            "retry_after": 30,
        }
        for url in sorted(set(urls)):
            response = await database_sync_to_async(get)(url)
            assert (response.status_code, response["Retry-After"]) == (429, "30"), url
            assert response.json() == RATE_LIMITED, url
        post = await database_sync_to_async(
            lambda: http.post(
                "/live/components/product/",
                json.dumps({"token": token, "event": "select_size", "payload": {"size": "M"}}),
                content_type="application/json",
            )
        )()
        assert (post.status_code, post.json()) == (429, RATE_LIMITED)
        reload = await database_sync_to_async(get)(f"/live/components/product/?token={token}")
        assert (reload.status_code, reload.json()) == (429, RATE_LIMITED)
    # Another user has a budget of their own.
    bob = Client()
    await database_sync_to_async(bob.force_login)(other_user)
    response = await database_sync_to_async(bob.get)(
        f"/live/components/product/?product_id={tee.pk}"
    )
    assert response.status_code == 200


def test_a_real_daphne_counts_the_generic_endpoint_against_the_product_page(
    daphne_server: Server, user: Any
) -> None:
    import urllib.error
    import urllib.request

    tee = create_product()
    cookie, _ = session_cookie_for(user)

    def get(path: str) -> tuple[int, str | None, bytes]:
        request = urllib.request.Request(daphne_server.url + path, headers={"Cookie": cookie})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers["Retry-After"], response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Retry-After"], error.read()

    generic = f"/live/components/product/?product_id={tee.pk}"
    assert [get(generic)[0] for _ in range(30)] == [200] * 30
    status, retry_after, body = get(f"/shop/product/{tee.pk}/")
    assert status == 429
    assert retry_after is not None
    assert int(retry_after) >= 1
    assert json.loads(body) == {**RATE_LIMITED, "retry_after": int(retry_after)}
    assert get(generic)[0] == 429


def test_with_redis_every_process_spends_the_same_budget(
    daphne_server: Server, user: Any, redis_url: str
) -> None:
    import urllib.error
    import urllib.request

    tee = create_product()
    here = Client()
    here.force_login(user)
    cookie, _ = session_cookie_for(user)
    page = f"/shop/product/{tee.pk}/"
    assert [here.get(page).status_code for _ in range(15)] == [200] * 15
    for _ in range(15):
        request = urllib.request.Request(daphne_server.url + page, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    assert here.get(page).status_code == 429
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(
            urllib.request.Request(daphne_server.url + page, headers={"Cookie": cookie}),
            timeout=10,
        )
    assert refused.value.code == 429


@pytest.mark.usefixtures("frozen_clock")
def test_a_page_counts_once_for_the_product_it_renders(user: Any) -> None:
    tee = create_product()
    client = Client()
    client.force_login(user)
    for _ in range(15):
        assert client.get(f"/shop/product/{tee.pk}/").status_code == 200
    for _ in range(15):
        html = client.get(f"/live/components/product/?product_id={tee.pk}").content.decode()
    assert client.get(f"/shop/product/{tee.pk}/").status_code == 429
    # The last fragment's token still resumes: events count, and the budget is gone.
    response = client.post(
        "/live/components/product/",
        {"token": token_in(html), "event": "select_size", "size": "M"},
    )
    assert (response.status_code, response.json()) == (429, RATE_LIMITED)


class Gauge(live.Component):
    renderer = live.MockRenderer(lambda ctx: f"<b>{ctx['n']}</b>")
    throttle_rate = "2/minute"

    def mount(self) -> None:
        self.state = {"n": 0}

    def on_bump(self) -> None:
        self.state["n"] += 1


class GaugeConsumer(live.ComponentConsumer):
    component_name = "t_gauge"


@pytest.fixture
def gauge() -> Iterator[None]:
    live.register("t_gauge")(Gauge)
    yield
    registry.unregister("t_gauge")


@pytest.mark.usefixtures("frozen_clock", "gauge")
def test_a_page_rendering_a_component_past_its_budget_still_answers(user: Any) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    page = Template("{% load live %}<main>{% live_component 't_gauge' %}</main>")
    pages = []
    for _ in range(3):
        request = RequestFactory().get("/")
        request.user = user
        pages.append(page.render(Context({"request": request})))
    assert [("<b>0</b>" in html) for html in pages] == [True, True, False]
    assert pages[2] == (
        '<main><div class="live-error" role="alert" data-live-code="rate_limited" '
        'data-live-retry-after="30">Too many requests</div></main>'
    )


@pytest.mark.parametrize(
    ("limits", "text"),
    [
        pytest.param({"throttle_rate": "30 a minute"}, "30 a minute", id="throttle_rate"),
        pytest.param({"rate_limits": {"bump": "5/fortnight"}}, "5/fortnight", id="rate_limits"),
    ],
)
def test_an_invalid_rate_fails_at_registration(limits: dict[str, Any], text: str) -> None:
    bad = type("Bad", (Gauge,), limits)
    with pytest.raises(ValueError, match=r"^Invalid rate ") as info:
        live.register("t_bad_rate")(bad)
    assert str(info.value) == (
        f"Invalid rate {text!r}: use 'N/unit' with unit one of: day, hour, minute, second."
    )
    with pytest.raises(live.ComponentNotFound):
        registry.get("t_bad_rate")


@pytest.mark.usefixtures("frozen_clock", "gauge")
async def test_a_component_consumers_render_at_connect_counts_too(user: Any) -> None:
    cookie, _ = await database_sync_to_async(session_cookie_for)(user)
    app = AuthMiddlewareStack(URLRouter([path("ws/gauge/", GaugeConsumer.as_asgi())]))

    def communicator() -> WebsocketCommunicator:
        return WebsocketCommunicator(app, "/ws/gauge/", headers=[(b"cookie", cookie.encode())])

    first = communicator()
    assert (await first.connect())[0]
    assert json.loads(await first.receive_from())["html"] == "<b>0</b>"
    await first.send_to(text_data=json.dumps({"event": "bump", "ref": 1}))
    assert json.loads(await first.receive_from())["html"] == "<b>1</b>"
    # One render and one event: the third request is over the limit, on any socket.
    await first.send_to(text_data=json.dumps({"event": "bump", "ref": 2}))
    refused = json.loads(await first.receive_from())
    assert (refused["code"], refused["retry_after"]) == ("rate_limited", 30)
    second = communicator()
    await second.connect()
    assert json.loads(await second.receive_from()) == {
        "type": "error",
        "code": "rate_limited",
        "message": "Too many requests",
        "retry_after": 30,
    }
    assert (await second.receive_output())["code"] == 4429
    await first.disconnect()
    await second.disconnect()


# The status rule: the panel and the Django admin --------------------------------------


def staff_with_change_user(django_user_model: Any) -> Any:
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("sam", "sam@example.com", "pw", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user", "delete_user"])
    )
    return staff


def test_the_bulk_action_skips_a_superuser_for_staff_as_the_panel_refuses(
    django_user_model: Any, boss: Any
) -> None:
    from live.models import Job
    from live_admin.models import AuditEntry
    from tests.test_live_admin_jobs import run_action, wait_until_finished

    staff = staff_with_change_user(django_user_model)
    member = django_user_model.objects.create_user("member")
    client = Client()
    client.force_login(staff)
    response = run_action(client, "deactivate_users", [boss.pk, member.pk, staff.pk])
    assert response.status_code == 302
    job = Job.objects.get()
    wait_until_finished(job)
    job.refresh_from_db()
    active = dict(django_user_model.objects.values_list("username", "is_active"))
    assert active == {"root": True, "member": False, "sam": True}
    skipped = [line for line in job.log if line.startswith("Skipped")]
    assert sorted(skipped) == [
        "Skipped root: Only superusers can change the status of a superuser",
        "Skipped sam: You cannot change the status of your own account",
    ]
    bulk = AuditEntry.objects.get(action=AuditEntry.Action.BULK_ACTION)
    assert (bulk.target, bulk.detail) == (
        "1 users",
        {"name": "deactivate_users", "count": 1, "skipped": 2},
    )


async def test_the_panel_refuses_the_same_toggle(django_user_model: Any, boss: Any) -> None:
    staff = await database_sync_to_async(staff_with_change_user)(django_user_model)
    async with LiveClient(user=staff) as client:
        table = await client.mount("users")
        frame = await table.event("toggle", user_id=boss.pk)
        assert (frame["code"], frame["message"]) == (
            "forbidden",
            "Only superusers can change the status of a superuser",
        )
    assert (await get_user_model().objects.aget(pk=boss.pk)).is_active


def test_the_user_admin_lets_only_superusers_change_or_delete_a_superuser(
    django_user_model: Any, boss: Any, admin_user: Any
) -> None:
    staff = staff_with_change_user(django_user_model)
    member = django_user_model.objects.create_user("member")
    client = Client()
    client.force_login(staff)
    change = f"/admin/auth/user/{boss.pk}/change/"
    form = {"username": "root", "is_active": "", "date_joined_0": "2024-01-01"}
    assert client.post(change, {**form, "date_joined_1": "00:00:00"}).status_code == 403
    page = client.get(change).content.decode()
    assert 'name="is_active"' not in page  # read-only for staff
    assert client.post(f"/admin/auth/user/{boss.pk}/delete/", {"post": "yes"}).status_code == 403
    selected = {"action": "delete_selected", "_selected_action": [boss.pk, member.pk]}
    assert "Cannot delete user" in client.post("/admin/auth/user/", selected).content.decode()
    assert client.post("/admin/auth/user/", {**selected, "post": "yes"}).status_code == 403
    assert django_user_model.objects.filter(pk__in=[boss.pk, member.pk]).count() == 2
    # A member's account is still the staff's to change; a superuser may change anyone's.
    member_page = client.get(f"/admin/auth/user/{member.pk}/change/").content.decode()
    assert 'name="is_active"' in member_page
    superuser = Client()
    superuser.force_login(admin_user)
    assert 'name="is_active"' in superuser.get(change).content.decode()


# ComponentConsumer: permissions on every path -------------------------------------


class Feed(live.Component):
    renderer = live.MockRenderer(lambda ctx: "".join(f"<i>{e}</i>" for e in ctx["entries"]))
    permission_classes = (live.IsStaff,)

    def mount(self) -> None:
        self.state = {"entries": []}

    def on_note(self, text: str) -> None:
        self.state["entries"].append(text)


class LooseFeedConsumer(live.ComponentConsumer):
    """The seeds' audit consumer without a check of its own: it trusts the parent."""

    component_name = "t_feed"

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        # Joined before the component is checked, as the seeds' consumer does.
        await self.channel_layer.group_add("t-feed", self.channel_name)
        await super().websocket_connect(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        await self.channel_layer.group_discard("t-feed", self.channel_name)
        await super().websocket_disconnect(message)

    async def feed_entry(self, event: dict[str, Any]) -> None:
        await self.dispatch_event(event="note", payload={"text": event["text"]})

    async def feed_raw(self, event: dict[str, Any]) -> None:
        # Pushes the data itself, with no component in between.
        await self.send(text_data=json.dumps({"raw": event["text"]}))


@pytest.fixture
def feed() -> Iterator[Any]:
    live.register("t_feed")(Feed)
    yield AuthMiddlewareStack(URLRouter([path("ws/feed/", LooseFeedConsumer.as_asgi())]))
    registry.unregister("t_feed")


async def connect_feed(app: Any, user: Any) -> WebsocketCommunicator:
    cookie, _ = await database_sync_to_async(session_cookie_for)(user)
    communicator = WebsocketCommunicator(app, "/ws/feed/", headers=[(b"cookie", cookie.encode())])
    assert (await communicator.connect())[0]
    return communicator


async def send_both_messages(text: str) -> None:
    layer = get_channel_layer()
    await layer.group_send("t-feed", {"type": "feed.raw", "text": text})
    await layer.group_send("t-feed", {"type": "feed.entry", "text": text})


async def test_a_refused_user_gets_nothing_from_the_subclasss_group_handlers(
    feed: Any, user: Any
) -> None:
    communicator = await connect_feed(feed, user)
    assert json.loads(await communicator.receive_from()) == {
        "type": "error",
        "code": "forbidden",
        "message": "Staff access required",
    }
    assert (await communicator.receive_output())["code"] == 4403
    await send_both_messages("deleted user 3")
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_staff_get_the_feed_until_demoted_then_an_error_and_a_close(
    feed: Any, staff: Any, settings: Any
) -> None:
    settings.LIVE = {"USER_RECHECK_INTERVAL": 0}
    communicator = await connect_feed(feed, staff)
    assert json.loads(await communicator.receive_from())["type"] == "full"
    await send_both_messages("first")
    assert json.loads(await communicator.receive_from()) == {"raw": "first"}
    assert json.loads(await communicator.receive_from())["html"] == "<i>first</i>"
    # A demotion that sends no signal: the next group message re-reads the user.
    await get_user_model().objects.filter(pk=staff.pk).aupdate(is_staff=False)
    await send_both_messages("second")
    frame = json.loads(await communicator.receive_from())
    assert (frame["type"], frame["code"], frame["message"]) == (
        "error",
        "forbidden",
        "Staff access required",
    )
    assert (await communicator.receive_output())["code"] == 4403
    await send_both_messages("third")
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
