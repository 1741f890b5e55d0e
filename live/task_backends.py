"""Task backends for Django's Tasks API; ``ThreadBackend`` runs tasks in this process.

The embedded default: tasks run on a small thread pool of the web process, so
jobs work with no worker process. Production uses a real worker backend
(``django_tasks_db.DatabaseBackend`` and its ``db_worker`` command).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections

try:
    from django.tasks.backends.immediate import ImmediateBackend
except ImportError:  # Django < 6: the django-tasks backport.
    from django_tasks.backends.immediate import (  # type: ignore[assignment]
        ImmediateBackend,
    )

logger = logging.getLogger("live")

_executors: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


class ThreadBackend(ImmediateBackend):
    """Run each enqueued task on a thread of this process (``OPTIONS: {"MAX_WORKERS": 4}``)."""

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        workers = int(params.get("OPTIONS", {}).get("MAX_WORKERS", 4))
        # One pool per alias for the process: backends are instantiated per thread.
        with _lock:
            if alias not in _executors:
                _executors[alias] = ThreadPoolExecutor(
                    max_workers=workers, thread_name_prefix=f"live-task-{alias}"
                )
        self.executor = _executors[alias]

    def _execute_task(self, task_result: Any) -> None:
        self.executor.submit(self._run, task_result)

    def _run(self, task_result: Any) -> None:
        close_old_connections()
        try:
            super()._execute_task(task_result)  # type: ignore[misc]
        except Exception:
            logger.exception("live: task %s crashed", task_result.id)
        finally:
            close_old_connections()
