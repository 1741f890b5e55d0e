"""The Redis channel layer under many sockets: closing them ends their consumers and connections."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from live.demo.seed import seed
from tests.conftest import Server, start_server
from tests.wire import Session, Tab

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def worker(redis_layer: str, redis_url: str, django_db_blocker: Any) -> Iterator[Server]:
    env = {
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": redis_layer,
        "CHANNEL_LAYER_PREFIX": redis_layer,
    }
    with django_db_blocker.unblock():
        seed()
        # A consumer not finished 2 s after its socket closed is killed, with a warning.
        started = start_server(env, daphne_args=("--application-close-timeout", "2"))
    yield started
    started.stop()


def open_sockets(pid: int) -> int:
    """Return how many sockets process ``pid`` holds."""
    fds = os.listdir(f"/proc/{pid}/fd")
    return sum(1 for fd in fds if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"))


def test_closing_many_sockets_ends_their_consumers_and_connections(worker: Server) -> None:
    pid = worker.process.pid
    warm = Session().tab(worker.url + "/").connect(worker.url)
    warm.join("people")
    warm.event("people", "search", query="person1")
    warm.close()
    time.sleep(3)
    before = open_sockets(pid)
    for _wave in range(2):
        tabs: list[Tab] = []
        for _ in range(60):
            tab = Session().tab(worker.url + "/").connect(worker.url)
            tab.join("people")
            tab.join("counter")
            tabs.append(tab)
        for tab in tabs:
            tab.close()
        time.sleep(3)
    killed = [line for line in worker.output().splitlines() if "took too long" in line]
    assert killed == []
    # 120 pages came and went; the worker keeps about what it had before them.
    assert open_sockets(pid) - before < 20, (before, open_sockets(pid))
