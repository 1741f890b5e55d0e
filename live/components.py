"""Components that ship with ``live``: the progress of a background job."""

from __future__ import annotations

import uuid
from typing import Any

from live import jobs, permissions
from live.component import Component, broadcast_only, short_repr
from live.exceptions import NotFound
from live.models import Job
from live.registry import register


def job_id_of(params: dict[str, Any]) -> uuid.UUID:
    """Return the ``job_id`` param as a UUID, or raise ``NotFound`` (it comes from a URL)."""
    value = params.get("job_id")
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"No job with id {short_repr(value)}") from None


class CanSeeJob(permissions.BasePermission):
    """The job's owner, or a superuser."""

    message = "Only the user who started this job can see it"
    requires_login = True

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether ``user`` owns the component's job or is a superuser.

        Raises ``NotFound`` for a job that does not exist, as the job page answers 404.
        """
        if not (user is not None and user.is_authenticated and user.is_active):
            return False
        if user.is_superuser or component is None:
            return bool(user.is_superuser)
        job_id = job_id_of(component.params)
        owners = Job.objects.filter(pk=job_id).values_list("owner_id", flat=True)
        if not owners:
            raise NotFound(f"No job with id {short_repr(str(job_id))}")
        return bool(owners[0] == user.pk)


@register("live_job")
class JobProgress(Component):
    """A job's live progress: bar, message, log, final state and a Cancel button."""

    template_name = "live/components/job_progress.html"
    subscriptions = ["live-job-{job_id}"]
    url_params = ("job_id",)
    permission_classes = (CanSeeJob,)

    def mount(self) -> None:
        """Load the job's current progress from the database."""
        job_id = job_id_of(self.params)
        try:
            job = Job.objects.get(pk=job_id)
        except Job.DoesNotExist:
            raise NotFound(f"No job with id {short_repr(str(job_id))}") from None
        self.state = {"description": job.description, **job.snapshot()}

    @broadcast_only
    def on_progress(
        self,
        status: str,
        current: int,
        total: int,
        message: str,
        log: list[str],
        error: str,
        cancel_requested: bool,
    ) -> None:
        """Called for each progress broadcast of the job."""
        self.state.update(
            status=status,
            current=current,
            total=total,
            message=message,
            log=log,
            error=error,
            cancel_requested=cancel_requested,
        )

    def on_cancel(self) -> None:
        """Ask the job to stop at its next check."""
        job_id = job_id_of(self.params)
        if not Job.objects.filter(pk=job_id).exists():
            raise NotFound(f"No job with id {short_repr(str(job_id))}")
        jobs.request_cancel(job_id)
        self.state["cancel_requested"] = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the percentage and whether the job is over."""
        total, current = self.state["total"], self.state["current"]
        percent = min(100, current * 100 // total) if total else 0
        finished = self.state["status"] in Job.FINISHED
        return super().get_context_data(percent=percent, finished=finished, **kwargs)
