"""Job bodies used by the job tests; importable by a separate worker process."""

from __future__ import annotations

import time
from typing import Any

from live.jobs import Progress, register_body


def count_to(queryset: Any, progress: Progress) -> None:
    """Report steady progress over the queryset, one step per item."""
    items = list(queryset) if queryset is not None else list(range(10))
    progress.update(current=0, total=len(items), message="starting")
    for index, _ in enumerate(items, start=1):
        if progress.cancelled:
            progress.update(message="cancelled by request")
            return
        time.sleep(0.01)
        progress.update(current=index, message=f"item {index}")
    progress.update(message="done")


def slow(queryset: Any, progress: Progress) -> None:
    """Run long enough to be cancelled."""
    progress.update(current=0, total=500)
    for index in range(1, 501):
        if progress.cancelled:
            return
        time.sleep(0.02)
        progress.update(current=index)


def explode(queryset: Any, progress: Progress) -> None:
    """Fail with a message that must never reach a user."""
    progress.update(current=1, total=3, message="about to fail")
    raise ValueError("secret database password is hunter2")


def chatty(queryset: Any, progress: Progress) -> None:
    """Write many long messages."""
    for index in range(60):
        progress.update(current=index, total=60, message=f"{index}:" + "x" * 5000)
    progress.flush()


#: How many times ``counted`` started, per job id.
RUNS: dict[str, int] = {}


def counted(queryset: Any, progress: Progress) -> None:
    """Count its own runs, slowly enough for a second worker to try the same job."""
    key = str(progress.job.pk)
    RUNS[key] = RUNS.get(key, 0) + 1
    time.sleep(0.2)


for body in (count_to, slow, explode, chatty, counted):
    register_body(body)
