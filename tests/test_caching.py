"""CacheMixin: a hit skips mount() and queries, events bypass, per-user keys, invalidation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

import live
from live import registry
from live.mounted import Mounted
from live.testing import LiveClient
from live.tokens import binding

pytestmark = pytest.mark.django_db(transaction=True)


class Stats(live.CacheMixin, live.Component):
    url_params = ("range",)
    cache_timeout = 300
    mounts: ClassVar[int] = 0
    renderer = live.MockRenderer(lambda ctx: f"<p>{ctx['users']} users, {ctx['clicks']}</p>")

    def mount(self) -> None:
        type(self).mounts += 1
        self.state = {"users": get_user_model().objects.count(), "clicks": 0}

    def on_click(self) -> None:
        self.state["clicks"] += 1

    def on_refresh(self) -> None:
        self.invalidate_cache()
        self.mount()


class Greeting(live.CacheMixin, live.Component):
    cache_ttl = 60
    cache_per_user = True
    renderer = live.MockRenderer(lambda ctx: f"<p>Hello {ctx['name']}</p>")

    def mount(self) -> None:
        self.state = {"name": self.user.get_username() if self.user.is_authenticated else "guest"}


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    Stats.mounts = 0
    live.register("t_stats")(Stats)
    live.register("t_greeting")(Greeting)
    yield
    registry.unregister("t_stats")
    registry.unregister("t_greeting")


def mount(name: str, user: Any = None) -> Mounted:
    return Mounted.mount(
        registry.get(name), params={"range": 30}, user=user, bound_to=binding(None, None)
    )


def test_hit_skips_mount_and_runs_no_query() -> None:
    first = mount("t_stats")
    assert Stats.mounts == 1
    with CaptureQueriesContext(connection) as queries:
        second = mount("t_stats")
    assert len(queries) == 0
    assert Stats.mounts == 1
    assert second.html == first.html
    assert second.component_id != first.component_id


def test_ttl_alias_and_params_in_the_key() -> None:
    component = Stats(params={"range": 30})
    assert component.get_cache_ttl() == 300
    assert component.get_cache_key("t_stats", {"range": 30}, None) != component.get_cache_key(
        "t_stats", {"range": 7}, None
    )


def test_invalidate_makes_the_next_mount_compute_again() -> None:
    mount("t_stats")
    get_user_model().objects.create_user("new")
    assert "0 users" in mount("t_stats").html
    Stats(params={"range": 30}).invalidate_cache()
    assert "1 users" in mount("t_stats").html
    assert Stats.mounts == 2


async def test_events_bypass_the_cache_and_refresh_invalidates() -> None:
    from channels.db import database_sync_to_async

    async with LiveClient() as client:
        view = await client.mount("t_stats", range=30)
        await view.event("click")
        assert "0 users, 1" in view
        await database_sync_to_async(get_user_model().objects.create_user)("late")
        # A second mount is served from the cache: still the old figures.
        again = await client.mount("t_stats", range=30)
        assert "0 users, 0" in again
        await again.event("refresh")
        assert "1 users" in again
        assert "1 users" in (await client.mount("t_stats", range=30)).html


def test_per_user_components_are_never_served_across_users(user: Any, other_user: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert mount("t_greeting", user).html == "<p>Hello alice</p>"
    assert mount("t_greeting", other_user).html == "<p>Hello bob</p>"
    assert mount("t_greeting", AnonymousUser()).html == "<p>Hello guest</p>"
    with CaptureQueriesContext(connection) as queries:
        assert mount("t_greeting", user).html == "<p>Hello alice</p>"
    assert len(queries) == 0


def test_page_render_through_the_template_tag_uses_the_cache() -> None:
    from django.template import Context, Template

    template = Template('{% load live %}{% live_component "t_stats" range=30 %}')
    template.render(Context({}))
    with CaptureQueriesContext(connection) as queries:
        html = template.render(Context({}))
    assert len(queries) == 0
    assert "0 users, 0" in html
    assert Stats.mounts == 1


def test_http_view_and_remounting_join_use_the_cache() -> None:
    from django.test import Client

    client = Client()
    assert client.get("/live/components/t_stats/", {"range": 30}).status_code == 200
    assert client.get("/live/components/t_stats/", {"range": 30}).status_code == 200
    assert Stats.mounts == 1
