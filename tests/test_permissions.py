"""Permissions at mount, join and every event; revocation over the channel layer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser, Permission
from django.test import Client

import live
from live import permissions, registry, revocation
from live import state as live_state
from live.testing import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


class Panel(live.Component):
    permission_classes = (live.IsStaff,)
    renderer = live.MockRenderer(lambda ctx: f"<p>{ctx['n']}</p>")

    def mount(self) -> None:
        self.state = {"n": 0}

    def on_bump(self) -> None:
        self.state["n"] += 1


class Members(Panel):
    permission_classes = (live.IsAuthenticated,)


class Editors(Panel):
    permission_classes = (live.DjangoModelPermission("auth.change_user"),)


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_panel")(Panel)
    live.register("t_members")(Members)
    live.register("t_editors")(Editors)
    yield
    for name in ("t_panel", "t_members", "t_editors"):
        registry.unregister(name)


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("sam", password="pw", is_staff=True)


class U:
    def __init__(self, **flags: Any) -> None:
        self.is_authenticated = flags.get("auth", True)
        self.is_active = flags.get("active", True)
        self.is_staff = flags.get("staff", False)
        self.is_superuser = flags.get("su", False)
        self.perms = flags.get("perms", set())

    def has_perm(self, perm: str) -> bool:
        return perm in self.perms


@pytest.mark.parametrize(
    ("permission", "user", "error"),
    [
        pytest.param(live.AllowAny, AnonymousUser(), None, id="allow-any"),
        pytest.param(live.IsAuthenticated, AnonymousUser(), "Authentication required", id="anon"),
        pytest.param(
            live.IsAuthenticated, U(active=False), "Authentication required", id="inactive"
        ),
        pytest.param(live.IsStaff, U(), "Staff access required", id="not-staff"),
        pytest.param(live.IsStaff, U(staff=True), None, id="staff"),
        pytest.param(live.IsSuperuser, U(staff=True), "Superuser access required", id="not-su"),
        pytest.param(live.IsStaff | live.IsSuperuser, U(su=True), None, id="or"),
        pytest.param(
            live.IsStaff & live.IsSuperuser, U(staff=True), "Superuser access required", id="and"
        ),
        pytest.param(~live.IsStaff, U(staff=True), "Permission denied", id="not"),
        pytest.param(
            live.DjangoModelPermission("auth.view_user"),
            U(perms={"auth.view_user"}),
            None,
            id="perm",
        ),
        pytest.param(
            live.DjangoModelPermission("auth.view_user"),
            U(),
            "Permission 'auth.view_user' required",
            id="no-perm",
        ),
    ],
)
def test_permission_classes(permission: Any, user: Any, error: str | None) -> None:
    if error is None:
        permissions.check_all([permission], user)
        return
    with pytest.raises(live.PermissionDenied) as info:
        permissions.check_all([permission], user)
    assert info.value.message == error
    assert info.value.status == (401 if error == "Authentication required" else 403)


def test_model_permission_from_the_components_model() -> None:
    from django.contrib.auth.models import User

    class UserAdmin(live.Component):
        model = User

    perm = live.DjangoModelPermission("change")
    assert perm.resolve(UserAdmin()) == "auth.change_user"
    with pytest.raises(ValueError, match="needs a dotted name"):
        perm.resolve(live.Component())
    with pytest.raises(TypeError, match="is not a permission class or instance"):
        permissions.as_permission(object())


async def test_anonymous_socket_cannot_join_an_authenticated_component(user: Any) -> None:
    member = await LiveClient(user=user).connect()
    view = await member.mount("t_members")
    anonymous = await LiveClient().connect()
    await anonymous.send({"type": "join", "id": view.id, "token": view.token})
    frame = await anonymous.receive()
    assert frame["code"] == "token_invalid"
    # Even a token bound to an anonymous session is refused at mount.
    with pytest.raises(live.NotAuthenticated):
        await anonymous.render("t_members")
    await member.close()
    await anonymous.close()


async def test_staff_loses_staff_and_the_next_event_is_refused(staff: Any) -> None:
    async with LiveClient(user=staff) as client:
        view = await client.mount("t_panel")
        assert (await view.event("bump"))["type"] in ("diff", "full")
        staff.is_staff = False
        await database_sync_to_async(staff.save)()
        frame = await client.receive_until(lambda f: f.get("type") == "error", timeout=1.0)
        assert frame == {
            "type": "error",
            "id": view.id,
            "code": "forbidden",
            "message": "Staff access required",
        }
        frame = await view.event("bump")
        assert frame["code"] == "forbidden"
        assert "<p>1</p>" in view


async def test_logout_revokes_the_sockets_of_that_session(staff: Any) -> None:
    client = await LiveClient(user=staff).connect()
    view = await client.mount("t_panel")

    def logout() -> None:
        browser = Client()
        browser.cookies.load(client.cookie or "")
        assert browser.post("/accounts/logout/").status_code in (200, 302)

    await database_sync_to_async(logout)()
    frame = await client.receive_until(lambda f: f.get("type") == "error", timeout=1.0)
    assert frame["code"] == "unauthenticated"
    assert (await view.event("bump"))["code"] == "unauthenticated"
    await client.close()


async def test_an_event_after_a_logout_whose_message_is_lost_is_refused(
    staff: Any, settings: Any
) -> None:
    settings.LIVE = {"USER_RECHECK_INTERVAL": 3600}  # only the logout's mark can tell
    async with LiveClient(user=staff) as client:
        view = await client.mount("t_panel")
        # What the logout does before its revoke message, which never arrives here.
        await database_sync_to_async(revocation.mark_signed_out)(client.session_key, staff.pk)
        frame = await view.event("bump")
        assert frame == {
            "type": "error",
            "id": view.id,
            "code": "unauthenticated",
            "message": "Your session ended; reload the page",
            "ref": frame["ref"],
        }
        snapshot = await database_sync_to_async(live_state.load)(view.id)
        assert snapshot is not None
        assert json.loads(snapshot.state_json) == {"n": 0}


async def test_silent_change_is_caught_by_the_periodic_recheck(staff: Any, settings: Any) -> None:
    settings.LIVE = {"USER_RECHECK_INTERVAL": 0}
    from django.contrib.auth import get_user_model

    async with LiveClient(user=staff) as client:
        view = await client.mount("t_panel")
        # .update() sends no signal: only the recheck before the event can notice.
        await database_sync_to_async(get_user_model().objects.filter(pk=staff.pk).update)(
            is_active=False
        )
        frame = await view.event("bump")
        assert frame["code"] in ("forbidden", "unauthenticated")


async def test_losing_a_permission_revokes(django_user_model: Any) -> None:
    editor = await database_sync_to_async(django_user_model.objects.create_user)("ed", password="p")
    perm = await database_sync_to_async(Permission.objects.get)(codename="change_user")
    await database_sync_to_async(editor.user_permissions.add)(perm)
    async with LiveClient(user=editor) as client:
        view = await client.mount("t_editors")
        await database_sync_to_async(editor.user_permissions.remove)(perm)
        frame = await client.receive_until(lambda f: f.get("type") == "error", timeout=1.0)
        assert frame["message"] == "Permission 'auth.change_user' required"
        assert view.id == frame["id"]


async def test_revocation_crosses_consumers_on_redis(staff: Any, redis_layer: str) -> None:
    one = await LiveClient(user=staff).connect()
    two = await LiveClient(user=staff).connect()
    a = await one.mount("t_panel")
    b = await two.mount("t_panel")
    staff.is_staff = False
    await database_sync_to_async(staff.save)()
    for client, view in ((one, a), (two, b)):
        frame = await client.receive_until(lambda f: f.get("type") == "error", timeout=1.0)
        assert (frame["id"], frame["code"]) == (view.id, "forbidden")
    await asyncio.gather(one.close(), two.close())


def test_http_staff_only_endpoint(staff: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    response = client.get("/live/components/t_panel/")
    assert (response.status_code, response.json()["error"]) == (403, "Staff access required")
    client.force_login(staff)
    assert client.get("/live/components/t_panel/").status_code == 200


def test_view_permission_classes_answer_401_json() -> None:
    from django.test import RequestFactory

    view = live.AuthenticatedComponentView.as_view(component_name="t_panel")
    request = RequestFactory().get("/x")
    request.user = AnonymousUser()
    response = view(request)
    assert response.status_code == 401
    assert response.content == b'{"error": "Authentication required", "code": "unauthenticated"}'
