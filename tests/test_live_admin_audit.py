"""The audit trail: record(), the signal receivers, announcements after commit, the seed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

import live
from live.testing import LiveClient
from live_admin import audit, metrics
from live_admin.models import AuditEntry, Subscription, UserActivity
from live_admin.seed import EMAIL_DOMAIN, USERS, seed

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()


def trail(**filters: Any) -> list[tuple[str, str, str, Any]]:
    """Return ``(action, actor_name, target, detail)`` of the matching entries, oldest first."""
    return [
        (entry.action, entry.actor_name, entry.target, entry.detail)
        for entry in AuditEntry.objects.filter(**filters).order_by("id")
    ]


# record() ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "label", "kind"),
    [
        pytest.param("staff", "sam (#{pk})", "auth.user", id="model"),
        pytest.param("42 users", "42 users", "", id="label"),
        pytest.param(None, "", "", id="none"),
    ],
)
def test_record_describes_its_target(staff: Any, target: Any, label: str, kind: str) -> None:
    entry = audit.record(
        staff,
        "bulk.action",
        staff if target == "staff" else target,
        "2001:db8::1",
        description="Export",
    )
    entry.refresh_from_db()
    assert entry.target == label.format(pk=staff.pk)
    assert entry.target_type == kind
    assert entry.target_id == (str(staff.pk) if kind else "")
    assert (entry.actor_id, entry.actor_name, entry.ip) == (staff.pk, "sam", "2001:db8::1")
    assert entry.detail == {"description": "Export"}
    assert entry.summary() == "Export"


@pytest.mark.parametrize(
    ("detail", "summary"),
    [
        pytest.param({"description": "Export"}, "Export", id="description"),
        pytest.param(
            {"name": "deactivate_users", "count": 5}, "deactivate users (count: 5)", id="name"
        ),
        pytest.param({"count": 5}, "count: 5", id="figures-only"),
        pytest.param({}, "", id="nothing"),
    ],
)
def test_bulk_action_summary(detail: dict[str, Any], summary: str) -> None:
    assert AuditEntry(action="bulk.action", detail=detail).summary() == summary


def test_record_refuses_an_unknown_action() -> None:
    with pytest.raises(ValueError, match=r"^Unknown audit action 'user\.hacked'; valid actions: "):
        audit.record(None, "user.hacked", "x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("127.0.0.1", "127.0.0.1", id="v4"),
        pytest.param("::1", "::1", id="v6"),
        pytest.param("unknown", None, id="garbage"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_only_real_addresses_are_kept(value: Any, expected: str | None) -> None:
    assert audit.clean_ip(value) == expected


def test_anonymous_actor_is_the_system() -> None:
    from django.contrib.auth.models import AnonymousUser

    entry = audit.record(AnonymousUser(), "auth.login_failed", "mallory")
    assert (entry.actor_id, entry.actor_name, str(entry)) == (
        None,
        "",
        "system auth.login_failed mallory",
    )


# Signals ----------------------------------------------------------------------------------------


def test_user_lifecycle_is_audited_with_the_actor(staff: Any) -> None:
    with audit.acting_as(staff, "192.0.2.7"):
        target = User.objects.create_user("carol", "carol@example.com")
        target.email = "carol@example.org"
        target.first_name = "Carol"
        target.save()
        target.is_staff = True
        target.save()
        target.is_active = False
        target.save(update_fields=["is_active"])
        target.set_password("new secret")
        target.save()
        pk = target.pk
        target.delete()
    label = f"carol (#{pk})"
    assert trail(target_id=str(pk)) == [
        ("user.created", "sam", label, {"is_staff": False, "is_superuser": False}),
        (
            "user.updated",
            "sam",
            label,
            {
                "changes": {
                    "email": ["carol@example.com", "carol@example.org"],
                    "first_name": ["", "Carol"],
                }
            },
        ),
        ("user.role_changed", "sam", label, {"is_staff": [False, True]}),
        ("user.deactivated", "sam", label, {}),
        ("user.updated", "sam", label, {"changes": {"password": ["***", "***"]}}),
        ("user.deleted", "sam", label, {}),
    ]
    assert set(AuditEntry.objects.filter(target_id=str(pk)).values_list("ip", flat=True)) == {
        "192.0.2.7"
    }
    summaries = [e.summary() for e in AuditEntry.objects.filter(target_id=str(pk)).order_by("id")]
    assert summaries == [
        "",
        "email: carol@example.com → carol@example.org; first name: — → Carol",
        "staff: no → yes",
        "",
        "password changed",
        "",
    ]


def test_saves_that_change_nothing_tracked_write_nothing(staff: Any) -> None:
    before = AuditEntry.objects.count()
    staff.save()
    loaded = User.objects.only("id", "username").get(pk=staff.pk)
    loaded.save(update_fields=["username"])
    User.objects.filter(pk=staff.pk).update(first_name="bulk")
    assert AuditEntry.objects.count() == before


def test_deleting_yourself_keeps_your_name(staff: Any) -> None:
    pk = staff.pk
    with audit.acting_as(staff):
        staff.delete()
    entry = AuditEntry.objects.get(action="user.deleted")
    assert (entry.actor_id, entry.actor_name, entry.target) == (None, "", f"sam (#{pk})")


@pytest.fixture
def member(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("dora", "dora@example.com", "right-password")


def test_logins_logouts_and_failures_are_audited(member: Any) -> None:
    client = Client(REMOTE_ADDR="198.51.100.4")
    response = client.post("/accounts/login/", {"username": "dora", "password": "wrong"})
    assert response.status_code == 200
    response = client.post("/accounts/login/", {"username": "dora", "password": "right-password"})
    assert response.status_code == 302
    client.post("/accounts/logout/")
    assert trail(action__startswith="auth.") == [
        ("auth.login_failed", "", "dora", {"username": "dora"}),
        ("auth.login", "dora", f"dora (#{member.pk})", {}),
        ("auth.logout", "dora", f"dora (#{member.pk})", {}),
    ]
    assert set(
        AuditEntry.objects.filter(action__startswith="auth.").values_list("ip", flat=True)
    ) == {"198.51.100.4"}
    # A login also counts as activity (MAU).
    assert UserActivity.objects.filter(user=member).exists()


# Announcements -----------------------------------------------------------------------------------


def write_in_transaction(actor: Any, commit: bool) -> None:
    try:
        with transaction.atomic():
            audit.record(actor, "bulk.action", "committed" if commit else "rolled-back")
            if not commit:
                raise RuntimeError("roll back")
    except RuntimeError:
        pass


async def test_entries_reach_the_feed_only_after_commit(staff: Any) -> None:
    async with LiveClient(user=staff) as client:
        feed = await client.mount("audit_log")
        await database_sync_to_async(write_in_transaction)(staff, False)
        await database_sync_to_async(write_in_transaction)(staff, True)
        await client.wait_for(feed, "committed")
        assert "rolled-back" not in feed.html
        assert await client.nothing_received()


@pytest.fixture
def broken_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("channel layer down")

    monkeypatch.setattr(live, "broadcast", fail)


def test_a_failed_announcement_never_fails_the_action(
    staff: Any, broken_layer: None, caplog: pytest.LogCaptureFixture
) -> None:
    with audit.acting_as(staff):
        staff.is_active = False
        staff.save()
    entry = AuditEntry.objects.get(action="user.deactivated")
    assert f"live_admin: could not announce audit entry {entry.pk}" in caplog.text
    staff.refresh_from_db()
    assert staff.is_active is False


# Seed ---------------------------------------------------------------------------------------------


def test_seed_fills_the_panel_once() -> None:
    assert seed() == []
    customers = User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}")
    assert customers.count() == USERS
    assert seed() == []
    assert customers.count() == USERS
    # Enough to paginate, and KPIs that are not trivial.
    figures = metrics.compute()
    assert figures.mau > 100
    assert Decimal(figures.mrr) > 0
    assert Decimal(figures.churn_rate) > 0
    assert Subscription.objects.filter(status="cancelled").exists()
    assert AuditEntry.objects.count() == 40
    # Seeding goes around the signals: no audit entry per user.
    assert not AuditEntry.objects.filter(action="user.created").exists()
