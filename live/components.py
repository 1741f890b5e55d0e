"""Components that ship with ``live``: the progress of a background job."""

from __future__ import annotations

from typing import Any

from live import jobs, permissions
from live.component import Component, broadcast_only
from live.models import Job
from live.registry import register


class CanSeeJob(permissions.BasePermission):
    """The job's owner, or a superuser."""

    message = "Only the user who started this job can see it"
    requires_login = True

    def has_permission(self, user: Any, component: Any = None) -> bool:
        """Return whether ``user`` owns the component's job or is a superuser."""
        if not (user is not None and user.is_authenticated and user.is_active):
            return False
        if user.is_superuser:
            return True
        job_id = component.params.get("job_id") if component is not None else None
        return job_id is not None and Job.objects.filter(pk=job_id, owner_id=user.pk).exists()


@register("live_job")
class JobProgress(Component):
    """A job's live progress: bar, message, log, final state and a Cancel button."""

    template_name = "live/components/job_progress.html"
    subscriptions = ["live-job-{job_id}"]
    url_params = ("job_id",)
    permission_classes = (CanSeeJob,)

    def mount(self) -> None:
        """Load the job's current progress from the database."""
        job = Job.objects.get(pk=self.params["job_id"])
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
        jobs.request_cancel(self.params["job_id"])
        self.state["cancel_requested"] = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the percentage and whether the job is over."""
        total, current = self.state["total"], self.state["current"]
        percent = min(100, current * 100 // total) if total else 0
        finished = self.state["status"] in Job.FINISHED
        return super().get_context_data(percent=percent, finished=finished, **kwargs)
