"""The admin panel in headless Chromium: log in, search, toggle, live audit, inline edit."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from live_admin.models import AuditEntry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

User = get_user_model()
JOINED = (
    "() => window.live && Object.keys(window.live.components).length > 0"
    " && Object.values(window.live.components).every((c) => c.html !== null)"
)


@pytest.fixture
def people(django_user_model: Any) -> dict[str, Any]:
    """Staff, a superuser (both with passwords) and 30 customers newer than both."""
    now = timezone.now()
    staff = django_user_model.objects.create_user(
        "sam", "sam@example.com", "sam-password", is_staff=True
    )
    boss = django_user_model.objects.create_superuser("root", "root@example.com", "root-password")
    User.objects.filter(pk__in=[staff.pk, boss.pk]).update(
        date_joined=now - datetime.timedelta(days=365)
    )
    User.objects.bulk_create(
        User(
            username=f"customer{i:02d}",
            email=f"customer{i:02d}@shop.example",
            date_joined=now - datetime.timedelta(minutes=i + 1),
        )
        for i in range(30)
    )
    return {"staff": staff, "boss": boss}


def log_in(page: Any, url: str, username: str, password: str, mode: str = "ws") -> None:
    """Open the panel, get the login page, log in through the real form, wait for the socket."""
    page.goto(url + "/admin-panel/")
    assert "/accounts/login/?next=/admin-panel/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + "/admin-panel/")
    if mode == "ws":
        page.wait_for_function(JOINED)
    else:
        page.wait_for_function(f"window.live && window.live.mode === {mode!r}")
    assert page.evaluate("window.live.mode") == mode


def row(page: Any, username: str) -> Any:
    return page.locator("tr[id^=user-]").filter(has_text=username)


def customer(username: str) -> Any:
    return User.objects.get(username=username)


def test_search_toggle_and_the_audit_feed_of_another_admin(
    daphne_server: Any, browser: Any, page: Any, people: dict[str, Any]
) -> None:
    log_in(page, daphne_server.url, "sam", "sam-password")
    # A second admin, in another browser context, watches the feed.
    other_context = browser.new_context()
    try:
        other = other_context.new_page()
        other.set_default_timeout(10_000)
        log_in(other, daphne_server.url, "root", "root-password")

        assert page.locator(".lap-total").text_content() == "32 users"
        pager = page.locator(".lap-page")
        assert pager.text_content() == "Page 1 of 2 · 1\u201325 of 32"
        page.get_by_role("button", name="Next").click()
        page.wait_for_function(
            "document.querySelector('.lap-page').textContent"
            " === 'Page 2 of 2 \u00b7 26\u201332 of 32'"
        )
        assert page.get_by_role("button", name="Next").is_disabled()
        search = page.get_by_label("Search users")
        search.click()
        search.type("customer1", delay=20)
        page.wait_for_function(
            "document.querySelector('.lap-total').textContent"
            " === '10 users matching \u201ccustomer1\u201d'"
        )
        assert search.input_value() == "customer1"
        assert page.locator("tr[id^=user-]").count() == 10

        target = customer("customer12")
        row(page, "customer12").get_by_role("button", name="Deactivate").click()
        badge = f"#user-{target.pk} .status"
        page.wait_for_function(
            f"document.querySelector('{badge}').textContent === 'inactive'"
            f" && document.querySelector('#user-{target.pk} .toggle').textContent === 'Activate'"
        )
        target.refresh_from_db()
        assert target.is_active is False

        # The other admin's feed shows the entry on top, and their table follows.
        first_entry = other.locator(".lap-feed .entry").first
        first_entry.filter(has_text="User deactivated").filter(
            has_text=f"customer12 (#{target.pk})"
        ).wait_for()
        assert "by sam" in (first_entry.text_content() or "")
        other.wait_for_function(f"document.querySelector('{badge}').textContent === 'inactive'")

        row(page, "customer12").get_by_role("button", name="Activate").click()
        page.wait_for_function(f"document.querySelector('{badge}').textContent === 'active'")
        other.locator(".lap-feed .entry").first.filter(has_text="User activated").wait_for()
        assert (
            AuditEntry.objects.filter(
                target_id=str(target.pk), action__in=["user.activated", "user.deactivated"]
            ).count()
            == 2
        )
    finally:
        other_context.close()


def test_superuser_edits_a_user_inline(
    daphne_server: Any, page: Any, people: dict[str, Any]
) -> None:
    log_in(page, daphne_server.url, "root", "root-password")
    target = customer("customer03")
    editor = page.locator("#user-editor")
    assert "Choose Edit on a row" in (editor.text_content() or "")
    row(page, "customer03").get_by_role("button", name="Edit").click()
    editor.get_by_role("heading", name=f"Edit customer03 (#{target.pk})").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.name === 'username'")

    # A bad email: a field error, nothing saved, the button back to "Save".
    editor.get_by_label("Email").fill("not-an-email")
    editor.get_by_role("button", name="Save").click()
    editor.get_by_text("Enter a valid email address.").wait_for()
    assert editor.get_by_role("button", name="Save").is_enabled()
    target.refresh_from_db()
    assert target.email == "customer03@shop.example"

    editor.get_by_label("Email").fill("ada@example.com")
    editor.get_by_label("First name").fill("Ada")
    editor.get_by_label("Staff").check()
    editor.get_by_role("button", name="Save").click()
    editor.get_by_text("Saved.").wait_for()
    target.refresh_from_db()
    assert (target.email, target.first_name, target.is_staff) == ("ada@example.com", "Ada", True)
    # The table shows the change too.
    page.wait_for_function(
        f"document.querySelector('#user-{target.pk}').textContent.includes('ada@example.com')"
    )
    assert row(page, "customer03").locator(".badge.staff").text_content() == "staff"

    # Their own superuser flag cannot go by accident.
    boss = people["boss"]
    page.get_by_label("Search users").fill("root")
    page.wait_for_function("document.querySelectorAll('tr[id^=user-]').length === 1")
    row(page, "root").get_by_role("button", name="Edit").click()
    editor.get_by_role("heading", name=f"Edit root (#{boss.pk})").wait_for()
    editor.get_by_label("Superuser").uncheck()
    editor.get_by_role("button", name="Save").click()
    editor.get_by_text("You cannot remove your own superuser status.").wait_for()
    boss.refresh_from_db()
    assert boss.is_superuser is True


def test_saving_shows_at_once_and_rolls_back_on_error(
    daphne_server: Any, page: Any, people: dict[str, Any]
) -> None:
    held: list[str] = []
    routes: dict[str, Any] = {}

    def route(ws: Any) -> None:
        server = ws.connect_to_server()
        routes["client"] = ws

        def to_server(message: Any) -> None:
            if '"event":"submit"' in str(message):
                held.append(str(message))
            else:
                server.send(message)

        ws.on_message(to_server)
        server.on_message(lambda message: ws.send(message))

    page.route_web_socket(re.compile(r".*/ws/live/$"), route)
    log_in(page, daphne_server.url, "root", "root-password")
    target = customer("customer04")
    row(page, "customer04").get_by_role("button", name="Edit").click()
    editor = page.locator("#user-editor")
    editor.get_by_role("heading", name=f"Edit customer04 (#{target.pk})").wait_for()
    editor.get_by_label("Last name").fill("Hopper")
    editor.get_by_role("button", name="Save").click()
    # The answer is held back: what the user sees is the optimistic patch.
    button = editor.locator(".save-button")
    page.wait_for_function("document.querySelector('.save-button').textContent === 'Saving\u2026'")
    assert button.is_disabled()
    assert editor.locator(".save-status").text_content() == "Saving\u2026"
    assert len(held) == 1
    # The server fails: everything the patch changed is put back.
    sent = json.loads(held[0])
    routes["client"].send(
        json.dumps(
            {
                "type": "error",
                "id": sent["id"],
                "ref": sent["ref"],
                "code": "server_error",
                "message": "Internal error",
            }
        )
    )
    page.wait_for_function("document.querySelector('.save-button').textContent === 'Save'")
    assert button.is_enabled()
    assert editor.locator(".save-status").text_content() == ""
    editor.locator("[data-live-error]").get_by_text("Internal error").wait_for()
    target.refresh_from_db()
    assert target.last_name == ""


def test_staff_sees_the_panel_but_cannot_edit(
    daphne_server: Any, page: Any, people: dict[str, Any]
) -> None:
    log_in(page, daphne_server.url, "sam", "sam-password")
    editor = page.locator("#user-editor")
    assert (
        editor.locator(".read-only").text_content() == "Read-only: only superusers can edit users."
    )
    assert page.locator("[data-edit-user]").count() == 0
    assert page.locator('[data-live-name="user_edit"]').count() == 0
    assert page.locator("#kpi-mau .value").count() == 1
    response = page.request.get(daphne_server.url + "/admin-panel/components/user-edit/")
    assert response.status == 403
    assert response.json() == {"error": "Superuser access required", "code": "forbidden"}
    # The superuser's row cannot be toggled by staff either.
    page.get_by_label("Search users").fill("root")
    page.wait_for_function("document.querySelectorAll('tr[id^=user-]').length === 1")
    assert row(page, "root").locator(".locked").text_content() == "locked"
    assert row(page, "root").get_by_role("button").count() == 0


def test_the_panel_works_over_the_http_fallback(
    daphne_server: Any, page: Any, people: dict[str, Any]
) -> None:
    # No WebSocket in this browser: every event goes over HTTP POST.
    page.add_init_script("delete window.WebSocket")
    log_in(page, daphne_server.url, "root", "root-password", mode="http")
    search = page.get_by_label("Search users")
    search.fill("customer2")
    page.wait_for_function("document.querySelectorAll('tr[id^=user-]').length === 10")
    target = customer("customer21")
    row(page, "customer21").get_by_role("button", name="Deactivate").click()
    # The badge flips at once (optimistic); the button changes with the server's answer.
    page.wait_for_function(
        f"document.querySelector('#user-{target.pk} .toggle').textContent === 'Activate'"
    )
    assert row(page, "customer21").locator(".status").text_content() == "inactive"
    target.refresh_from_db()
    assert target.is_active is False
    row(page, "customer21").get_by_role("button", name="Edit").click()
    editor = page.locator("#user-editor")
    editor.get_by_role("heading", name=f"Edit customer21 (#{target.pk})").wait_for()
    editor.get_by_label("Last name").fill("Liskov")
    editor.get_by_role("button", name="Save").click()
    editor.get_by_text("Saved.").wait_for()
    target.refresh_from_db()
    assert target.last_name == "Liskov"
