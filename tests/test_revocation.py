"""Revocation holds on every path that sends HTML, on both layers and over HTTP.

Each test drives a real daphne (in-memory layer and LocMem cache, or Redis for
both) with real sockets (``tests.wire``) and plain HTTP requests: a logout in
another tab, or a change that sends no signal, must stop ``join``, ``resync``,
events and pushes of the staff components, with an exact error frame each.
"""

from __future__ import annotations

import datetime
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session as SessionRow
from django.utils import timezone

from live import revocation, state
from live.testing import session_cookie_for
from live_admin.models import AuditEntry
from tests.conftest import Server, need, start_server
from tests.wire import Frame, Root, Session, Tab

pytestmark = pytest.mark.django_db(transaction=True)

PANEL = "/admin-panel/"
JOINED = ("audit_log", "users")
SIGNED_OUT = {"code": "unauthenticated", "message": revocation.SIGNED_OUT}
STAFF_ONLY = {"code": "forbidden", "message": "Staff access required"}


@pytest.fixture(scope="module")
def memory_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Server]:
    """A daphne on the in-memory layer and LocMem cache, even when the suite runs on Redis."""
    with django_db_blocker.unblock():
        server = start_server({"REDIS_URL": ""})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Server]:
    """A daphne on the Redis layer and cache, under a key prefix of its own."""
    url = os.environ.get("REDIS_URL", "")
    need(bool(url), "REDIS_URL is not set: Redis tests skipped")
    prefix = f"rv{uuid.uuid4().hex[:8]}"
    env = {"REDIS_URL": url, "CACHE_KEY_PREFIX": prefix, "CHANNEL_LAYER_PREFIX": prefix}
    with django_db_blocker.unblock():
        server = start_server(env)
    yield server
    server.stop()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def server(request: pytest.FixtureRequest) -> Server:
    """Each daphne in turn."""
    found: Server = request.getfixturevalue(f"{request.param}_server")
    return found


def logged_in(user: Any) -> Session:
    """A browser profile with a fresh session of ``user`` in the shared database."""
    return Session(session_cookie_for(user)[1])


def open_panel(server: Server, session: Session) -> Tab:
    """Open the panel in a new tab, join the audit feed and the user table, drain the socket."""
    tab = session.tab(server.url + PANEL).connect(server.url)
    for name in JOINED:
        assert tab.join(name)["type"] in ("full", "ack")
    assert barrier(tab) == []
    return tab


def barrier(tab: Tab) -> list[Frame]:
    """Return every frame the socket sent before it answered a ping (the frames sent so far)."""
    tab.send({"type": "ping"})
    frames = []
    while True:
        frame = tab.receive()
        if frame["type"] == "pong":
            return frames
        frames.append(frame)


def quiet(tab: Tab, seconds: float = 0.2) -> list[Frame]:
    """Return the frames arriving within ``seconds``."""
    frames = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frames.append(tab.receive(timeout=left))
        except TimeoutError:
            break
    return frames


def error(root: Root, expected: dict[str, str], ref: int | None = None) -> Frame:
    """Return the exact error frame ``root`` gets."""
    frame: Frame = {"type": "error", "id": root.id, **expected}
    if ref is not None:
        frame["ref"] = ref
    return frame


def notices(tab: Tab, expected: dict[str, str]) -> list[Frame]:
    """Return the revocation notices of the joined components, in join order."""
    return [error(tab.root(name), expected) for name in JOINED]


def resync(tab: Tab, name: str) -> None:
    tab.send({"type": "resync", "id": tab.root(name).id})


def rejoin(tab: Tab, name: str) -> None:
    root = tab.root(name)
    tab.send({"type": "join", "id": root.id, "token": root.token, "v": root.version})


def post_json(session: Session, url: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST ``body`` as JSON with the profile's cookies and CSRF token; return status and body."""
    csrf = {c.name: c.value for c in session.jar}.get(settings.CSRF_COOKIE_NAME, "")
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={
            "Cookie": session.cookie_header(),
            "X-CSRFToken": csrf,
            "Content-Type": "application/json",
            "Referer": url,
        },
    )
    return answer(request)


def get_json(session: Session, url: str) -> tuple[int, Any]:
    """GET ``url`` with the profile's cookies; return status and body (JSON when it is)."""
    return answer(urllib.request.Request(url, headers={"Cookie": session.cookie_header()}))


def answer(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def http_paths(server: Server, session: Session, root: Root) -> list[tuple[int, Any]]:
    """Ask for ``root`` over each HTTP path: reload by token, poll, event."""
    url = f"{server.url}/live/components/{root.name}/"
    token = urllib.parse.quote(root.token)
    return [
        get_json(session, f"{url}?token={token}"),
        post_json(session, url, {"id": root.id, "token": root.token}),
        post_json(session, url, {"id": root.id, "token": root.token, "event": "search"}),
    ]


def http_error(expected: dict[str, str]) -> tuple[int, Any]:
    status = 401 if expected["code"] == "unauthenticated" else 403
    return status, {"error": expected["message"], "code": expected["code"]}


def toggle(actor: Tab, target: Any, active: bool) -> None:
    """Change ``target``'s status from the actor's table; wait until the audit entry is pushed."""
    frame = actor.event("users", "toggle", user_id=target.pk, active=active)
    assert frame["type"] == "diff", frame
    entry = AuditEntry.objects.latest("id").pk
    actor.wait_for("audit_log", f'id="audit-{entry}"')


def fresh_socket(server: Server, tab: Tab) -> Tab:
    """The same page's tokens on a new socket, opened with the profile's (old) cookie."""
    roots = {name: Root(root.id, name, root.token) for name, root in tab.roots.items()}
    return Tab(tab.session, tab.page, roots).connect(server.url)


def test_logout_in_another_tab_revokes_resync_join_pushes_and_http(
    server: Server, staff: Any, boss: Any, user: Any
) -> None:
    actor = open_panel(server, logged_in(boss))
    for round_ in range(20):
        session = logged_in(staff)
        tab = open_panel(server, session)
        status, _ = session.post(server.url + "/accounts/logout/", {})
        assert status == 200
        # The race: straight after the other tab's logout answer, before anything else.
        resync(tab, "audit_log")
        resync(tab, "users")
        rejoin(tab, "audit_log")
        rejoin(tab, "users")
        # Pushes: the logout's own audit entry, and an entry and user change made now.
        toggle(actor, user, active=round_ % 2 == 1)
        frames = barrier(tab) + quiet(tab, 0.05)
        audit, users = tab.root("audit_log"), tab.root("users")
        assert frames == [
            *notices(tab, SIGNED_OUT),
            error(audit, SIGNED_OUT),
            error(users, SIGNED_OUT),
            error(audit, SIGNED_OUT),
            error(users, SIGNED_OUT),
        ], f"round {round_}"
        ref = tab.send_event("users", "search", query="sam")
        assert barrier(tab) == [error(users, SIGNED_OUT, ref)]
        tab.close()
        # The old token on a new socket with the old cookie, and over HTTP: refused too.
        again = fresh_socket(server, tab)
        rejoin(again, "users")
        assert barrier(again) == [error(again.root("users"), SIGNED_OUT)]
        again.close()
        assert http_paths(server, session, users) == [http_error(SIGNED_OUT)] * 3
        # As the browser is after the logout: the CSRF cookie, no session cookie.
        cookieless = Session()
        cookieless.jar = session.jar
        assert settings.SESSION_COOKIE_NAME not in cookieless.cookie_header()
        bare = Tab(cookieless, tab.page, {"users": Root(users.id, "users", users.token)})
        rejoin(bare.connect(server.url), "users")
        assert barrier(bare) == [error(users, SIGNED_OUT)]
        bare.close()
        assert http_paths(server, cookieless, users) == [http_error(SIGNED_OUT)] * 3
    actor.close()


def demote(staff: Any, session: Session) -> dict[str, str]:
    get_user_model().objects.filter(pk=staff.pk).update(is_staff=False)
    return STAFF_ONLY


def deactivate(staff: Any, session: Session) -> dict[str, str]:
    get_user_model().objects.filter(pk=staff.pk).update(is_active=False)
    return SIGNED_OUT


def delete_session(staff: Any, session: Session) -> dict[str, str]:
    SessionRow.objects.filter(session_key=session.session_key).delete()
    return SIGNED_OUT


def expire_session(staff: Any, session: Session) -> dict[str, str]:
    expired = timezone.now() - datetime.timedelta(seconds=1)
    SessionRow.objects.filter(session_key=session.session_key).update(expire_date=expired)
    return SIGNED_OUT


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(demote, id="update-demotion"),
        pytest.param(deactivate, id="update-deactivation"),
        pytest.param(delete_session, id="session-deleted"),
        pytest.param(expire_session, id="session-expired"),
    ],
)
def test_a_change_without_a_signal_stops_every_path_within_the_window(
    server: Server, change: Any, staff: Any, boss: Any, user: Any
) -> None:
    actor = open_panel(server, logged_in(boss))
    session = logged_in(staff)
    # One tab per path, all on the same session, so each path is the first to re-check.
    tabs = {path: open_panel(server, session) for path in ("resync", "join", "event", "push")}
    page = session.tab(server.url + PANEL)
    assert http_paths(server, session, page.root("users"))[1][0] in (200, 204)

    expected = change(staff, session)
    time.sleep(conf_window() + 0.1)

    tab = tabs["resync"]
    resync(tab, "audit_log")
    assert barrier(tab) == [*notices(tab, expected), error(tab.root("audit_log"), expected)]

    tab = tabs["join"]
    rejoin(tab, "users")
    assert barrier(tab) == [*notices(tab, expected), error(tab.root("users"), expected)]

    tab = tabs["event"]
    ref = tab.send_event("users", "search", query="sam")
    assert barrier(tab) == [*notices(tab, expected), error(tab.root("users"), expected, ref)]

    tab = tabs["push"]
    toggle(actor, user, active=False)
    frames: list[Frame] = []
    tab.receive_until(lambda f: frames.append(f) or f["id"] == tab.root("users").id)
    frames += barrier(tab) + quiet(tab)
    assert frames == notices(tab, expected)

    # Nothing more for any of them, and no way back in on a new socket or over HTTP.
    toggle(actor, user, active=True)
    for tab in tabs.values():
        assert barrier(tab) + quiet(tab, 0.05) == []
        tab.close()
    again = fresh_socket(server, tabs["join"])
    rejoin(again, "users")
    assert barrier(again) == [error(again.root("users"), expected)]
    again.close()
    assert http_paths(server, session, page.root("users")) == [http_error(expected)] * 3
    actor.close()


def conf_window() -> float:
    """The servers' re-check interval (their default: the tests do not override it)."""
    from live.conf import DEFAULTS

    window: float = DEFAULTS["USER_RECHECK_INTERVAL"]
    return window


def test_the_signed_out_mark_keeps_no_session_key_and_outlives_the_session(
    settings: Any,
) -> None:
    settings.SESSION_COOKIE_AGE = 600
    settings.LIVE = {"TOKEN_MAX_AGE": 900}
    revocation.mark_signed_out("abc123")
    assert revocation.is_signed_out("abc123")
    assert not revocation.is_signed_out("abc124")
    assert not revocation.is_signed_out(None)
    key = revocation.mark_key("abc123")
    assert key.startswith("live:out:")
    assert "abc123" not in key
    cache: Any = state.cache()
    if hasattr(cache, "ttl"):  # django-redis
        ttl = cache.ttl(key)
    else:  # LocMem
        ttl = cache._expire_info[cache.make_key(key)] - time.time()
    assert ttl == pytest.approx(900, abs=5)


REVOKED = """() => {
  window.revoked = [];
  document.addEventListener("live:revoked", (e) => window.revoked.push(
    [e.target.getAttribute("data-live-name"), e.detail.code, e.detail.message]));
}"""


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["ws", "http"])
def test_the_page_hears_live_revoked_after_a_logout_in_another_tab(
    memory_server: Server, page: Any, staff: Any, mode: str
) -> None:
    url = memory_server.url
    _, session_key = session_cookie_for(staff)
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": url}]
    )
    if mode == "http":
        page.add_init_script("delete window.WebSocket")
    page.goto(url + PANEL)
    ready = "Object.keys(window.live.components).length === 3 && window.live.mode === "
    if mode == "ws":
        ready += "'ws' && Object.values(window.live.components).every((c) => c.html !== null)"
    else:
        ready += "'http'"
    page.wait_for_function(f"window.live && {ready}", timeout=15_000)
    page.evaluate(REVOKED)
    csrf = next(
        c["value"] for c in page.context.cookies() if c["name"] == settings.CSRF_COOKIE_NAME
    )
    other_tab = page.context.request.post(
        url + "/accounts/logout/", headers={"X-CSRFToken": csrf, "Referer": url + PANEL}
    )
    assert other_tab.status == 200
    message = revocation.SIGNED_OUT
    if mode == "ws":
        # Pushed by the socket: one notice per component, nothing asked.
        page.wait_for_function("window.revoked.length === 3")
        names = ["audit_log", "metrics", "users"]
    else:
        users = page.evaluate("document.querySelector('[data-live-name=users]').dataset.liveId")
        page.evaluate(f"window.live.send({users!r}, 'search', {{query: 'sam'}})")
        page.wait_for_function("window.revoked.length === 1")
        names = ["users"]
    assert sorted(page.evaluate("window.revoked")) == [
        [n, "unauthenticated", message] for n in names
    ]
    # And the component says so where it shows its errors.
    box = page.locator(f"[data-live-name={names[-1]}] [data-live-error]").first
    assert box.text_content() == message
