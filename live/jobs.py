"""Durable bulk-action jobs with live progress, run through Django's Tasks API.

``@admin_action_with_progress`` turns a function ``body(queryset, progress)``
into a Django admin action: it checks permissions, pins the queryset to its
primary keys, stores a ``Job`` row, enqueues ``run_job`` and redirects to the
live progress page. The body reports with ``progress.update(...)`` and must
check ``progress.cancelled`` in its loop: cancelling is cooperative.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from live.fanout import broadcast
from live.models import FAILURE_MESSAGE, LOG_LIMIT, MESSAGE_LIMIT, Job

try:
    from django.tasks import task
except ImportError:  # Django < 6: the django-tasks backport.
    from django_tasks import task  # type: ignore[no-redef]

logger = logging.getLogger("live")

#: Job bodies by registered name (``module.qualname``).
_bodies: dict[str, Callable[..., Any]] = {}

#: Seconds between two progress writes (and broadcasts) of one job; 20 per second at most.
WRITE_INTERVAL = 0.05
#: Seconds between two reads of the cancel flag.
CANCEL_INTERVAL = 0.2


def job_group(job_id: Any) -> str:
    """Return the group a job's progress is broadcast to."""
    return f"live-job-{job_id}"


class Progress:
    """What a job body reports through: ``update(current=, total=, message=)`` and ``cancelled``."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._written = 0.0
        self._checked = 0.0
        self._cancelled = job.cancel_requested

    def update(
        self, current: int | None = None, total: int | None = None, message: str | None = None
    ) -> None:
        """Record progress; it is saved and broadcast at most 20 times per second."""
        job = self.job
        if total is not None:
            job.total = max(0, int(total))
        if current is not None:
            job.current = max(0, int(current))
        if message is not None:
            message = str(message)[:MESSAGE_LIMIT]
            job.message = message
            job.log = [*job.log, message][-LOG_LIMIT:]
        if time.monotonic() - self._written >= WRITE_INTERVAL:
            self.flush()

    def flush(self) -> None:
        """Save the job's progress and broadcast it now."""
        self._written = time.monotonic()
        job = self.job
        Job.objects.filter(pk=job.pk).update(
            status=job.status,
            current=job.current,
            total=job.total,
            message=job.message,
            log=job.log,
            error=job.error,
            started=job.started,
            finished=job.finished,
        )
        broadcast(job_group(job.pk), "progress", **job.snapshot())

    @property
    def cancelled(self) -> bool:
        """Whether someone asked to cancel (read from the database, so any worker sees it)."""
        if not self._cancelled and time.monotonic() - self._checked >= CANCEL_INTERVAL:
            self._checked = time.monotonic()
            self._cancelled = Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        return self._cancelled


def register_body(func: Callable[..., Any]) -> str:
    """Register a job body and return its name."""
    name = f"{func.__module__}.{func.__qualname__}"
    _bodies[name] = func
    return name


def resolve_body(name: str) -> Callable[..., Any]:
    """Return the body registered as ``name``, importing its module if needed."""
    if name not in _bodies:
        module = name.rsplit(".", 1)[0]
        while module and name not in _bodies:
            with contextlib.suppress(ImportError):
                import_module(module)
            module = module.rpartition(".")[0]
    try:
        return _bodies[name]
    except KeyError as exc:
        raise LookupError(f"No job body registered as {name!r}") from exc


def request_cancel(job_id: Any) -> None:
    """Ask a running job to stop; the body sees ``progress.cancelled`` on any worker."""
    Job.objects.filter(pk=job_id).exclude(status__in=Job.FINISHED).update(cancel_requested=True)
    job = Job.objects.get(pk=job_id)
    broadcast(job_group(job.pk), "progress", **job.snapshot())


def execute(job_id: str) -> str:
    """Run the job ``job_id`` to its end and return its final status.

    A job runs once: a second worker handed the same job leaves it to the first.
    """
    started = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started=started
    )
    job = Job.objects.get(pk=job_id)
    if not claimed:
        return str(job.status)
    progress = Progress(job)
    progress.flush()
    try:
        body = resolve_body(job.action)
        queryset = None
        if job.model:
            model = apps.get_model(job.model)
            queryset = model._default_manager.filter(pk__in=job.pks).order_by("pk")
        if not progress.cancelled:
            body(queryset, progress)
    except Exception:
        logger.exception("live: job %s (%s) failed", job.pk, job.action)
        job.status = Job.Status.FAILED
        job.error = FAILURE_MESSAGE
    else:
        progress._checked = 0.0
        job.status = Job.Status.CANCELLED if progress.cancelled else Job.Status.SUCCEEDED
    job.finished = timezone.now()
    progress.flush()
    return str(job.status)


@task()
def run_job(job_id: str) -> str:
    """The task every job runs as: ``execute`` it on whichever worker picks it up."""
    return execute(job_id)


def start_job(
    body: Callable[..., Any] | str,
    *,
    description: str,
    queryset: models.QuerySet[Any] | None = None,
    owner: Any = None,
) -> Job:
    """Create the ``Job`` row (pks pinned now) and enqueue it once the transaction commits."""
    name = body if isinstance(body, str) else register_body(body)
    job = Job.objects.create(
        action=name,
        description=description[:200],
        model=queryset.model._meta.label_lower if queryset is not None else "",
        pks=[_json_pk(pk) for pk in queryset.order_by("pk").values_list("pk", flat=True)]
        if queryset is not None
        else [],
        owner=owner if getattr(owner, "is_authenticated", False) else None,
    )
    transaction.on_commit(lambda: run_job.enqueue(str(job.pk)))
    return job


def _json_pk(pk: Any) -> Any:
    return pk if isinstance(pk, int | str) else str(pk)


def admin_action_with_progress(
    description: str, permissions: Sequence[str] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn ``body(queryset, progress)`` into an admin action that runs as a job.

    ``permissions`` (dotted names) are checked before anything starts: without
    them the action answers 403 and no job is created.
    """

    def decorator(body: Callable[..., Any]) -> Callable[..., Any]:
        register_body(body)

        @functools.wraps(body)
        def action(modeladmin: Any, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
            user = request.user
            if not all(user.has_perm(perm) for perm in permissions):
                raise PermissionDenied(f"{description}: permission required")
            job = start_job(body, description=description, queryset=queryset, owner=user)
            return HttpResponseRedirect(reverse("live:job", kwargs={"job_id": job.pk}))

        action.short_description = description  # type: ignore[attr-defined]
        action.live_permissions = tuple(permissions)  # type: ignore[attr-defined]
        return action

    return decorator
