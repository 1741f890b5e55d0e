"""The panel's components in the pure-Python style, then through the real consumer."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import live
from live import registry
from live.mounted import Mounted
from live.testing import LiveClient, make_component
from live.tokens import binding
from live_admin import audit, metrics
from live_admin.components import (
    AuditLogComponent,
    MetricsComponent,
    UserEditComponent,
    UserListComponent,
)
from live_admin.models import AuditEntry, Subscription, UserActivity

User = get_user_model()
NOW = timezone.now()


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    """An active staff member who is not a superuser."""
    return django_user_model.objects.create_user(
        "sam",
        "sam@example.com",
        is_staff=True,
        date_joined=NOW - datetime.timedelta(days=900),
    )


@pytest.fixture
def boss(django_user_model: Any) -> Any:
    """An active superuser."""
    return django_user_model.objects.create_user(
        "root",
        "root@example.com",
        is_staff=True,
        is_superuser=True,
        date_joined=NOW - datetime.timedelta(days=901),
    )


def customers(count: int) -> list[Any]:
    """Create ``count`` users, ``user0`` the newest; return them newest first."""
    User.objects.bulk_create(
        User(
            username=f"user{i}",
            email=f"person{i}@shop.example",
            date_joined=NOW - datetime.timedelta(hours=i + 1),
            is_active=i % 5 != 4,
        )
        for i in range(count)
    )
    return list(User.objects.filter(username__startswith="user").order_by("-date_joined"))


def statements(queries: CaptureQueriesContext) -> list[str]:
    """Return the SQL statements run, without transaction control (BEGIN, COMMIT, savepoints)."""
    return [
        q["sql"] for q in queries if q["sql"].split()[0] in ("SELECT", "INSERT", "UPDATE", "DELETE")
    ]


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="user-(\d+)">', html)]


def status_of(html: str, pk: int) -> str:
    row = re.search(rf'<tr id="user-{pk}">.*?</tr>', html, re.S)
    assert row, f"no row for user {pk}"
    badge = re.search(r'class="badge status (on|off)">(\w+)<', row.group(0))
    assert badge
    return badge.group(2)


def users_table(user: Any, **state: Any) -> Any:
    return make_component(UserListComponent, user=user, state=state or None)


# The user table ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_first_page_holds_the_25_newest_users(staff: Any) -> None:
    people = customers(60)
    table = users_table(staff)
    html = table.render()
    assert row_ids(html) == [user.pk for user in people[:25]]
    assert "61 users" in html
    assert "Page 1 of 3 · 1\u201325 of 61" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("user1", ["user1", "user10", "user11", "user12"], id="username"),
        pytest.param("PERSON3@", ["user3"], id="email-case-insensitive"),
        pytest.param("  user12  ", ["user12"], id="stripped"),
        pytest.param("nobody", [], id="no-match"),
    ],
)
def test_search_by_username_or_email(staff: Any, query: str, expected: list[str]) -> None:
    customers(13)
    table = users_table(staff, query="", page=1)
    table.handle_event("search", {"query": query})
    html = table.render()
    names = re.findall(r'<tr id="user-\d+">\s*<td class="who"><strong>(\w+)</strong>', html)
    assert sorted(names) == expected
    if not expected:
        assert "No user matches &ldquo;nobody&rdquo;." in html


@pytest.mark.django_db
def test_search_goes_back_to_page_one(staff: Any) -> None:
    customers(60)
    table = users_table(staff, query="", page=3)
    table.handle_event("search", {"query": "user"})
    assert table.state == {"query": "user", "page": 1}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "expected"),
    [
        pytest.param("2", 2, id="string-coerced"),
        pytest.param(0, 1, id="below"),
        pytest.param(-4, 1, id="negative"),
        pytest.param(99, 3, id="above"),
    ],
)
def test_page_navigation_is_clamped(staff: Any, page: Any, expected: int) -> None:
    customers(60)
    table = users_table(staff, query="", page=1)
    table.handle_event("page", {"page": page})
    assert table.state["page"] == expected
    assert f"Page {expected} of 3" in table.render()


@pytest.mark.django_db
def test_page_out_of_range_after_a_search_renders_the_last_page(staff: Any) -> None:
    customers(60)
    table = users_table(staff, query="user5", page=3)
    assert "Page 1 of 1" in table.render()


@pytest.mark.django_db
def test_toggle_both_ways_writes_audit_entries(staff: Any) -> None:
    target = customers(3)[0]
    table = users_table(staff, query="", page=1)
    table.handle_event("toggle", {"user_id": str(target.pk), "active": "false"})
    target.refresh_from_db()
    assert target.is_active is False
    assert status_of(table.render(), target.pk) == "inactive"
    table.handle_event("toggle", {"user_id": target.pk, "active": True})
    target.refresh_from_db()
    assert target.is_active is True
    assert status_of(table.render(), target.pk) == "active"
    # Without "active" it flips; setting the current value again changes nothing.
    table.handle_event("toggle", {"user_id": target.pk})
    table.handle_event("toggle", {"user_id": target.pk, "active": False})
    entries = list(
        AuditEntry.objects.filter(target_id=str(target.pk))
        .order_by("id")
        .values_list("action", "actor_name", "target")
    )
    assert entries == [
        ("user.deactivated", "sam", f"user0 (#{target.pk})"),
        ("user.activated", "sam", f"user0 (#{target.pk})"),
        ("user.deactivated", "sam", f"user0 (#{target.pk})"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "error", "message", "fields"),
    [
        pytest.param(
            "self",
            live.InvalidArguments,
            "You cannot change the status of your own account",
            {"user_id": "This is your own account"},
            id="own-account",
        ),
        pytest.param(
            "missing",
            live.InvalidArguments,
            "No user with id 999999",
            {"user_id": "No such user"},
            id="unknown-user",
        ),
        pytest.param(
            "boss",
            live.Forbidden,
            "Only superusers can change the status of a superuser",
            None,
            id="superuser-by-staff",
        ),
    ],
)
def test_toggle_refusals_change_nothing(
    staff: Any, boss: Any, who: str, error: type[live.LiveError], message: str, fields: Any
) -> None:
    user_id = {"self": staff.pk, "missing": 999999, "boss": boss.pk}[who]
    table = users_table(staff, query="", page=1)
    with pytest.raises(error) as info:
        table.handle_event("toggle", {"user_id": user_id, "active": False})
    assert info.value.message == message
    assert getattr(info.value, "fields", None) == fields
    assert User.objects.filter(is_active=False).count() == 0
    assert (
        not AuditEntry.objects.filter(action__startswith="user.")
        .exclude(action="user.created")
        .exists()
    )


@pytest.mark.django_db
def test_superuser_can_toggle_a_superuser(staff: Any, boss: Any) -> None:
    other = User.objects.create_user("other-root", is_staff=True, is_superuser=True)
    table = users_table(boss, query="", page=1)
    table.handle_event("toggle", {"user_id": other.pk, "active": False})
    other.refresh_from_db()
    assert other.is_active is False


@pytest.mark.django_db
def test_toggle_patch_flips_the_badge_at_once(staff: Any) -> None:
    customers(1)
    table = users_table(staff, query="", page=1)
    assert table.get_optimistic_patch("toggle", {"user_id": 7, "active": False}) == {
        "#user-7 .status": {"text": "inactive", "class_add": "off", "class_remove": "on"}
    }
    html = table.render()
    assert 'data-live-optimistic="{&quot;#user-' in html


@pytest.mark.django_db
def test_edit_buttons_only_for_superusers(staff: Any, boss: Any) -> None:
    customers(2)
    assert "data-edit-user=" not in users_table(staff).render()
    assert users_table(boss).render().count("data-edit-user=") == 4


@pytest.mark.django_db(transaction=True)
def test_user_table_query_budgets(staff: Any) -> None:
    customers(60)
    table = users_table(staff, query="", page=1)
    with CaptureQueriesContext(connection) as render_queries:
        html = table.render()
    # One count and one page of users, whatever the number of users.
    assert len(render_queries) == 2
    assert len(row_ids(html)) == 25
    target = row_ids(html)[3]
    with CaptureQueriesContext(connection) as toggle_queries:
        table.handle_event("toggle", {"user_id": target, "active": False})
    # Load the row for update, save its status, write the audit entry.
    assert [sql.split()[0] for sql in statements(toggle_queries)] == ["SELECT", "UPDATE", "INSERT"]
    page_sql = render_queries[1]["sql"]
    assert "LIMIT 25" in page_sql
    assert "password" not in page_sql


# Metrics -------------------------------------------------------------------------------------


def subscription(
    user: Any, amount: str, created_days: int, cancelled_days: int | None = None
) -> Subscription:
    return Subscription.objects.create(
        user=user,
        monthly_amount=Decimal(amount),
        status="cancelled" if cancelled_days is not None else "active",
        created=NOW - datetime.timedelta(days=created_days),
        cancelled_at=(
            NOW - datetime.timedelta(days=cancelled_days) if cancelled_days is not None else None
        ),
    )


@pytest.mark.django_db
def test_metrics_are_computed_from_subscriptions_and_activity() -> None:
    people = customers(8)
    for i, user in enumerate(people):
        UserActivity.objects.create(user=user, last_seen=NOW - datetime.timedelta(days=i * 7))
    subscription(people[0], "29.00", 90)
    subscription(people[1], "9.99", 60)
    subscription(people[2], "249.00", 5)
    subscription(people[3], "79.00", 100, cancelled_days=3)
    subscription(people[4], "79.00", 100, cancelled_days=45)
    subscription(people[5], "9.00", 10, cancelled_days=2)
    figures = metrics.compute(NOW)
    # Seen 0, 7, 14, 21 and 28 days ago: five.
    assert figures.mau == 5
    assert figures.mrr == "287.99"
    assert Decimal(figures.mrr) == Decimal("29.00") + Decimal("9.99") + Decimal("249.00")
    # Cancelled in the window: two. Existing 30 days ago: 29.00, 9.99 and the one
    # cancelled 3 days ago.
    assert (figures.cancellations, figures.subscriptions_at_start) == (2, 3)
    assert figures.churn_rate == "66.67"


@pytest.mark.parametrize(
    ("cancelled", "at_start", "rate"),
    [
        pytest.param(0, 0, "0.00", id="no-subscriptions"),
        pytest.param(1, 3, "33.33", id="third"),
        pytest.param(2, 3, "66.67", id="rounds-half-up"),
        pytest.param(1, 8, "12.50", id="two-decimals"),
    ],
)
def test_churn_rate(cancelled: int, at_start: int, rate: str) -> None:
    assert str(metrics.churn_rate(cancelled, at_start)) == rate


def mount(name: str, user: Any) -> Mounted:
    return Mounted.mount(registry.get(name), params={}, user=user, bound_to=binding(user.pk, None))


@pytest.mark.django_db
def test_metrics_cache_hit_runs_no_query(staff: Any) -> None:
    customers(3)
    with CaptureQueriesContext(connection) as first:
        cold = mount("metrics", staff)
    assert len(first) == 2
    with CaptureQueriesContext(connection) as second:
        warm = mount("metrics", staff)
    assert len(second) == 0
    assert warm.html == cold.html
    assert 'id="kpi-mrr"' in warm.html


@pytest.mark.django_db
def test_metrics_refresh_invalidates_and_recomputes(staff: Any) -> None:
    mount("metrics", staff)
    subscription(staff, "49.50", 1)
    assert "$0.00" in mount("metrics", staff).html
    component: Any = make_component(MetricsComponent, user=staff)
    component.handle_event("refresh")
    assert component.state["mrr"] == "49.50"
    assert "$49.50" in component.render()
    assert "$49.50" in mount("metrics", staff).html


@pytest.mark.django_db
def test_mrr_shows_thousands_separators(staff: Any) -> None:
    component: Any = make_component(MetricsComponent, user=staff)
    component.state["mrr"] = "16030.50"
    assert "$16,030.50" in component.render()


# Audit log -----------------------------------------------------------------------------------


def entries(count: int) -> list[AuditEntry]:
    AuditEntry.objects.bulk_create(
        AuditEntry(
            action="auth.login",
            actor_name=f"u{i}",
            target=f"u{i}",
            timestamp=NOW - datetime.timedelta(minutes=count - i),
        )
        for i in range(count)
    )
    return list(AuditEntry.objects.order_by("-timestamp"))


@pytest.mark.django_db
def test_audit_log_shows_the_50_newest_and_prepends_new_ones(staff: Any) -> None:
    existing = entries(60)
    with CaptureQueriesContext(connection) as queries:
        log: Any = make_component(AuditLogComponent, user=staff)
        html = log.render()
    assert len(queries) == 1
    shown = [int(pk) for pk in re.findall(r'<li id="audit-(\d+)"', html)]
    assert shown == [entry.pk for entry in existing[:50]]
    fresh = AuditEntry.objects.create(action="user.created", target="new (#1)")
    log.handle_event("entry_created", {"entry_id": fresh.pk})
    log.handle_event("entry_created", {"entry_id": fresh.pk})
    with CaptureQueriesContext(connection) as queries:
        html = log.render()
    # Only the new entry is loaded.
    assert len(queries) == 1
    shown = [int(pk) for pk in re.findall(r'<li id="audit-(\d+)"', html)]
    assert shown == [fresh.pk] + [entry.pk for entry in existing[:49]]


@pytest.mark.django_db
def test_audit_log_empty_state(staff: Any) -> None:
    AuditEntry.objects.all().delete()
    log: Any = make_component(AuditLogComponent, user=staff)
    assert "No activity yet." in log.render()


@pytest.mark.django_db
def test_audit_log_first_render_is_cached_for_30_seconds(staff: Any) -> None:
    entries(3)
    assert AuditLogComponent(user=staff).get_cache_ttl() == 30
    mount("audit_log", staff)
    with CaptureQueriesContext(connection) as queries:
        mount("audit_log", staff)
    assert len(queries) == 0


# User edit -----------------------------------------------------------------------------------

FORM = {
    "username": "user0",
    "email": "person0@shop.example",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "is_active": "on",
}


def editor(user: Any, target: Any) -> Any:
    form: Any = make_component(UserEditComponent, user=user)
    form.handle_event("open", {"user_id": str(target.pk)})
    return form


@pytest.mark.django_db
def test_edit_form_opens_for_a_user(boss: Any) -> None:
    target = customers(1)[0]
    form = editor(boss, target)
    assert form.state == {
        "pk": target.pk,
        "label": f"user0 (#{target.pk})",
        "data": {
            "username": "user0",
            "email": "person0@shop.example",
            "first_name": "",
            "last_name": "",
            "is_active": True,
            "is_staff": False,
            "is_superuser": False,
        },
        "saved": False,
    }
    html = form.render()
    assert f"Edit user0 (#{target.pk})" in html
    assert 'value="person0@shop.example"' in html
    form.handle_event("close", {"username": "ignored"})
    assert "Choose <strong>Edit</strong> on a row" in form.render()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        pytest.param(
            {"username": "  "}, {"username": "Username cannot be blank."}, id="blank-username"
        ),
        pytest.param(
            {"email": "not-an-email"}, {"email": "Enter a valid email address."}, id="bad-email"
        ),
        pytest.param(
            {"username": "has space", "email": "x@"},
            {
                "username": (
                    "Enter a valid username. This value may contain only letters, numbers, "
                    "and @/./+/-/_ characters."
                ),
                "email": "Enter a valid email address.",
            },
            id="both",
        ),
        pytest.param(
            {"username": "sam"},
            {"username": "A user with that username already exists."},
            id="taken",
        ),
    ],
)
def test_edit_form_field_errors_change_nothing(
    boss: Any, staff: Any, changes: dict[str, str], errors: dict[str, str]
) -> None:
    target = customers(1)[0]
    form = editor(boss, target)
    form.handle_event("submit", {**FORM, **changes})
    assert form.errors == errors
    assert form.state["saved"] is False
    html = form.render()
    for message in errors.values():
        assert f"{message}</p>" in html
    assert "Not saved: check the fields above." in html
    target.refresh_from_db()
    assert (target.username, target.email) == ("user0", "person0@shop.example")
    # What was typed stays in the form.
    assert form.state["data"]["email"] == {**FORM, **changes}["email"]


@pytest.mark.django_db
def test_edit_form_saves_and_audits_each_kind_of_change(boss: Any) -> None:
    target = customers(1)[0]
    form = editor(boss, target)
    # Unchecked boxes are absent from a submitted form: "is_active" is unchecked here.
    form.handle_event(
        "submit",
        {"username": "ada", "email": "ada@example.com", "first_name": "Ada", "is_staff": "on"},
    )
    assert form.errors == {}
    assert form.state["saved"] is True
    target.refresh_from_db()
    assert (target.username, target.email, target.first_name) == ("ada", "ada@example.com", "Ada")
    assert (target.is_active, target.is_staff, target.is_superuser) == (False, True, False)
    assert "Saved." in form.render()
    logged = {
        entry.action: (entry.actor_name, entry.detail)
        for entry in AuditEntry.objects.filter(target_id=str(target.pk)).exclude(
            action="user.created"
        )
    }
    assert logged == {
        "user.deactivated": ("root", {}),
        "user.role_changed": ("root", {"is_staff": [False, True]}),
        "user.updated": (
            "root",
            {
                "changes": {
                    "email": ["person0@shop.example", "ada@example.com"],
                    "first_name": ["", "Ada"],
                    "username": ["user0", "ada"],
                }
            },
        ),
    }


@pytest.mark.django_db
def test_a_username_taken_during_the_save_is_a_field_error(
    boss: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import IntegrityError

    def collide(self: Any, pk: int, values: dict[str, Any]) -> None:
        raise IntegrityError("UNIQUE constraint failed: auth_user.username")

    form = editor(boss, customers(1)[0])
    monkeypatch.setattr(UserEditComponent, "save_user", collide)
    form.handle_event("submit", {**FORM, "username": "late"})
    assert form.errors == {"username": "A user with that username already exists."}
    assert form.state["saved"] is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        pytest.param(
            {"is_superuser": None},
            {"is_superuser": "You cannot remove your own superuser status."},
            id="own-superuser",
        ),
        pytest.param(
            {"is_active": None},
            {"is_active": "You cannot deactivate your own account."},
            id="own-active",
        ),
    ],
)
def test_superuser_cannot_lock_themselves_out(
    boss: Any, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    form = editor(boss, boss)
    data = {
        "username": "root",
        "email": "root@example.com",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
    }
    for field in changes:
        del data[field]
    form.handle_event("submit", data)
    assert form.errors == errors
    boss.refresh_from_db()
    assert (boss.is_active, boss.is_superuser) == (True, True)
    assert "This is your own account" in form.render()


@pytest.mark.django_db
def test_edit_form_is_for_superusers_only(staff: Any) -> None:
    form = UserEditComponent(user=staff)
    with pytest.raises(live.Forbidden) as info:
        form.check_permissions()
    assert info.value.message == "Superuser access required"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"pk": "abc"}, "Invalid user id 'abc'", id="not-a-number"),
        pytest.param({"pk": "999999"}, "No user with id 999999", id="unknown"),
    ],
)
def test_edit_form_bad_pk_param(boss: Any, params: dict[str, str], message: str) -> None:
    with pytest.raises(live.InvalidArguments) as info:
        make_component(UserEditComponent, user=boss, **params)
    assert info.value.message == message


@pytest.mark.django_db
def test_edit_form_patch_shows_saving_at_once(boss: Any) -> None:
    form = editor(boss, customers(1)[0])
    html = form.render()
    patch = (
        "{&quot;.save-button&quot;: {&quot;text&quot;: &quot;Saving\\u2026&quot;, "
        "&quot;disabled&quot;: true}"
    )
    assert '<form class="lap-form" novalidate ws-send live-event="submit"' in html
    assert f'data-live-optimistic="{patch}' in html


# Through the real consumer -------------------------------------------------------------------

pytestmark_socket = pytest.mark.django_db(transaction=True)


@pytestmark_socket
async def test_table_over_the_socket(staff: Any) -> None:
    people = await database_sync_to_async(customers)(30)
    async with LiveClient(user=staff) as client:
        table = await client.mount("users")
        assert "Page 1 of 2" in table
        await table.event("page", page="2")
        assert "Page 2 of 2" in table
        await table.event("search", query="user2")
        assert "Page 1 of 1" in table
        assert "11 users matching &ldquo;user2&rdquo;" in table
        target = next(user for user in people if user.username == "user2")
        frame = await table.event("toggle", user_id=str(target.pk), active="false")
        assert frame["type"] == "diff"
        assert status_of(table.html, target.pk) == "inactive"
        frame = await table.event("toggle", user_id=target.pk, active="true")
        assert status_of(table.html, target.pk) == "active"
        frame = await table.event("toggle", user_id=staff.pk, active="false")
        assert frame == {
            "type": "error",
            "id": table.id,
            "ref": frame["ref"],
            "code": "invalid_args",
            "message": "You cannot change the status of your own account",
            "fields": {"user_id": "This is your own account"},
        }


@pytestmark_socket
async def test_staff_a_toggles_and_staff_b_sees_the_entry(staff: Any, boss: Any) -> None:
    target = (await database_sync_to_async(customers)(3))[0]
    a = await LiveClient(user=staff).connect()
    b = await LiveClient(user=boss).connect()
    table_a = await a.mount("users")
    table_b = await b.mount("users")
    feed_b = await b.mount("audit_log")
    await table_a.event("toggle", user_id=target.pk, active=False)
    entry = await database_sync_to_async(AuditEntry.objects.filter(action="user.deactivated").get)()
    await b.wait_for(feed_b, f'<li id="audit-{entry.pk}"')
    assert feed_b.html.index(f'id="audit-{entry.pk}"') < feed_b.html.index("<li id=", 0) + 30
    assert "User deactivated" in feed_b.html
    assert "by sam" in feed_b.html
    # B's table follows too.
    await b.receive_until(lambda frame: status_of(table_b.html, target.pk) == "inactive")
    await a.close()
    await b.close()


@pytestmark_socket
async def test_feed_catches_up_after_the_socket_dropped(staff: Any) -> None:
    client = await LiveClient(user=staff).connect()
    feed = await client.mount("audit_log")
    await client.close()

    def meanwhile() -> list[int]:
        return [
            audit.record(None, "auth.login_failed", f"guess{i}", "203.0.113.9").pk for i in range(3)
        ]

    created = await database_sync_to_async(meanwhile)()
    again = LiveClient(user=staff)
    again.cookie, again.session_key = client.cookie, client.session_key
    await again.connect()
    frame = await again.join(feed)
    assert frame["type"] in ("diff", "full")
    shown = [int(pk) for pk in re.findall(r'<li id="audit-(\d+)"', feed.html)]
    assert shown[:3] == created[::-1]
    assert "203.0.113.9" in feed.html
    await again.close()


@pytestmark_socket
async def test_cached_feed_replays_entries_logged_since_it_was_cached(staff: Any) -> None:
    async with LiveClient(user=staff) as client:
        first = await client.mount("audit_log")
        entry = await database_sync_to_async(audit.record)(
            staff, "bulk.action", "42 users", description="Deactivate 42 users"
        )
        # Served from the cache, with the new entry applied on top.
        second = await client.mount("audit_log")
        assert f'<li id="audit-{entry.pk}"' in second.html
        assert "Deactivate 42 users" in second.html
        await client.wait_for(first, f'<li id="audit-{entry.pk}"')


@pytestmark_socket
async def test_feed_keeps_50_entries_under_a_burst(staff: Any) -> None:
    await database_sync_to_async(entries)(50)
    async with LiveClient(user=staff) as client:
        feed = await client.mount("audit_log")

        def burst() -> list[int]:
            return [audit.record(None, "auth.login_failed", f"x{i}").pk for i in range(20)]

        created = await database_sync_to_async(burst)()
        await client.wait_for(feed, f'<li id="audit-{created[-1]}"')
        while not await client.nothing_received(0.2):
            pass
        shown = [int(pk) for pk in re.findall(r'<li id="audit-(\d+)"', feed.html)]
        assert len(shown) == 50
        assert shown[:20] == created[::-1]


@pytestmark_socket
async def test_edit_form_over_the_socket(boss: Any) -> None:
    target = (await database_sync_to_async(customers)(1))[0]
    async with LiveClient(user=boss) as client:
        form = await client.mount("user_edit")
        await form.event("open", user_id=target.pk)
        assert f"Edit user0 (#{target.pk})" in form
        await form.event("submit", **{**FORM, "username": ""})
        assert "Username cannot be blank." in form
        await form.event("submit", **{**FORM, "email": "nope"})
        assert "Enter a valid email address." in form
        assert "Username cannot be blank." not in form
        await form.event("submit", **{**FORM, "first_name": "Grace"})
        assert "Saved." in form
        await database_sync_to_async(target.refresh_from_db)()
        assert target.first_name == "Grace"


@pytestmark_socket
async def test_staff_gets_a_forbidden_frame_from_the_edit_form(staff: Any) -> None:
    from live import tokens

    async with LiveClient(user=staff) as client:
        with pytest.raises(live.Forbidden):
            await client.render("user_edit")
        # Even with a well-signed token of its own, the join is refused.
        token = tokens.sign(
            name="user_edit",
            component_id="lv0123456789abcdef",
            params={},
            version=1,
            bound_to=client.binding(),
        )
        await client.send({"type": "join", "id": "lv0123456789abcdef", "token": token, "v": 1})
        frame = await client.receive()
        assert frame == {
            "type": "error",
            "id": "lv0123456789abcdef",
            "code": "forbidden",
            "message": "Superuser access required",
        }


@pytestmark_socket
async def test_demoted_superuser_loses_the_edit_form(boss: Any) -> None:
    target = (await database_sync_to_async(customers)(1))[0]
    async with LiveClient(user=boss) as client:
        form = await client.mount("user_edit")
        await form.event("open", user_id=target.pk)
        boss.is_superuser = False
        await database_sync_to_async(boss.save)()
        frame = await client.receive_until(lambda f: f.get("type") == "error")
        assert frame["code"] == "forbidden"
        frame = await form.event("submit", **FORM)
        assert frame["code"] == "forbidden"
        assert frame["message"] == "Superuser access required"
