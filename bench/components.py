"""The bench's live components: a counter, the 25-row user table and a broadcast ticker.

``bench.consumers`` serves the same templates and events the naive way. The
fairness scenario adds the table run in worker threads and a slow handler.
"""

from __future__ import annotations

import time
from typing import Any

import live
from bench import users

COUNTER_TEMPLATE = "bench/components/counter.html"
TABLE_TEMPLATE = "bench/components/table.html"
TICKER_TEMPLATE = "bench/components/ticker.html"
SLOW_TEMPLATE = "bench/components/slow.html"
#: The group every ticker follows; ``bench.views.fanout`` broadcasts to it.
FANOUT_GROUP = "bench-fanout"


@live.register("bench_counter")
class BenchCounter(live.Component):
    """A number and two buttons."""

    # In-memory data, like the naive consumer's: render in the event loop as it does.
    run_in_thread = False

    template_name = COUNTER_TEMPLATE

    def mount(self) -> None:
        """Start at zero."""
        self.state = {"count": 0}

    def on_increment(self) -> None:
        """Add one."""
        self.state["count"] += 1

    def on_decrement(self) -> None:
        """Subtract one."""
        self.state["count"] -= 1


@live.register("bench_table")
class BenchTable(live.Component):
    """25 rows of the in-memory users, with search and a status toggle per row."""

    # In-memory data, like the naive consumer's: render in the event loop as it does.
    run_in_thread = False

    template_name = TABLE_TEMPLATE

    def mount(self) -> None:
        """Start on page one with no search."""
        self.state = {"query": "", "page": 1}

    def on_toggle_status(self, user_id: int) -> None:
        """Flip one user's active flag."""
        if user_id not in users.USERS:
            raise live.InvalidArguments(f"No user with id {user_id}", {"user_id": "No such user"})
        users.toggle(user_id)

    def on_search(self, query: str = "") -> None:
        """Filter by username or email and go back to page one."""
        self.state.update(query=query[:100], page=1)

    def on_page(self, page: int) -> None:
        """Go to ``page`` (clamped when rendering)."""
        self.state["page"] = page

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the current page of rows and the pagination figures."""
        context = users.table_context(self.state["query"], self.state["page"])
        context.update(kwargs)
        return super().get_context_data(**context)


@live.register("bench_ticker")
class BenchTicker(live.Component):
    """Shows the number of the last broadcast to ``bench-fanout``."""

    template_name = TICKER_TEMPLATE
    subscriptions = [FANOUT_GROUP]
    run_in_thread = False

    def mount(self) -> None:
        """Nothing received yet."""
        self.state = {"n": 0}

    def on_tick(self, n: int) -> None:
        """Called for each broadcast."""
        self.state["n"] = n


@live.register("bench_table_sync")
class BenchSyncTable(BenchTable):
    """The same table run in the worker threads, as a component that queries a database is."""

    run_in_thread = True


@live.register("bench_slow")
class BenchSlow(live.Component):
    """A handler that waits like a slow database query (the thread is held, the CPU is not)."""

    template_name = SLOW_TEMPLATE

    def mount(self) -> None:
        """Nothing answered yet."""
        self.state = {"n": 0}

    def on_work(self, ms: int = 80) -> None:
        """Wait ``ms`` milliseconds (at most one second), then count one answer."""
        time.sleep(min(max(ms, 0), 1000) / 1000)
        self.state["n"] += 1
