"""Redis restarted under load: a daphne process recovers without a restart and says so."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from live.demo.seed import seed
from tests.conftest import Server, free_port, need, start_server
from tests.wire import Session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


class RedisProcess:
    """A Redis server of this test's own, so restarting it disturbs nothing else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="live-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")

    def stop(self) -> None:
        """Kill the server: everything it held is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(redis_url: str) -> Iterator[RedisProcess]:
    need(shutil.which("redis-server") is not None, "no redis-server binary: test skipped")
    server = RedisProcess()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture(params=["core", "pubsub"])
def worker(own_redis: RedisProcess, django_db_blocker: Any, request: Any) -> Iterator[Server]:
    with django_db_blocker.unblock():
        seed()
        # The load below sends more frames per second than a socket (and a client) may by
        # default.
        limits = {"SOCKET_FRAMES_PER_SECOND": 10_000, "CLIENT_EVENT_RATE": "10000/second"}
        started = start_server(
            {
                "REDIS_URL": own_redis.url,
                "LIVE_CHANNEL_LAYER": request.param,
                "LIVE_SETTINGS": json.dumps(limits),
            }
        )
    yield started
    started.process.kill()
    started.process.wait(timeout=10)


def count_of(html: str | None) -> int:
    match = re.search(r'<output class="count">(\d+)</output>', html or "")
    assert match, html
    return int(match.group(1))


def hammer(url: str, stop: threading.Event, answers: list[dict[str, Any]]) -> None:
    """Keep a second tab busy with increments, recording every answer."""
    tab = Session().tab(url + "/")
    tab.connect(url)
    tab.join("counter")
    try:
        while not stop.is_set():
            answers.append(tab.event("counter", "increment"))
            time.sleep(0.01)
        answers.append({"final": count_of(tab.root("counter").html)})
    finally:
        tab.close()


def test_a_redis_restart_under_load_is_survived(worker: Server, own_redis: RedisProcess) -> None:
    pid = worker.process.pid
    tab = Session().tab(worker.url + "/")
    tab.connect(worker.url)
    assert tab.join("counter")["type"] == "full"
    assert tab.join("people")["type"] == "full"
    for _ in range(5):
        tab.event("counter", "increment")
    stop, answers = threading.Event(), []
    load = threading.Thread(target=hammer, args=(worker.url, stop, answers))
    load.start()
    time.sleep(0.5)

    own_redis.stop()
    refused = tab.event("counter", "increment")
    # Refused visibly, and nothing changed: the socket is still open.
    assert refused["type"] == "error"
    assert refused["code"] == "unavailable"
    assert refused["retry_after"] == 1
    assert count_of(tab.root("counter").html) == 5
    time.sleep(1)
    own_redis.start()
    deadline = time.monotonic() + 20
    while "restored" not in worker.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    stop.set()
    load.join(timeout=30)
    log = worker.output()
    assert "Redis unreachable" in log or "unreachable (" in log
    assert "Redis answers again after" in log
    assert re.search(r"restored \d+ socket\(s\)", log)

    # The same process, the same socket: the state survived the lost Redis.
    assert worker.process.poll() is None
    assert worker.process.pid == pid
    assert tab.event("counter", "increment")["type"] == "diff"
    assert count_of(tab.root("counter").html) == 6
    # Its snapshot was written again: another socket resumes it at the same version.
    again = Session()
    again.jar = tab.session.jar
    other = again.tab(worker.url + "/")
    other.roots["counter"] = tab.root("counter")
    other.connect(worker.url)
    assert other.join("counter")["type"] == "ack"
    # Its groups were joined again: a toggle elsewhere reaches the people table.
    toggler = Session().tab(worker.url + "/")
    toggler.connect(worker.url)
    toggler.join("people")
    person = re.search(r'"person_id": (\d+)', toggler.root("people").html or "")
    assert person
    before = tab.root("people").version
    toggler.event("people", "toggle", person_id=int(person.group(1)))
    tab.receive_until(lambda f: tab.root("people").version != before)
    for client in (tab, other, toggler):
        client.close()

    # Under load, every event was applied once or refused visibly, never lost or doubled.
    final = answers.pop()["final"]
    kinds = {answer["type"] for answer in answers}
    assert kinds <= {"diff", "error"}
    refusals = [a for a in answers if a["type"] == "error"]
    assert all(a["code"] == "unavailable" for a in refusals)
    assert final == len(answers) - len(refusals)
    assert len(answers) > len(refusals) > 0
