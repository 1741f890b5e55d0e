"""The durable record of a background job (a bulk action with live progress)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

#: Longest stored progress message; longer ones are cut.
MESSAGE_LIMIT = 4096
#: Lines kept in a job's log; older ones are dropped.
LOG_LIMIT = 50
#: What users see when a job raises; the traceback goes to the server log only.
FAILURE_MESSAGE = "Action failed — see server logs"


class Job(models.Model):
    """A background job: status, progress, a capped log and a cancel flag, shared by all workers."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action = models.CharField(max_length=200, help_text="Registered name of the job body.")
    description = models.CharField(max_length=200)
    model = models.CharField(max_length=100, blank=True, help_text="app_label.model_name")
    pks = models.JSONField(default=list, help_text="Primary keys pinned when the job started.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="live_jobs",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    current = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    log = models.JSONField(default=list)
    error = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.description} ({self.status})"

    @property
    def is_finished(self) -> bool:
        """Whether the job will not change any more."""
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        """Progress in whole percent (0 when the total is unknown)."""
        return min(100, self.current * 100 // self.total) if self.total else 0

    def snapshot(self) -> dict[str, Any]:
        """Return the fields a progress view shows, JSON-safe."""
        return {
            "status": self.status,
            "current": self.current,
            "total": self.total,
            "message": self.message,
            "log": list(self.log),
            "error": self.error,
            "cancel_requested": self.cancel_requested,
        }
