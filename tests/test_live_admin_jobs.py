"""Bulk actions on the Django user admin: real admin posts, jobs, audit, widgets."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from live import jobs
from live.models import Job
from live_admin.models import AuditEntry, Subscription

pytestmark = pytest.mark.django_db(transaction=True)


def make_users(count: int) -> list[Any]:
    return [get_user_model().objects.create_user(f"member{i}") for i in range(count)]


def run_action(client: Client, action: str, pks: list[int]) -> Any:
    return client.post("/admin/auth/user/", {"action": action, "_selected_action": pks, "index": 0})


def test_deactivate_selected_users_runs_as_a_job_and_audits(admin_user: Any) -> None:
    members = make_users(3)
    client = Client()
    client.force_login(admin_user)
    response = run_action(client, "deactivate_users", [m.pk for m in members])
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/live/jobs/{job.pk}/"
    wait_until_finished(job)
    assert not get_user_model().objects.filter(pk__in=[m.pk for m in members], is_active=True)
    deactivated = AuditEntry.objects.filter(action=AuditEntry.Action.USER_DEACTIVATED)
    assert sorted(e.target_id for e in deactivated) == sorted(str(m.pk) for m in members)
    bulk = AuditEntry.objects.get(action=AuditEntry.Action.BULK_ACTION)
    assert (bulk.actor, bulk.detail["name"], bulk.detail["count"]) == (
        admin_user,
        "deactivate_users",
        3,
    )
    page = client.get(response["Location"]).content.decode()
    assert 'class="status">succeeded<' in page
    assert "3 / 3" in page


def wait_until_finished(job: Job, timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not Job.objects.get(pk=job.pk).is_finished:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_without_the_permission_the_action_is_403_and_no_job(django_user_model: Any) -> None:
    staff = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    members = make_users(2)
    client = Client()
    client.force_login(staff)
    response = run_action(client, "deactivate_users", [m.pk for m in members])
    assert response.status_code == 403
    assert Job.objects.count() == 0
    assert (
        get_user_model().objects.filter(username__startswith="member", is_active=True).count() == 2
    )


def test_recalculate_subscriptions_fixes_statuses(admin_user: Any) -> None:
    from django.utils import timezone

    member = make_users(1)[0]
    Subscription.objects.create(
        user=member, monthly_amount="9.99", status="active", cancelled_at=timezone.now()
    )
    job = jobs.start_job(
        "live_admin.admin.recalculate_subscriptions",
        description="Recalculate subscriptions",
        queryset=get_user_model().objects.filter(pk=member.pk),
        owner=admin_user,
    )
    wait_until_finished(job)
    job.refresh_from_db()
    assert (job.status, job.message) == ("succeeded", "Done: 1 of 1 corrected")
    assert Subscription.objects.get().status == "cancelled"


def test_user_admin_pages_show_the_live_widgets(admin_user: Any) -> None:
    member = make_users(1)[0]
    client = Client()
    client.force_login(admin_user)
    html = client.get("/admin/auth/user/").content.decode()
    assert "<h3>Today</h3>" in html
    assert 'class="signups-today">' in html
    html = client.get(f"/admin/auth/user/{member.pk}/change/").content.decode()
    assert "<h3>Recent activity</h3>" in html
    assert "User created" in html
