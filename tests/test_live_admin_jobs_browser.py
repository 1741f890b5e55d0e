"""In Chromium: run a bulk action from the admin changelist, watch it, cancel it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from live.models import Job
from live_admin.models import Subscription

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_bulk_action_progress_and_cancel(daphne_server: Any, page: Any) -> None:
    user_model = get_user_model()
    user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    for i in range(80):
        member = user_model.objects.create_user(f"member{i:02d}")
        Subscription.objects.create(user=member, monthly_amount="5.00")
    page.goto(daphne_server.url + "/admin/login/?next=/admin/auth/user/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/auth/user/")
    # The change-list widget is live on the page.
    page.wait_for_selector(".live-widgets .signups-today")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "recalculate_subscriptions")
    page.click("button[name=index]")
    page.wait_for_url("**/live/jobs/*/")
    page.wait_for_function(
        "() => { const p = document.querySelector('.live-job progress');"
        " return p && Number(p.value) > 0; }"
    )
    first = page.eval_on_selector(".live-job progress", "p => Number(p.value)")
    page.wait_for_function(f"Number(document.querySelector('.live-job progress').value) > {first}")
    page.click("button.live-job-cancel")
    page.wait_for_selector(".live-job-cancelled")
    assert page.inner_text(".live-job .status") == "cancelled"
    shown = page.eval_on_selector(".live-job progress", "p => Number(p.value)")
    job = Job.objects.get()
    assert job.status == "cancelled"
    assert 0 < job.current < 80
    assert shown == job.current
    assert page.locator("button.live-job-cancel").count() == 0
    # Reloading the page shows the same final state.
    page.reload()
    assert page.inner_text(".live-job .status") == "cancelled"
