"""Durable jobs: progress over the socket, cancel, failure, caps, permissions, a real worker."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory

from live import jobs
from live.models import FAILURE_MESSAGE, Job
from live.testing import LiveClient
from tests import jobs_support

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("owner", password="pw", is_staff=True)


def percents(html_frames: list[str]) -> list[int]:
    return [
        int(m.group(1)) for html in html_frames if (m := re.search(r'class="percent">(\d+)%', html))
    ]


async def watch(client: LiveClient, view: Any, until: str, timeout: float = 10) -> list[str]:
    seen = [view.html]
    deadline = time.monotonic() + timeout
    while f'class="status">{until}<' not in view.html:
        assert time.monotonic() < deadline, view.html
        await client.receive(timeout=timeout)
        seen.append(view.html)
    return seen


async def test_job_runs_to_completion_with_monotonic_progress(owner: Any) -> None:
    users = await database_sync_to_async(
        lambda: [get_user_model().objects.create_user(f"u{i}") for i in range(20)]
    )()
    assert users
    queryset = get_user_model().objects.filter(username__startswith="u")
    job = await database_sync_to_async(jobs.start_job)(
        jobs_support.count_to, description="Count", queryset=queryset, owner=owner
    )
    async with LiveClient(user=owner) as client:
        view = await client.mount("live_job", job_id=str(job.pk))
        seen = await watch(client, view, "succeeded")
    values = percents(seen)
    assert values == sorted(values)
    assert values[-1] == 100
    assert "20 / 20" in view.html
    job = await database_sync_to_async(Job.objects.get)(pk=job.pk)
    assert (job.status, job.current, job.total, job.log[-1]) == ("succeeded", 20, 20, "done")
    assert job.pks == sorted(job.pks)


async def test_cancel_stops_the_job_early(owner: Any) -> None:
    job = await database_sync_to_async(jobs.start_job)(
        jobs_support.slow, description="Slow", owner=owner
    )
    async with LiveClient(user=owner) as client:
        view = await client.mount("live_job", job_id=str(job.pk))
        await asyncio.sleep(0.2)
        await view.event("cancel")
        await watch(client, view, "cancelled")
    job = await database_sync_to_async(Job.objects.get)(pk=job.pk)
    assert job.status == "cancelled"
    assert 0 < job.current < 500
    assert "Cancel</button>" not in view.html


async def test_failure_is_generic_for_users_and_full_in_the_log(
    owner: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="live")
    job = await database_sync_to_async(jobs.start_job)(
        jobs_support.explode, description="Explode", owner=owner
    )
    async with LiveClient(user=owner) as client:
        view = await client.mount("live_job", job_id=str(job.pk))
        await watch(client, view, "failed")
    assert FAILURE_MESSAGE in view.html
    assert "hunter2" not in view.html
    job = await database_sync_to_async(Job.objects.get)(pk=job.pk)
    assert (job.status, job.error) == ("failed", FAILURE_MESSAGE)
    assert "hunter2" not in str(job.snapshot())
    assert "ValueError: secret database password is hunter2" in caplog.text
    assert "Traceback" in caplog.text


def run_to_the_end(job: Job) -> None:
    """Run ``job`` here unless the thread backend already took it; wait for its end."""
    jobs.execute(str(job.pk))
    deadline = time.monotonic() + 10
    while not job.is_finished:
        assert time.monotonic() < deadline, job.status
        time.sleep(0.05)
        job.refresh_from_db()


def test_a_job_handed_to_several_workers_runs_once(owner: Any) -> None:
    job = Job.objects.create(
        action=jobs.register_body(jobs_support.counted), description="Once", owner=owner
    )
    workers = [threading.Thread(target=jobs.execute, args=(str(job.pk),)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert jobs_support.RUNS[str(job.pk)] == 1


def test_message_and_log_caps(owner: Any) -> None:
    job = jobs.start_job(jobs_support.chatty, description="Chatty", owner=owner)
    run_to_the_end(job)
    assert len(job.log) == 50
    assert job.log[0].startswith("10:")
    assert all(len(line) == 4096 for line in job.log)
    assert len(job.message) == 4096


def test_final_state_stays_visible_and_pages_reattach(owner: Any) -> None:
    job = jobs.start_job(jobs_support.count_to, description="Count", owner=owner)
    run_to_the_end(job)
    client = Client()
    client.force_login(owner)
    for _ in range(2):  # a reload, or a second tab
        html = client.get(f"/live/jobs/{job.pk}/").content.decode()
        assert 'class="status">succeeded<' in html
        assert "10 / 10" in html


def test_progress_page_is_for_the_owner(owner: Any, django_user_model: Any) -> None:
    job = jobs.start_job(jobs_support.count_to, description="Count", owner=owner)
    other = django_user_model.objects.create_user("other", password="pw", is_staff=True)
    client = Client()
    assert client.get(f"/live/jobs/{job.pk}/").status_code == 302
    client.force_login(other)
    assert client.get(f"/live/jobs/{job.pk}/").status_code == 403
    assert client.get(f"/live/components/live_job/?job_id={job.pk}").status_code == 403


def test_action_permissions_are_checked_before_anything_starts(owner: Any) -> None:
    action = jobs.admin_action_with_progress(
        description="Count users", permissions=["auth.change_user"]
    )(jobs_support.count_to)
    request = RequestFactory().post("/admin/auth/user/")
    request.user = owner
    with pytest.raises(PermissionDenied):
        action(None, request, get_user_model().objects.all())
    assert Job.objects.count() == 0
    owner.is_superuser = True
    owner.save()
    request.user = get_user_model().objects.get(pk=owner.pk)
    response = action(None, request, get_user_model().objects.all())
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/live/jobs/{job.pk}/"
    assert job.pks == [owner.pk]
    assert action.short_description == "Count users"


def test_progress_reaches_the_page_from_a_real_worker_process(
    owner: Any, redis_layer: str, settings: Any
) -> None:
    from tests.conftest import database_url_for_tests

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    env = {
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "CACHE_KEY_PREFIX": redis_layer,
        "CHANNEL_LAYER_PREFIX": redis_layer,
        "LIVE_TASKS": "db",
        "DJANGO_SETTINGS_MODULE": "settings",
        "PATH": "/usr/bin:/bin",
    }
    root = Path(__file__).resolve().parent.parent
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.1"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        job = jobs.start_job(jobs_support.count_to, description="Count", owner=owner)

        async def follow() -> str:
            async with LiveClient(user=owner) as client:
                view = await client.mount("live_job", job_id=str(job.pk))
                await watch(client, view, "succeeded", timeout=30)
                return view.html

        html = asyncio.run(follow())
        assert "10 / 10" in html
    finally:
        worker.terminate()
        output = worker.communicate(timeout=10)[0].decode()
    job.refresh_from_db()
    assert job.status == "succeeded", output
