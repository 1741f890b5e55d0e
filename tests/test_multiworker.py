"""Two daphne workers on one Redis, no sticky routing: the apps' flows across them, and a kill -9.

Each test starts two real daphne processes sharing the test database and a Redis
key prefix (cache and channel layer), and drives them with real sockets.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from live import state
from live.demo.seed import seed as seed_tour
from live.models import Job
from live.testing import session_cookie_for
from live_admin.models import AuditEntry
from live_admin.seed import seed as seed_panel
from live_shop.testing import create_product
from tests.conftest import Server, start_server
from tests.wire import Session, Tab

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def workers(redis_layer: str, redis_url: str, django_db_blocker: Any) -> Iterator[list[Server]]:
    """Workers A and B; the test process shares their Redis prefix, so its broadcasts reach them."""
    env = {
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": redis_layer,
        "CHANNEL_LAYER_PREFIX": redis_layer,
    }
    with django_db_blocker.unblock():
        started = [start_server(env), start_server(env)]
    yield started
    for server in started:
        server.stop()


def logged_in(user: Any) -> Session:
    """A browser profile logged in as ``user`` (a real session in the shared database)."""
    _, session_key = session_cookie_for(user)
    return Session(session_key)


def count_of(tab: Tab) -> int:
    match = re.search(r'<output class="count">(\d+)</output>', tab.root("counter").html or "")
    assert match, tab.root("counter").html
    return int(match.group(1))


def status_of(tab: Tab, pk: int) -> str:
    html = tab.root("users").html or ""
    row = re.search(rf'<tr id="user-{pk}">.*?class="badge status \w+">(\w+)<', html, re.S)
    assert row, f"no row for user {pk}"
    return row.group(1)


def test_audit_entries_made_on_one_worker_reach_staff_on_the_other(
    workers: list[Server], staff: Any, boss: Any, user: Any
) -> None:
    a, b = workers
    watcher = logged_in(staff).tab(a.url + "/admin-panel/").connect(a.url)
    watcher.join("audit_log")
    watcher.join("users")
    actor = logged_in(boss).tab(b.url + "/admin-panel/").connect(b.url)
    actor.join("users")
    assert actor.event("users", "toggle", user_id=user.pk, active=False)["type"] == "diff"
    watcher.wait_for("audit_log", "User deactivated")
    # Who did it and from where: the acting socket's user and peer address.
    assert "by root · 127.0.0.1" in (watcher.root("audit_log").html or "")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.USER_DEACTIVATED)
    assert (entry.actor, entry.ip) == (boss, "127.0.0.1")
    watcher.receive_until(lambda f: status_of(watcher, user.pk) == "inactive")
    for tab in (watcher, actor):
        tab.close()


def test_a_users_tabs_on_two_workers_share_the_cart(workers: list[Server], user: Any) -> None:
    a, b = workers
    tee = create_product()
    profile = logged_in(user)
    cart_tab = profile.tab(a.url + "/shop/cart/").connect(a.url)
    cart_tab.join("cart")
    assert "Your cart is empty." in (cart_tab.root("cart").html or "")
    product_tab = profile.tab(f"{b.url}/shop/product/{tee.pk}/").connect(b.url)
    product_tab.join("product")
    product_tab.join("cart")
    product_tab.event("product", "select_size", size="S")
    product_tab.event("product", "add_to_cart")
    cart_tab.wait_for("cart", "cart-line")
    line = re.search(r'data-line="(\d+)"', cart_tab.root("cart").html or "")
    assert line
    # And back: a change on worker A reaches the tab on worker B.
    cart_tab.event("cart", "set_qty", line_id=int(line.group(1)), qty=2)
    product_tab.wait_for("cart", "$59.98")
    cart_tab.event("cart", "remove_item", line_id=int(line.group(1)))
    product_tab.wait_for("cart", "Your cart is empty.")
    for tab in (cart_tab, product_tab):
        tab.close()


def percents(tab: Tab) -> list[int]:
    return [
        int(match.group(1))
        for html in tab.root("live_job").history
        if (match := re.search(r'class="percent">(\d+)%', html))
    ]


def start_recalculation(server: Server, admin: Session, count: int) -> Job:
    """Run the "Recalculate subscriptions" admin action on ``server`` for ``count`` users."""
    admin.get(server.url + "/admin/auth/user/")  # the CSRF cookie
    pks = list(get_user_model().objects.order_by("pk").values_list("pk", flat=True)[:count])
    status, _ = admin.post(
        server.url + "/admin/auth/user/",
        {"action": "recalculate_subscriptions", "_selected_action": pks, "index": 0},
    )
    assert status == 200  # after the redirect to the progress page
    return Job.objects.latest("created")


def wait_until_finished(job: Job, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not job.is_finished:
        assert time.monotonic() < deadline, job.status
        time.sleep(0.1)
        job.refresh_from_db()


def test_a_job_started_on_one_worker_shows_progress_on_the_other(
    workers: list[Server], boss: Any
) -> None:
    a, b = workers
    seed_panel()
    admin = logged_in(boss)
    job = start_recalculation(a, admin, 60)
    watcher = admin.tab(f"{b.url}/live/jobs/{job.pk}/").connect(b.url)
    watcher.join("live_job")
    watcher.wait_for("live_job", 'class="status">succeeded<', timeout=30)
    seen = percents(watcher)
    assert seen == sorted(seen)
    assert seen[-1] == 100
    assert len(set(seen)) >= 3, seen  # progress arrived while it ran, not just the end
    watcher.close()


def test_killing_a_worker_mid_session_loses_and_doubles_nothing(workers: list[Server]) -> None:
    a, b = workers
    seed_tour()
    tab = Session().tab(a.url + "/").connect(a.url)
    tab.join("counter")
    tab.join("people")
    for _ in range(3):
        tab.event("counter", "increment")
    person = re.search(r'"person_id": (\d+)', tab.root("people").html or "")
    assert person
    tab.event("people", "toggle", person_id=int(person.group(1)))
    toggled = tab.root("people").html
    # Five more clicks go out; worker A applies and saves them, then dies before the
    # tab reads a single answer.
    sent = [tab.send_event("counter", "increment") for _ in range(5)]
    deadline = time.monotonic() + 10
    while (snapshot := state.load(tab.root("counter").id)) is None or snapshot.ref != sent[-1]:
        assert time.monotonic() < deadline, "worker A did not apply the events"
        time.sleep(0.02)
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(timeout=10)
    tab.drop()
    # Two clicks while no socket is open wait in the page, as live.js keeps them.
    for _ in range(2):
        tab.queue_event("counter", "increment")
    assert len(tab.unanswered) == 7

    # Reconnect to the other worker: each component resumes from its last saved state,
    # and every unanswered event is sent again with its original ref.
    tab.connect(b.url)
    assert tab.join("counter")["type"] == "full"  # newer than what the tab held
    assert count_of(tab) == 3 + 5  # resumed from the last state A saved
    assert tab.join("people")["type"] == "ack"  # unchanged since the tab's version
    answers = tab.resend()
    # The five A applied are acknowledged, not applied again; the two queued ones apply.
    assert [answer["type"] for answer in answers] == ["ack"] * 5 + ["diff"] * 2
    assert tab.unanswered == {}
    assert count_of(tab) == 3 + 5 + 2
    assert tab.root("people").html == toggled
    # The server agrees with what the tab shows.
    tab.send({"type": "resync", "id": tab.root("counter").id})
    tab.receive_until(lambda f: f.get("type") == "full")
    assert count_of(tab) == 10
    tab.close()


def test_broadcasts_during_a_disconnect_are_caught_up(
    workers: list[Server], boss: Any, user: Any, other_user: Any
) -> None:
    a, b = workers
    seed_panel()
    tee = create_product()
    admin, shopper = logged_in(boss), logged_in(user)
    feed = admin.tab(a.url + "/admin-panel/").connect(a.url)
    feed.join("audit_log")
    cart = shopper.tab(a.url + "/shop/cart/").connect(a.url)
    cart.join("cart")
    job = start_recalculation(b, admin, 40)
    progress = admin.tab(f"{a.url}/live/jobs/{job.pk}/").connect(a.url)
    progress.join("live_job")
    assert 'class="status">succeeded<' not in (progress.root("live_job").html or "")

    # Worker A dies with all three sockets; meanwhile everything changes on worker B.
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(timeout=10)
    for tab in (feed, cart, progress):
        tab.drop()
    actor = admin.tab(b.url + "/admin-panel/").connect(b.url)
    actor.join("users")
    actor.event("users", "toggle", user_id=other_user.pk, active=False)
    other_tab = shopper.tab(f"{b.url}/shop/product/{tee.pk}/").connect(b.url)
    other_tab.join("product")
    other_tab.event("product", "select_size", size="M")
    other_tab.event("product", "add_to_cart")
    wait_until_finished(job)

    # Back on worker B, each page rejoins with the version it holds and catches up.
    for tab, name in ((feed, "audit_log"), (cart, "cart"), (progress, "live_job")):
        held = tab.root(name).version
        tab.connect(b.url)
        answer = tab.join(name)
        assert answer["type"] == "full", answer
        assert answer["v"] > held
    assert "User deactivated" in (feed.root("audit_log").html or "")
    assert "cart-line" in (cart.root("cart").html or "")
    assert "(M)" in (cart.root("cart").html or "") or "size M" in (cart.root("cart").html or "")
    assert 'class="status">succeeded<' in (progress.root("live_job").html or "")
    for tab in (feed, cart, progress, actor, other_tab):
        tab.close()
